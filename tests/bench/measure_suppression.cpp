// Memory of storm suppression with N open keys (SPEC §8, issue 6: "memory with 100,000 keys
// measured and quoted"). Decodes N Alink replies from N distinct devices on the embedded
// default config (the bench payload of bench_decode, ~150 bytes), offers each event to one
// SuppressionTable with a window that never ends, and reports the heap growth (glibc
// mallinfo2: bytes in use, so allocator slack per block is included) and the RSS growth.
//
// Run: build/tests/bench/measure_suppression [keys] [include_raw: 1|0]
// A measurement, not a test: it prints, it does not judge.
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "errbridge/config/load.h"
#include "errbridge/core/decode.h"
#include "errbridge/core/suppression.h"

using namespace errbridge;

namespace {

constexpr std::int64_t now_ms = 1'795'000'000'123;

long rss_kib() {
    std::ifstream status("/proc/self/status");
    std::string key;
    long value = 0;
    while (status >> key) {
        if (key == "VmRSS:") {
            status >> value;
            return value;
        }
        status.ignore(4096, '\n');
    }
    return -1;
}

// Small blocks in the arena plus large ones glibc maps on their own (the hash index's
// bucket array is one of those).
std::size_t heap_in_use() {
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t keys = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100'000;
    const bool include_raw = argc > 2 ? std::string(argv[2]) != "0" : true;

    config::Environment env;
    env.hostname = "gw-01";
    env.getenv = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    std::string toml(config::embedded_default_config());
    if (!include_raw) toml += "\n[output]\ninclude_raw = false\n";
    const auto decoder =
        std::make_shared<const core::Decoder>(std::make_shared<const config::LoadedConfig>(
            config::load_config_text(toml, "embedded default", env)));
    const std::string payload =
        R"({"id":"1234567890","code":6207,"data":{},"message":"request parameter error",)"
        R"("method":"thing.event.property.post","version":"1.0"})";

    core::DecodeResult result;
    std::vector<core::Summary> out;
    std::string topic;
    std::size_t event_bytes = 0;
    std::size_t message_bytes = 0;
    std::size_t as_message = 0;

    // Everything but the table exists before the first reading.
    decoder->decode("/sys/a1X2/pump-0/thing/event/property/post_reply", payload, now_ms, result);
    malloc_trim(0);
    const std::size_t heap_before = heap_in_use();
    const long rss_before = rss_kib();
    {
        core::SuppressionTable table(86'400'000, keys);
        for (std::size_t i = 0; i < keys; ++i) {
            topic = "/sys/a1X2/pump-" + std::to_string(i) + "/thing/event/property/post_reply";
            decoder->decode(topic, payload, now_ms, result);
            const core::Publication& p = result.publications[0];
            event_bytes += result.payload(p).size() + p.topic.size();
            message_bytes += topic.size() + payload.size();
            const core::Origin origin{decoder, topic, payload, now_ms};
            table.offer(
                p.suppression_key, 0, now_ms,
                [&] {
                    core::FirstEvent first(origin, 0, p, result.payload(p));
                    as_message += first.kept_as_message();
                    return first;
                },
                out);
        }
        const std::size_t heap_after = heap_in_use();
        const long rss_after = rss_kib();
        if (table.size() != keys || !out.empty()) {
            std::fprintf(stderr, "expected %zu keys, got %zu (%zu summaries)\n", keys, table.size(),
                         out.size());
            return 1;
        }
        const double heap = static_cast<double>(heap_after - heap_before);
        std::printf("keys                    %zu\n", keys);
        std::printf("include_raw             %s\n", include_raw ? "true" : "false");
        std::printf("event (avg)             %.0f bytes (topic + event JSON, as published)\n",
                    static_cast<double>(event_bytes) / static_cast<double>(keys));
        std::printf("message (avg)           %.0f bytes (topic + payload, as received)\n",
                    static_cast<double>(message_bytes) / static_cast<double>(keys));
        std::printf("kept as the message     %zu of %zu keys (else as the event)\n", as_message,
                    keys);
        std::printf("heap growth             %.1f MiB = %.0f bytes/key\n", heap / 1048576.0,
                    heap / static_cast<double>(keys));
        const double kept = static_cast<double>(as_message == keys ? message_bytes : event_bytes);
        std::printf("  of which bookkeeping  %.0f bytes/key (index, FIFO, times, decoder ref)\n",
                    (heap - kept) / static_cast<double>(keys));
        std::printf("RSS growth              %.1f MiB\n",
                    static_cast<double>(rss_after - rss_before) / 1024.0);
    }
    return 0;
}
