#pragma once

// JSON text for events: a string escaper that works 16 bytes at a time, a raw-cursor sink
// the event writer appends to, and a small object writer (JsonOut) for the colder shapes
// (dead letters) and for fragments prepared when the config is compiled.
//
// Event writing is most of the decode cost, so the hot path avoids std::string::append
// per piece (a capacity check, a memcpy call and a terminator each): the sink checks room
// once per piece and constant pieces become plain stores.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "errbridge/core/decode.h"
#include "json_escape_ssse3.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace errbridge::core::detail {

// Room escape_json needs for `n` input bytes: at most 6 output bytes per byte (`\u00XX`),
// two quotes, up to 31 bytes of padding it writes and drops, and 16 bytes of slack for its
// block stores.
constexpr std::size_t escaped_bound(std::size_t n) {
    return 6 * n + 2 + 31 + 16;
}

// The escape of one byte that needs one: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, else
// `\u00XX` (lower-case hex) for the other control characters.
inline char* escape_byte(char* out, unsigned char c) {
    static constexpr char hex[] = "0123456789abcdef";
    // Control characters with a two-character escape (0: `\u00XX`).
    static constexpr char controls[0x20] = {0, 0,   0,   0, 0, 0, 0, 0, 'b', 't', 'n',
                                            0, 'f', 'r', 0, 0, 0, 0, 0, 0,   0,   0};
    // Only `"`, `\` and control characters get here: the first two escape as themselves.
    char shorthand = c >= 0x20 ? static_cast<char>(c) : controls[c];
    out[0] = '\\';
    if (shorthand) {
        out[1] = shorthand;
        return out + 2;
    }
    out[1] = 'u';
    out[2] = '0';
    out[3] = '0';
    out[4] = hex[c >> 4];
    out[5] = hex[c & 15];
    return out + 6;
}

// The index of the first of the 16 bytes at `s` that needs escaping, 16 when none.
inline std::size_t first_to_escape(const char* s) {
#if defined(__SSE2__)
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
    const __m128i control = _mm_set1_epi8(0x1f);
    const __m128i special = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
        _mm_cmpeq_epi8(_mm_max_epu8(v, control), control));  // max(c, 0x1f) == 0x1f: c < 0x20
    auto mask = static_cast<unsigned>(_mm_movemask_epi8(special));
    return mask ? static_cast<std::size_t>(__builtin_ctz(mask)) : 16;
#else
    // Two words of 8 bytes. In each, the first flagged byte is exact (a borrow only runs
    // from a byte that is itself flagged towards later bytes), which is all callers use.
    std::uint64_t words[2];
    std::memcpy(words, s, 16);
    auto first_flagged = [](std::uint64_t word) -> std::size_t {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        word = __builtin_bswap64(word);  // the first byte lowest, so borrows run upwards
#endif
        constexpr std::uint64_t ones = 0x0101010101010101ULL;
        constexpr std::uint64_t high = 0x8080808080808080ULL;
        auto zero_bytes = [](std::uint64_t x) { return (x - ones) & ~x & high; };
        std::uint64_t flagged = ((word - ones * 0x20) & ~word & high) |
                                zero_bytes(word ^ (ones * '"')) | zero_bytes(word ^ (ones * '\\'));
        return flagged ? static_cast<std::size_t>(__builtin_ctzll(flagged)) / 8 : 8;
    };
    std::size_t first = first_flagged(words[0]);
    return first < 8 ? first : 8 + first_flagged(words[1]);
#endif
}

// One step over up to 16 bytes at `s` (`valid` of them belong to the string; 16 may be
// read): the bytes are stored at `out` as they are, then both cursors move to just past
// the first byte that needs escaping (written escaped), or past the valid bytes.
inline void escape_step(const char*& s, char*& out, std::size_t valid) {
    std::memcpy(out, s, 16);
    std::size_t first = first_to_escape(s);
    // Bytes beyond `valid` are never flagged (see escape_json).
    if (first == 16) {
        s += valid;
        out += valid;
        return;
    }
    s += first;
    out += first;
    out = escape_byte(out, static_cast<unsigned char>(*s++));
}

