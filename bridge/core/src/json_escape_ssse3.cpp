// escape_json with SSSE3's byte shuffle, chosen at run time where the CPU has it (every
// x86-64 since about 2008 but AMD K10): a JSON payload escaped into an event's `raw` has a
// quote every few bytes, and SSE2 alone can only insert the backslashes one at a time.

#include "json_escape_ssse3.h"

#if defined(__x86_64__)

#include <tmmintrin.h>

#include <array>
#include <cstdint>

#include "json_out.h"

namespace errbridge::core::detail {
namespace {

// For each mask of `"`/`\` positions in 8 input bytes: the shuffle that spreads the 8 bytes
// apart, leaving a zero byte before each flagged one; the backslashes that fill those gaps;
// and how many bytes come out (8 plus one per flagged byte).
struct Expansion {
    std::array<std::array<std::uint8_t, 16>, 256> shuffle{};
    std::array<std::array<std::uint8_t, 16>, 256> backslash{};
    std::array<std::uint8_t, 256> size{};
};

constexpr Expansion make_expansion() {
    Expansion e;
    for (unsigned mask = 0; mask < 256; ++mask) {
        auto& shuffle = e.shuffle[mask];
        auto& backslash = e.backslash[mask];
        shuffle.fill(0x80);  // pshufb writes zero for an index with the high bit set
        unsigned out = 0;
        for (unsigned in = 0; in < 8; ++in) {
            if (mask & (1u << in)) backslash[out++] = '\\';
            shuffle[out++] = static_cast<std::uint8_t>(in);
        }
        e.size[mask] = static_cast<std::uint8_t>(out);
    }
    return e;
}

constexpr Expansion expansion = make_expansion();  // constant tables, built at compile time

// 8 input bytes (the low half of `bytes`) with a backslash before each byte in `mask`.
[[gnu::target("ssse3"), gnu::always_inline]] inline char* expand(char* out, __m128i bytes,
                                                                 unsigned mask) {
    const __m128i shuffle =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(expansion.shuffle[mask].data()));
    const __m128i backslash =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(expansion.backslash[mask].data()));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out),
                     _mm_or_si128(_mm_shuffle_epi8(bytes, shuffle), backslash));
    return out + expansion.size[mask];
}

// As escape_block: the 16 bytes at `s` (32 readable), up to 16 bytes stored past the end.
[[gnu::target("ssse3")]] inline char* escape_block_ssse3(char* out, const char* s) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
    const __m128i control = _mm_set1_epi8(0x1f);
    if (_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(v, control), control))) {
        return escape_block(out, s);  // control characters: rare, escaped one by one
    }
    auto quotes = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(
        _mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')))));
    if (!quotes) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out), v);
        return out + 16;
    }
    out = expand(out, v, quotes & 0xff);
    return expand(out, _mm_srli_si128(v, 8), quotes >> 8);
}

}  // namespace

[[gnu::target("ssse3")]] char* escape_json_ssse3(char* out, const char* s, std::size_t n) {
    *out++ = '"';
    out = escape_blocks(out, s, s + n, escape_block_ssse3);
    *out++ = '"';
    return out;
}

JsonEscaper fastest_json_escaper() {
    return __builtin_cpu_supports("ssse3") ? escape_json_ssse3 : escape_json;
}

}  // namespace errbridge::core::detail

#else

#include "json_out.h"

namespace errbridge::core::detail {

JsonEscaper fastest_json_escaper() {
    return escape_json;
}

}  // namespace errbridge::core::detail

#endif
