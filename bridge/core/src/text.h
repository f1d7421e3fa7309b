#pragma once

#include <cstdint>
#include <string>
#include <string_view>

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

inline std::uint64_t fnv1a_short(std::string_view bytes, std::uint64_t hash) {
    for (char c : bytes)
        hash = fnv1a_byte(static_cast<unsigned char>(c), hash);
    return hash;
}

void append_base64(std::string& out, std::string_view bytes);

}  // namespace errbridge::core