// memcpy of fewer than 16 bytes as two overlapping fixed-size copies (no call).
inline void copy_short(char* to, const char* from, std::size_t n) {
    if (n >= 8) {
        std::uint64_t head, tail;
        std::memcpy(&head, from, 8);
        std::memcpy(&tail, from + n - 8, 8);
        std::memcpy(to, &head, 8);
        std::memcpy(to + n - 8, &tail, 8);
    } else if (n >= 4) {
        std::uint32_t head, tail;
        std::memcpy(&head, from, 4);
        std::memcpy(&tail, from + n - 4, 4);
        std::memcpy(to, &head, 4);
        std::memcpy(to + n - 4, &tail, 4);
    } else if (n > 0) {
        to[0] = from[0];
        to[n / 2] = from[n / 2];
        to[n - 1] = from[n - 1];
    }
}

#if defined(__SSE2__)
// Escapes the 16 bytes at `s` to `out` (reading up to 32 bytes from `s`, storing up to 16
// bytes past the returned end); returns the end. Every escape of the block is handled from
// its masks: the run before each one is stored with one 16-byte copy.
inline char* escape_block(char* out, const char* s) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
    const __m128i control = _mm_set1_epi8(0x1f);
    auto quote_or_backslash = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(
        _mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')))));
    // max(c, 0x1f) == 0x1f: c < 0x20
    auto controls =
        static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(v, control), control)));
    const char* run = s;
    if (!controls) {
        // JSON text is full of quotes, and `"` and `\` escape as a backslash before
        // themselves: the byte stays in the next run, so each costs one store and a backslash.
        for (unsigned mask = quote_or_backslash; mask; mask &= mask - 1) {
            const char* at = s + __builtin_ctz(mask);
            _mm_storeu_si128(reinterpret_cast<__m128i*>(out),
                             _mm_loadu_si128(reinterpret_cast<const __m128i*>(run)));
            out += at - run;
            *out++ = '\\';
            run = at;
        }
    } else {
        for (unsigned mask = quote_or_backslash | controls; mask; mask &= mask - 1) {
            const char* at = s + __builtin_ctz(mask);
            _mm_storeu_si128(reinterpret_cast<__m128i*>(out),
                             _mm_loadu_si128(reinterpret_cast<const __m128i*>(run)));
            out += at - run;
            out = escape_byte(out, static_cast<unsigned char>(*at));
            run = at + 1;
        }
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out),
                     _mm_loadu_si128(reinterpret_cast<const __m128i*>(run)));
    return out + (s + 16 - run);
}
#endif

// memcpy without a call for the short texts events are made of (ids, names, topics); up to
// 32 bytes as overlapping fixed-size copies.
inline void copy_bytes(char* to, const char* from, std::size_t n) {
    if (n < 16) {
        copy_short(to, from, n);
    } else if (n <= 32) {
        char head[16], tail[16];
        std::memcpy(head, from, 16);
        std::memcpy(tail, from + n - 16, 16);
        std::memcpy(to, head, 16);
        std::memcpy(to + n - 16, tail, 16);
    } else {
        std::memcpy(to, from, n);
    }
}

#if defined(__SSE2__)
// escape_json's walk with a block step (escape_block, or one of the same output for another
// instruction set): blocks while 32 bytes are readable, then the last bytes from a copy padded
// with spaces (never escaped), so the same step applies without reading past the string; the
// padding comes out one byte per byte at the end, where it is dropped. Inlined into its
// caller, so a step compiled for another instruction set is inlined there too.
template <typename Block>
[[gnu::always_inline]] inline char* escape_blocks(char* out, const char* s, const char* end,
                                                  Block block_step) {
    while (end - s >= 32) {
        out = block_step(out, s);
        s += 16;
    }
    if (s < end) {
        char block[64];
        std::memset(block, ' ', sizeof block);
        auto rest = static_cast<std::size_t>(end - s);
        if (rest >= 16) {
            std::memcpy(block, s, 16);
            std::memcpy(block + rest - 16, end - 16, 16);
        } else {
            copy_short(block, s, rest);
        }
        out = block_step(out, block);
        if (rest > 16) out = block_step(out, block + 16);
        out -= (rest > 16 ? 32 : 16) - rest;
    }
    return out;
}
#endif

