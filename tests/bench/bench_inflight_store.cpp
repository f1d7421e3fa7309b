// Cost per event of the in-flight store under Paho (file persistence, QoS 1): the calls Paho
// makes for one event, put(c5) get(c5) remove(c5) put(s5) remove(s5), with a 1.2 KB payload
// in Paho's three buffers, in a temporary directory. `outstanding` events are kept in flight
// (their s5 removal lags behind), as with a slow broker. "CPU" is the thread's user + system
// time, the kernel's file system work included. Run: build/tests/bench/bench_inflight_store
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <string>
#include <vector>

#include "errbridge/daemon/inflight_store.h"

namespace fs = std::filesystem;

namespace {

fs::path bench_dir() {
    fs::path dir = fs::temp_directory_path() /
                   ("errbridge-bench-store-" + std::to_string(::getpid())) / "inflight";
    fs::remove_all(dir);
    return dir;
}

template <class Store>
void paho_event_sequence(benchmark::State& state) {
    const auto outstanding = static_cast<std::size_t>(state.range(0));
    const fs::path dir = bench_dir();
    std::atomic<std::uint64_t> errors{0};
    {
        Store store(dir, errors);
        store.open("bench", "tcp://127.0.0.1:1883");
        const std::string header(40, 'h');
        const std::string topic = "errbridge/events/vendor/device-0042/E1234";
        const std::string payload(1200, 'p');
        const std::vector<mqtt::string_view> buffers{
            mqtt::string_view(header), mqtt::string_view(topic), mqtt::string_view(payload)};
        std::deque<std::string> in_flight;
        std::uint64_t seq = 0;
        for (auto _ : state) {
            ++seq;
            const std::string command = "c5-" + std::to_string(seq);
            const std::string copy = "s5-" + std::to_string(seq % 65535 + 1);
            store.put(command, buffers);
            benchmark::DoNotOptimize(store.get(command));
            store.remove(command);
            store.put(copy, buffers);
            in_flight.push_back(copy);
            if (in_flight.size() > outstanding) {
                store.remove(in_flight.front());
                in_flight.pop_front();
            }
        }
        state.counters["log_kib"] = 0;
        if (fs::exists(dir / "log"))
            state.counters["log_kib"] = static_cast<double>(fs::file_size(dir / "log")) / 1024;
    }
    if (errors != 0) state.SkipWithError("write errors");
    state.SetItemsProcessed(state.iterations());
    fs::remove_all(dir.parent_path());
}

}  // namespace

BENCHMARK_TEMPLATE(paho_event_sequence, errbridge::daemon::InflightStore)
    ->ArgName("outstanding")
    ->Arg(0)
    ->Arg(1000)
    ->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
