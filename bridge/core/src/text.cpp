// Byte-level helpers of the event format: ids, timestamps, UTF-8 and base64.

#include "text.h"

#include <cstdio>
#include <cstring>
#include <ctime>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "errbridge/core/decode.h"

namespace errbridge::core {

std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t hash) {
    // One multiply per byte is the whole cost (a dependency chain nothing can shorten); the
    // 8-byte body only saves the loop's own instructions.
    const char* p = bytes.data();
    std::size_t n = bytes.size();
    for (; n >= 8; n -= 8, p += 8)
        hash = fnv1a_8(p, hash);
    for (; n > 0; --n, ++p)
        hash = fnv1a_byte(static_cast<unsigned char>(*p), hash);
    return hash;
}

std::string format_timestamp(std::int64_t now_ms) {
    std::int64_t seconds = now_ms >= 0 ? now_ms / 1000 : (now_ms - 999) / 1000;
    int millis = static_cast<int>(now_ms - seconds * 1000);
    std::time_t t = static_cast<std::time_t>(seconds);
    std::tm utc{};
    ::gmtime_r(&t, &utc);
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
    return text;
}

bool valid_utf8(std::string_view bytes) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const auto* end = p + bytes.size();
    while (p < end) {
        // Payloads are mostly ASCII: 16, then 8 bytes at a time while none is NUL or above
        // 0x7F (as signed bytes: all greater than zero).
#if defined(__SSE2__)
        while (end - p >= 16) {
            const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
            if (_mm_movemask_epi8(_mm_cmpgt_epi8(v, _mm_setzero_si128())) != 0xFFFF) break;
            p += 16;
        }
#endif
        constexpr std::uint64_t ones = 0x0101010101010101ULL;
        constexpr std::uint64_t high = 0x8080808080808080ULL;
        while (end - p >= 8) {
            std::uint64_t word;
            std::memcpy(&word, p, 8);
            if (((word - ones) | word) & high) break;
            p += 8;
        }
        if (p == end) break;
        unsigned char c = *p;
        if (c >= 0x01 && c < 0x80) {
            ++p;
            continue;
        }
        if (c == 0) return false;  // NUL: never in a text payload
        int extra;
        std::uint32_t min;
        std::uint32_t cp;
        if ((c & 0xE0) == 0xC0) {
            extra = 1;
            min = 0x80;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2;
            min = 0x800;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3;
            min = 0x10000;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (end - p <= extra) return false;
        for (int i = 1; i <= extra; ++i) {
            if ((p[i] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        p += extra + 1;
    }
    return true;
}

std::size_t utf8_prefix(std::string_view text, std::size_t max) {
    if (text.size() <= max) return text.size();
    std::size_t n = max;
    // Step back over continuation bytes to the start of the cut code point.
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80)
        --n;
    return n;
}

void append_base64(std::string& out, std::string_view bytes) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        auto a = static_cast<unsigned char>(bytes[i]);
        auto b = static_cast<unsigned char>(bytes[i + 1]);
        auto c = static_cast<unsigned char>(bytes[i + 2]);
        out += alphabet[a >> 2];
        out += alphabet[((a & 3) << 4) | (b >> 4)];
        out += alphabet[((b & 15) << 2) | (c >> 6)];
        out += alphabet[c & 63];
    }
    if (i + 1 == bytes.size()) {
        auto a = static_cast<unsigned char>(bytes[i]);
        out += alphabet[a >> 2];
        out += alphabet[(a & 3) << 4];
        out += "==";
    } else if (i + 2 == bytes.size()) {
        auto a = static_cast<unsigned char>(bytes[i]);
        auto b = static_cast<unsigned char>(bytes[i + 1]);
        out += alphabet[a >> 2];
        out += alphabet[((a & 3) << 4) | (b >> 4)];
        out += alphabet[(b & 15) << 2];
        out += '=';
    }
}

}  // namespace errbridge::core