// Writes `value` as a JSON string (quotes included) at `out`, which must have
// escaped_bound(n) bytes of room; returns the end. Control characters, `"` and `\` are
// escaped; everything else (UTF-8 included) is copied as it is.
[[gnu::noinline]] inline char* escape_json(char* out, const char* s, std::size_t n) {
    *out++ = '"';
    const char* end = s + n;
#if defined(__SSE2__)
    out = escape_blocks(out, s, end, escape_block);
#else
    while (end - s >= 16)
        escape_step(s, out, 16);
    if (s < end) {
        // The tail is copied into a block padded with spaces (never escaped), so the same
        // step applies without reading past the string.
        char block[32];
        std::memset(block, ' ', sizeof block);
        auto rest = static_cast<std::size_t>(end - s);
        copy_short(block, s, rest);
        const char* p = block;
        const char* block_end = block + rest;
        while (p < block_end)
            escape_step(p, out, static_cast<std::size_t>(block_end - p));
    }
#endif
    *out++ = '"';
    return out;
}

// Whether any of the `n` bytes at `s` needs escaping in a JSON string.
inline bool needs_escape(const char* s, std::size_t n) {
    const char* end = s + n;
    for (; end - s >= 16; s += 16) {
        if (first_to_escape(s) != 16) return true;
    }
    if (s == end) return false;
    char tail[16];
    std::memset(tail, ' ', sizeof tail);  // spaces: never escaped
    copy_short(tail, s, static_cast<std::size_t>(end - s));
    return first_to_escape(tail) != 16;
}

// 16 lower-case hex digits at `at`.
[[gnu::always_inline]] inline void store_hex16(char* at, std::uint64_t value) {
#if defined(__SSE2__) && defined(__x86_64__)
    // All 16 nibbles at once: the bytes most significant first, each split into its high and
    // low nibble, then '0' + n, plus the gap to 'a' where n > 9.
    const __m128i bytes = _mm_cvtsi64_si128(static_cast<long long>(__builtin_bswap64(value)));
    const __m128i low_nibbles = _mm_set1_epi8(0x0f);
    const __m128i nibbles = _mm_unpacklo_epi8(_mm_and_si128(_mm_srli_epi16(bytes, 4), low_nibbles),
                                              _mm_and_si128(bytes, low_nibbles));
    const __m128i letters =
        _mm_and_si128(_mm_cmpgt_epi8(nibbles, _mm_set1_epi8(9)), _mm_set1_epi8('a' - '0' - 10));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(at),
                     _mm_add_epi8(_mm_add_epi8(nibbles, _mm_set1_epi8('0')), letters));
#else
    static constexpr char digits[] = "0123456789abcdef";
    for (int i = 7; i >= 0; --i) {
        auto byte = static_cast<unsigned>(value & 0xff);
        at[2 * i] = digits[byte >> 4];
        at[2 * i + 1] = digits[byte & 15];
        value >>= 8;
    }
#endif
}

// Appends to the result's output buffer through a raw cursor. The writer reserves room for
// the whole event when it opens the sink (the sum of its pieces' bounds), so each piece is
// plain stores with no check of its own; close() makes what was written count, and stops the
// process if the reservation was exceeded (a writer bug: the bytes past it may have landed
// outside the buffer). Every member is inlined and the sink's address is never taken, so
// its cursor can stay in a register: stores through a char pointer may alias any memory,
// and would otherwise force a reload of a cursor kept in memory after every byte written.
class Sink {
  public:
    Sink(OutputBuffer& out, std::size_t bound) : out_(out) {
        start_ = out_.size();
        p_ = out_.room(bound);
        reserved_end_ = p_ + bound;
    }

    // Bytes written since the sink opened.
    std::size_t size() const { return static_cast<std::size_t>(p_ - out_.storage()) - start_; }
    std::size_t start() const { return start_; }
    void close() {
        if (p_ > reserved_end_) [[unlikely]]
            reservation_exceeded();
        out_.resize(static_cast<std::size_t>(p_ - out_.storage()));
    }

