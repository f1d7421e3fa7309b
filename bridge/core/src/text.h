#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "errbridge/core/decode.h"  // fnv1a64

namespace errbridge::core {

// FNV-1a-64 (fnv1a64) inline, for the short texts of event ids and suppression keys: a
// call per field cost more than the few bytes it hashes.
constexpr std::uint64_t fnv_prime = 0x100000001b3ULL;

inline std::uint64_t fnv1a_byte(unsigned char byte, std::uint64_t hash) {
    return (hash ^ byte) * fnv_prime;
}

// FNV-1a over the 8 little-endian bytes of `value` (so keys do not depend on the host).
inline std::uint64_t fnv1a_u64(std::uint64_t value, std::uint64_t hash) {
    for (int i = 0; i < 8; ++i)
        hash = fnv1a_byte(static_cast<unsigned char>(value >> (8 * i)), hash);
    return hash;
}

// FNV-1a over the 8 bytes at `from`.
[[gnu::always_inline]] inline std::uint64_t fnv1a_8(const char* from, std::uint64_t hash) {
    const auto* b = reinterpret_cast<const unsigned char*>(from);
#if defined(__x86_64__) && defined(__GNUC__)
    // XOR of a byte into a 64-bit hash only changes its low byte: one xorb from memory
    // instead of a zero-extending load and a 64-bit xor, 2 instructions a byte, not 3.
    asm("xorb %[b0], %b[h]\n\timulq %[prime], %[h]\n\t"
        "xorb %[b1], %b[h]\n\timulq %[prime], %[h]\n\t"
        "xorb %[b2], %b[h]\n\timulq %[prime], %[h]\n\t"
        "xorb %[b3], %b[h]\n\timulq %[prime], %[h]\n\t"
        "xorb %[b4], %b[h]\n\timulq %[prime], %[h]\n\t"
        "xorb %[b5], %b[h]\n\timulq %[prime], %[h]\n\t"
        "xorb %[b6], %b[h]\n\timulq %[prime], %[h]\n\t"
        "xorb %[b7], %b[h]\n\timulq %[prime], %[h]"
        : [h] "+r"(hash)
        : [prime] "r"(fnv_prime), [b0] "m"(b[0]), [b1] "m"(b[1]), [b2] "m"(b[2]), [b3] "m"(b[3]),
          [b4] "m"(b[4]), [b5] "m"(b[5]), [b6] "m"(b[6]), [b7] "m"(b[7])
        : "cc");
#else
    for (int i = 0; i < 8; ++i)
        hash = (hash ^ b[i]) * fnv_prime;
#endif
    return hash;
}

inline std::uint64_t fnv1a_short(std::string_view bytes, std::uint64_t hash) {
    for (char c : bytes)
        hash = fnv1a_byte(static_cast<unsigned char>(c), hash);
    return hash;
}

// FNV-1a over a text in steps of 16 bytes, so that its chain of multiplies (4 cycles a byte,
// which nothing can shorten) runs between other work: the processor overlaps a short step with
// the independent work around it, where one long loop would hold back everything after it.
class SteppedFnv {
  public:
    SteppedFnv(std::uint64_t hash, std::string_view text)
        : hash_(hash), next_(text.data()), end_(text.data() + text.size()) {}

    // Up to 16 more bytes.
    [[gnu::always_inline]] void step() {
        if (end_ - next_ >= 16) {
            hash_ = fnv1a_8(next_ + 8, fnv1a_8(next_, hash_));
            next_ += 16;
        }
    }
    // FNV-1a of the whole text, continued from the hash given to the constructor.
    std::uint64_t finish() {
        hash_ = fnv1a64(std::string_view(next_, static_cast<std::size_t>(end_ - next_)), hash_);
        next_ = end_;
        return hash_;
    }

  private:
    std::uint64_t hash_;
    const char* next_;
    const char* end_;
};

void append_base64(std::string& out, std::string_view bytes);

}  // namespace errbridge::core
