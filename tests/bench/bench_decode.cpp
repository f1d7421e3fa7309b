// Decode cost per message on the embedded default config: routing, the SPEC §7 checks,
// extraction, catalog lookup and event JSON, with one reused DecodeResult as the daemon does.
// Target (SPEC §13): an Alink reply under 1 µs on one core. Suppression is not part of the
// decode core, so none applies here. Run: build/tests/bench/bench_decode
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <optional>
#include <string>

#include "errbridge/config/load.h"
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

constexpr std::int64_t now_ms = 1'795'000'000'123;

std::shared_ptr<const config::LoadedConfig> embedded() {
    config::Environment env;
    env.hostname = "gw-01";
    env.getenv = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    return std::make_shared<const config::LoadedConfig>(
        config::load_config_text(config::embedded_default_config(), "embedded default", env));
}

void decode(benchmark::State& state, const char* topic, const char* payload,
            core::DecodeResult::Status expected) {
    const core::Decoder decoder(embedded());
    const std::string t = topic;
    const std::string p = payload;
    core::DecodeResult result;
    decoder.decode(t, p, now_ms, result);
    if (result.status != expected) {
        state.SkipWithError("unexpected decode status: the benchmark would measure the wrong path");
        return;
    }
    const std::size_t published = result.count;
    const long allocations_before = allocations.load();
    for (auto _ : state) {
        decoder.decode(t, p, now_ms, result);
        benchmark::DoNotOptimize(result.buffer.data());
        benchmark::ClobberMemory();
    }
    state.counters["allocs_per_msg"] =
        static_cast<double>(allocations.load() - allocations_before) /
        static_cast<double>(state.iterations());
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * p.size()));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * published));
    state.counters["payload_bytes"] = static_cast<double>(p.size());
    state.counters["publications"] = static_cast<double>(published);
}

using Status = core::DecodeResult::Status;

// SPEC §6's example reply (FORMATS.md §3 envelope) at the size SPEC §13 names (153 bytes,
// a millisecond request id and the platform's detailed message): one event, known code,
// Alink method.
void alink_reply(benchmark::State& state) {
    decode(state, "/sys/a1X2/pump-7/thing/event/property/post_reply",
           R"({"code":6207,"data":{},"id":"1718236800123",)"
           R"("message":"request parameter error: params.Temperature",)"
           R"("method":"thing.event.property.post","version":"1.0"})",
           Status::events);
}

// The success reply on the same topic: no event, so this is routing + checks + parse only.
void alink_success(benchmark::State& state) {
    decode(state, "/sys/a1X2/pump-7/thing/event/property/post_reply",
           R"({"code":200,"data":{},"id":"123","message":"success",)"
           R"("method":"thing.event.property.post","version":"1.0"})",
           Status::success);
}

// FORMATS.md §2 values-format upload with three tag errors: three events.
void neuron_upload(benchmark::State& state) {
    decode(state, "/neuron/app1/modbus-tcp-1/grp-1",
           R"({"node": "modbus-tcp-1", "group": "grp-1", "timestamp": 1717000000123, )"
           R"("values": {"tag0": 123}, "errors": {"tag1": 3002, "tag2": 3015, "tag3": 3001}, )"
           R"("metas": {}})",
           Status::events);
}

// FORMATS.md §6 v2.0 failure: one event, firmware detected from errorDesc.
void camera_reply(benchmark::State& state) {
    decode(state, "bridge/camera/cam-1/http/GetDeviceInfo/response",
           "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n"
           "<config status=\"failed\" errorCode=\"1\" errorDesc=\"Invalid Request\"/>",
           Status::events);
}

// A dead letter (duplicate code key): the price of a hostile payload.
void alink_dead_letter(benchmark::State& state) {
    decode(state, "/sys/a1X2/pump-7/thing/event/property/post_reply",
           R"({"code":6207,"code":6208,"id":"123"})", Status::dead_letter);
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

BENCHMARK(alink_reply);
BENCHMARK(alink_success);
BENCHMARK(neuron_upload);
BENCHMARK(camera_reply);
BENCHMARK(alink_dead_letter);
BENCHMARK(id_hash_floor);

BENCHMARK_MAIN();
