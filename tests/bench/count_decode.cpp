// Decodes one of bench_decode's messages N times, for instruction counts that do not drift
// with the machine's load: scripts/count_instructions.sh runs this under callgrind at N and
// 2N, so set-up cancels out of (Ir(2N) - Ir(N)) / N.
// Usage: count_decode SHAPE N   (SHAPE: a name from decode_shapes.h)
//        count_decode --list     (those names, one a line)
#include <charconv>
#include <cstdio>
#include <string>
#include <string_view>

#include "decode_shapes.h"
#include "errbridge/core/decode.h"

using namespace errbridge;

namespace {

void print_shape_names(std::FILE* out, const char* separator) {
    for (const auto& shape : bench::decode_shapes)
        std::fprintf(out, "%.*s%s", static_cast<int>(shape.name.size()), shape.name.data(),
                     separator);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 2 && std::string_view(argv[1]) == "--list") {
        print_shape_names(stdout, "\n");
        return 0;
    }
    if (argc != 3) {
        std::fprintf(stderr, "usage: count_decode SHAPE N | count_decode --list\n");
        return 2;
    }
    const std::string_view name = argv[1];
    const std::string_view count_text = argv[2];
    long count = 0;
    const auto [end, error] =
        std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
    if (error != std::errc() || end != count_text.data() + count_text.size() || count < 1) {
        std::fprintf(stderr, "count_decode: N must be a positive integer, not '%s'\n", argv[2]);
        return 2;
    }
    const bench::DecodeShape* shape = nullptr;
    for (const auto& candidate : bench::decode_shapes)
        if (candidate.name == name) shape = &candidate;
    if (shape == nullptr) {
        std::fprintf(stderr, "count_decode: no shape '%s'; one of: ", argv[1]);
        print_shape_names(stderr, " ");
        std::fprintf(stderr, "\n");
        return 2;
    }

    const core::Decoder decoder(bench::embedded_config());
    const std::string topic(shape->topic);
    const std::string payload(shape->payload);
    core::DecodeResult result;
    // The first decode creates the reused scratch, as in the daemon; the loop is steady state.
    decoder.decode(topic, payload, bench::now_ms, result);
    if (result.status != shape->expected) {
        std::fprintf(stderr, "count_decode: unexpected status for %s: wrong path measured\n",
                     argv[1]);
        return 1;
    }
    std::size_t bytes = 0;
    for (long i = 0; i < count; ++i) {
        decoder.decode(topic, payload, bench::now_ms, result);
        bytes += result.buffer.size();
    }
    // Printed so the loop's work is observable and cannot be dropped as dead.
    std::printf("%.*s: %ld decodes, %zu output bytes\n", static_cast<int>(name.size()), name.data(),
                count, bytes);
    return 0;
}
