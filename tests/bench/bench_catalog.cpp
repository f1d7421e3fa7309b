// Catalog lookup cost: the hot path does one lookup per error code. Target: well under
// 100 ns. Run: build/tests/bench/bench_catalog
#include <benchmark/benchmark.h>

#include "errbridge/catalog/catalog.h"
#include "errbridge/catalog/code.h"

using namespace errbridge::catalog;

namespace {

// Cycles through every code of a vendor (plus misses) so the branch predictor cannot
// memorise one answer.
std::vector<std::int64_t> keys_of(const Catalog& catalog, const char* vendor) {
    std::vector<std::int64_t> keys;
    for (const auto& e : catalog.vendor(vendor)->entries)
        keys.push_back(e.range_lo);
    keys.push_back(999'999);  // miss
    keys.push_back(10'720);   // inside a range for Neuron
    return keys;
}

void lookup(benchmark::State& state, const char* vendor) {
    Catalog catalog = Catalog::built_in();
    int index = catalog.vendor_index(vendor);
    auto keys = keys_of(catalog, vendor);
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(catalog.find(index, keys[i]));
        if (++i == keys.size()) i = 0;
    }
}

void parse_and_lookup(benchmark::State& state) {
    Catalog catalog = Catalog::built_in();
    int index = catalog.vendor_index("huawei-iotedge");
    const std::string codes[] = {"IoTEdge.02100305", "IoTEdge.00000001", "APIGW.0308"};
    std::size_t i = 0;
    for (auto _ : state) {
        auto key = parse_wire_code(CodeStyle::huawei, codes[i]);
        benchmark::DoNotOptimize(key ? catalog.find(index, *key) : nullptr);
        if (++i == std::size(codes)) i = 0;
    }
}

void load_builtin(benchmark::State& state) {
    for (auto _ : state)
        benchmark::DoNotOptimize(Catalog::built_in());
}

}  // namespace

BENCHMARK_CAPTURE(lookup, neuron, "neuron");
BENCHMARK_CAPTURE(lookup, aliyun, "aliyun");
BENCHMARK_CAPTURE(lookup, tuya, "tuya");
BENCHMARK(parse_and_lookup);
BENCHMARK(load_builtin)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
