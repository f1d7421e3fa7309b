// escape_json with SSSE3's byte shuffle, chosen at run time where the CPU has it (every
// x86-64 since about 2008 but AMD K10): a JSON payload escaped into an event's `raw` has a
// quote every few bytes, and SSE2 alone can only insert the backslashes one at a time.
// Where AVX2 is there too, the same shuffles under a walk of 32-byte blocks: half the
// classifications and loop steps, and no padded copy for the last bytes.

#include "json_escape_ssse3.h"

#if defined(__x86_64__)

#include <immintrin.h>

#include <array>
#include <bit>
#include <cstdint>

#include "json_out.h"

namespace errbridge::core::detail {
namespace {

// How a mask of `"`/`\\` positions in 8 input bytes expands: the shuffle that spreads the 8
// bytes apart with a backslash before each flagged one, out of a vector holding the 8 bytes
// then backslashes (so one shuffle writes both), and how many bytes come out (8 plus one per
// flagged byte). A row of 32 bytes: its offset is the mask shifted by 5.
struct alignas(32) Expansion {
    std::array<std::uint8_t, 16> shuffle;
    std::uint8_t size;
};

constexpr std::array<Expansion, 256> make_expansions() {
    std::array<Expansion, 256> rows{};
    for (unsigned mask = 0; mask < 256; ++mask) {
        auto& row = rows[mask];
        row.shuffle.fill(0x80);  // pshufb writes zero for an index with the high bit set
        unsigned out = 0;
        for (unsigned in = 0; in < 8; ++in) {
            if (mask & (1u << in)) row.shuffle[out++] = 8;  // a backslash
            row.shuffle[out++] = static_cast<std::uint8_t>(in);
        }
        row.size = static_cast<std::uint8_t>(out);
    }
    return rows;
}

constexpr std::array<Expansion, 256> expansions = make_expansions();  // built at compile time

// The 8 bytes in the low half of `source` (backslashes in its high half) expanded by `row`.
[[gnu::target("ssse3"), gnu::always_inline]] inline char* expand(char* out, __m128i source,
                                                                 const Expansion& row) {
    const __m128i shuffle = _mm_load_si128(reinterpret_cast<const __m128i*>(row.shuffle.data()));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_shuffle_epi8(source, shuffle));
    return out + row.size;
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
    const __m128i backslashes = _mm_set1_epi8('\\');
    out = expand(out, _mm_unpacklo_epi64(v, backslashes), expansions[quotes & 0xff]);
    return expand(out, _mm_unpackhi_epi64(v, backslashes), expansions[quotes >> 8]);
}

// Every function of the AVX2 walk needs the target (intrinsics only compile, and inline, in
// functions that have it); BMI2 and POPCNT for the rotates and counts on the quote mask.
#define ERRBRIDGE_AVX2 gnu::target("avx2,bmi2,popcnt")

[[ERRBRIDGE_AVX2]] inline bool has_control(__m256i v) {
    const __m256i control = _mm256_set1_epi8(0x1f);
    const __m256i controls = _mm256_cmpeq_epi8(_mm256_max_epu8(v, control), control);
    return !_mm256_testz_si256(controls, controls);
}

// The positions of `"` and `\\` among the 32 bytes of `v`.
[[ERRBRIDGE_AVX2]] inline unsigned quote_mask(__m256i v) {
    return static_cast<unsigned>(
        _mm256_movemask_epi8(_mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('"')),
                                             _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\\')))));
}

// The expansion of byte `k` of `quotes`. Its row's offset comes out of one rotate and a mask,
// where extracting the byte then scaling it takes three instructions.
[[ERRBRIDGE_AVX2]] inline const Expansion& expansion_of(unsigned quotes, int k) {
    constexpr int shift = std::countr_zero(sizeof(Expansion));
    return expansions[(std::rotr(quotes, 8 * k - shift) & (0xffu << shift)) >> shift];
}

// The 32 bytes of `v` (no control characters), escaped by their `quotes` mask; up to 8 bytes
// stored past the returned end.
[[ERRBRIDGE_AVX2]] inline char* escape_32(char* out, __m256i v, unsigned quotes) {
    if (!quotes) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), v);
        return out + 32;
    }
    // Shuffles stay within 128-bit lanes: each 8 bytes paired with backslashes in a lane.
    const __m256i backslashes = _mm256_set1_epi8('\\');
    const __m256i even = _mm256_unpacklo_epi64(v, backslashes);  // bytes 0-7 | 16-23
    const __m256i odd = _mm256_unpackhi_epi64(v, backslashes);   // bytes 8-15 | 24-31
    out = expand(out, _mm256_castsi256_si128(even), expansion_of(quotes, 0));
    out = expand(out, _mm256_castsi256_si128(odd), expansion_of(quotes, 1));
    out = expand(out, _mm256_extracti128_si256(even, 1), expansion_of(quotes, 2));
    return expand(out, _mm256_extracti128_si256(odd, 1), expansion_of(quotes, 3));
}

// escape_json_ssse3 from `s` on (the opening quote written), out of line: its padded tail's
// buffer would make every call of the AVX2 walk realign the stack.
[[gnu::target("ssse3"), gnu::noinline]] char* escape_rest_ssse3(char* out, const char* s,
                                                                const char* end) {
    out = escape_blocks(out, s, end, escape_block_ssse3);
    *out++ = '"';
    return out;
}

}  // namespace

// Strings of 32 bytes or more in 32-byte blocks, the last one being the string's last 32
// bytes. That one overlaps bytes already escaped, but without control characters each of
// those came out as itself plus a backslash per quote: the cursor steps back over them and
// they are written again, the same. A block with control characters (rare in text) hands
// the rest to the SSSE3 walk.
[[ERRBRIDGE_AVX2]] char* escape_json_avx2(char* out, const char* s, std::size_t n) {
    if (n < 32) return escape_json_ssse3(out, s, n);
    *out++ = '"';
    const char* last = s + n - 32;
    for (; s < last; s += 32) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s));
        if (has_control(v)) return escape_rest_ssse3(out, s, last + 32);
        out = escape_32(out, v, quote_mask(v));
    }
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(last));
    if (has_control(v)) return escape_rest_ssse3(out, s, last + 32);
    unsigned quotes = quote_mask(v);
    auto overlap = static_cast<unsigned>(s - last);  // 0 to 31
    out -= overlap + static_cast<unsigned>(__builtin_popcount(_bzhi_u32(quotes, overlap)));
    out = escape_32(out, v, quotes);
    *out++ = '"';
    return out;
}

[[gnu::target("ssse3")]] char* escape_json_ssse3(char* out, const char* s, std::size_t n) {
    *out++ = '"';
    out = escape_blocks(out, s, s + n, escape_block_ssse3);
    *out++ = '"';
    return out;
}

JsonEscaper fastest_json_escaper() {
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") &&
        __builtin_cpu_supports("popcnt")) {
        return escape_json_avx2;
    }
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
