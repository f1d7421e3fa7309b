// The event writer's JSON string escapers (bridge/core/src/json_out.h and
// json_escape_ssse3.h) against a byte-at-a-time reference: the block walks, the padded tail,
// the mask-driven quote paths and the SSSE3 and AVX2 shuffle tables must all write exactly the same
// bytes, at every length and position around their 16- and 32-byte edges.

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "json_escape_ssse3.h"
#include "json_out.h"

using namespace errbridge::core::detail;

namespace {

std::string reference(std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = "\"";
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 15];
                } else {
                    out += ch;
                }
        }
    }
    return out + "\"";
}

std::string with(JsonEscaper escape, std::string_view text) {
    // Exactly escaped_bound bytes, so a write past the bound is a heap overflow under ASan.
    std::vector<char> room(escaped_bound(text.size()));
    // A copy in its own allocation, so a read past the text is one too.
    std::vector<char> input(text.begin(), text.end());
    char* end = escape(room.data(), input.data(), input.size());
    return std::string(room.data(), end);
}

std::vector<JsonEscaper> escapers() {
    std::vector<JsonEscaper> all{escape_json, fastest_json_escaper()};
#if defined(__x86_64__)
    if (__builtin_cpu_supports("ssse3")) all.push_back(escape_json_ssse3);
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") &&
        __builtin_cpu_supports("popcnt")) {
        all.push_back(escape_json_avx2);
    }
#endif
    return all;
}

}  // namespace

TEST_CASE("every escaper writes what the byte-by-byte reference writes", "[escape]") {
    std::mt19937 random(20261122);
    // Bytes weighted towards what needs care: quotes, backslashes, control characters,
    // UTF-8 lead and continuation bytes.
    const std::string alphabet = std::string("\"\\\n\t\x01\x1f a{}:,0") + "\xc3\xa9\xe2\x82\xac";
    std::size_t checked = 0;
    for (JsonEscaper escape : escapers()) {
        for (std::size_t length = 0; length <= 100; ++length) {
            for (int round = 0; round < 40; ++round) {
                std::string text;
                for (std::size_t i = 0; i < length; ++i)
                    text += alphabet[random() % alphabet.size()];
                REQUIRE(with(escape, text) == reference(text));
                ++checked;
            }
        }
        // All quotes (the longest output the shuffle makes) and no escapes at all.
        for (std::size_t length : {1u, 15u, 16u, 17u, 31u, 32u, 33u, 200u}) {
            REQUIRE(with(escape, std::string(length, '"')) == reference(std::string(length, '"')));
            REQUIRE(with(escape, std::string(length, 'x')) == reference(std::string(length, 'x')));
            REQUIRE(with(escape, std::string(length, '\x02')) ==
                    reference(std::string(length, '\x02')));
        }
    }
    CHECK(checked >= 2 * 101 * 40);
}

TEST_CASE("escapers agree on long JSON texts and control characters anywhere", "[escape]") {
    // The AVX2 walk steps its cursor back over the bytes its last block overlaps, and hands
    // a block with a control character to the SSSE3 walk: both at every position of a text
    // longer than several blocks, with quotes as dense as in JSON.
    std::mt19937 random(7);
    for (JsonEscaper escape : escapers()) {
        for (std::size_t length = 28; length <= 200; ++length) {
            std::string text;
            for (std::size_t i = 0; i < length; ++i)
                text += "\"\"\"\\abcdefghijklmnopqrstuvwx"[random() % 28];
            REQUIRE(with(escape, text) == reference(text));
            for (std::size_t at = 0; at < length; ++at) {
                std::string controlled = text;
                controlled[at] = '\x1f';
                REQUIRE(with(escape, controlled) == reference(controlled));
            }
        }
    }
}

TEST_CASE("every quote mask of 8 bytes expands right", "[escape]") {
    // The shuffle tables have one row per mask: all 256 of them, at both halves of a block.
    for (JsonEscaper escape : escapers()) {
        for (unsigned mask = 0; mask < 256; ++mask) {
            std::string text = "0123456789abcdef0123456789abcdef0123";
            for (unsigned bit = 0; bit < 8; ++bit) {
                if (mask & (1u << bit)) {
                    text[bit] = '"';
                    text[8 + bit] = '\\';
                }
            }
            REQUIRE(with(escape, text) == reference(text));
        }
    }
}