    // A string literal without its terminator: a constant-size copy.
    template <std::size_t N>
    [[gnu::always_inline]] void literal(const char (&text)[N]) {
        std::memcpy(p_, text, N - 1);
        p_ += N - 1;
    }
    [[gnu::always_inline]] void raw(std::string_view text) {
        copy_bytes(p_, text.data(), text.size());
        p_ += text.size();
    }
    // `n` bytes already in the buffer, at `offset` before where this sink started.
    [[gnu::always_inline]] void copy_within(std::size_t offset, std::size_t n) {
        std::memcpy(p_, out_.storage() + offset, n);
        p_ += n;
    }
    [[gnu::always_inline]] void byte(char c) { *p_++ = c; }
    [[gnu::always_inline]] void string(std::string_view value) {
        p_ = escape_json(p_, value.data(), value.size());
    }
    // The same through another escaper of the same output (json_escape_ssse3.h).
    [[gnu::always_inline]] void string(std::string_view value, JsonEscaper escape) {
        p_ = escape(p_, value.data(), value.size());
    }
    // A string known to need no escaping, quoted.
    [[gnu::always_inline]] void plain_string(std::string_view value) {
        *p_++ = '"';
        copy_bytes(p_, value.data(), value.size());
        p_ += value.size();
        *p_++ = '"';
    }
    // `n` bytes written by `fill(char* at)`.
    template <typename Fill>
    [[gnu::always_inline]] void bytes(std::size_t n, Fill fill) {
        fill(p_);
        p_ += n;
    }
    // Room for `n` bytes filled in later, at the pointer returned.
    [[gnu::always_inline]] char* skip(std::size_t n) {
        char* at = p_;
        p_ += n;
        return at;
    }
    [[gnu::always_inline]] void integer(std::int64_t value);

  private:
    // Not an input error but a bug in the writer's bound; the fuzzer reports the abort.
    [[noreturn, gnu::noinline, gnu::cold]] static void reservation_exceeded() { std::abort(); }

    OutputBuffer& out_;
    std::size_t start_;
    char* p_;
    char* reserved_end_;
};

inline void Sink::integer(std::int64_t value) {
    std::uint64_t magnitude =
        value < 0 ? 0 - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
    char digits[24];
    char* d = digits + sizeof digits;
    do {
        *--d = static_cast<char>('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude);
    if (value < 0) *--d = '-';
    auto n = static_cast<std::size_t>(digits + sizeof digits - d);
    std::memcpy(p_, d, n);
    p_ += n;
}

class JsonOut {
  public:
    explicit JsonOut(std::string& out) : out_(out) {}

    void begin_object() {
        separate();
        out_ += '{';
        first_ = true;
    }
    void end_object() {
        out_ += '}';
        first_ = false;
    }
    // `name` must not need escaping (our own key names).
    void key(std::string_view name) {
        separate();
        out_ += '"';
        out_ += name;
        out_ += "\":";
        first_ = true;
    }
    // Keys from configuration (device id names): escaped like values.
    void dynamic_key(std::string_view name) {
        separate();
        append_escaped(out_, name);
        out_ += ':';
        first_ = true;
    }
    void string(std::string_view value) {
        separate();
        append_escaped(out_, value);
    }
    void optional_string(const std::optional<std::string>& value) {
        if (value) {
            string(*value);
        } else {
            null();
        }
    }
    void null() { raw("null"); }
    void boolean(bool value) { raw(value ? "true" : "false"); }
    void integer(std::int64_t value) { raw(std::to_string(value)); }
    void raw(std::string_view json) {
        separate();
        out_ += json;
    }

    static void append_escaped(std::string& out, std::string_view value) {
        std::size_t old = out.size();
        out.resize(old + escaped_bound(value.size()));
        char* end = escape_json(out.data() + old, value.data(), value.size());
        out.resize(static_cast<std::size_t>(end - out.data()));
    }

  private:
    void separate() {
        if (!first_) out_ += ',';
        first_ = false;
    }

    std::string& out_;
    bool first_ = true;
};

}  // namespace errbridge::core::detail
