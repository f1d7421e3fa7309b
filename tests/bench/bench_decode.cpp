// Decode cost per message on the embedded default config: routing, the SPEC §7 checks,
// extraction, catalog lookup and event JSON, with one reused DecodeResult as the daemon does.
// Target (SPEC §13): an Alink reply under 1 µs on one core. Suppression is not part of the
// decode core, so none applies here. Run: build/tests/bench/bench_decode
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "decode_shapes.h"
#include "errbridge/core/decode.h"

using namespace errbridge;

namespace {
// Heap allocations inside the timed loop, reported per message: a steady stream of
// messages is meant to allocate nothing (SPEC §13 memory and latency goals).
std::atomic<long> allocations{0};
}  // namespace

// Out of line, so GCC does not pair a visible new-expression with the free() below.
[[gnu::noinline]] void* operator new(std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size ? size : 1)) return p;
    throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept {
    std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}

namespace {

void decode(benchmark::State& state, const bench::DecodeShape& shape) {
    const core::Decoder decoder(bench::embedded_config());
    const std::string topic(shape.topic);
    const std::string payload(shape.payload);
    core::DecodeResult result;
    decoder.decode(topic, payload, bench::now_ms, result);
    if (result.status != shape.expected) {
        state.SkipWithError("unexpected decode status: the benchmark would measure the wrong path");
        return;
    }
    const std::size_t published = result.count;
    const long allocations_before = allocations.load();
    for (auto _ : state) {
        decoder.decode(topic, payload, bench::now_ms, result);
        benchmark::DoNotOptimize(result.buffer.data());
        benchmark::ClobberMemory();
    }
    state.counters["allocs_per_msg"] =
        static_cast<double>(allocations.load() - allocations_before) /
        static_cast<double>(state.iterations());
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * payload.size()));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * published));
    state.counters["payload_bytes"] = static_cast<double>(payload.size());
    state.counters["publications"] = static_cast<double>(published);
}

// The floor under alink_reply: its event id is FNV-1a-64 (SPEC §6) over route, topic,
// payload and path, about 215 bytes, one serial multiply per byte that no rewrite of the
// decoder can shorten. Each iteration continues the previous hash, so only latency counts.
void id_hash_floor(benchmark::State& state) {
    std::string bytes(215, 'x');
    for (std::size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = static_cast<char>('a' + i % 26);
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (auto _ : state) {
        hash = core::fnv1a64(bytes, hash);
        benchmark::DoNotOptimize(hash);
    }
}

}  // namespace

int main(int argc, char** argv) {
    for (const auto& shape : bench::decode_shapes)
        benchmark::RegisterBenchmark(std::string(shape.name).c_str(), decode, shape);
    benchmark::RegisterBenchmark("id_hash_floor", id_hash_floor);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
