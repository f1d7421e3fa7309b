#pragma once

// A choice of JSON string escapers, all writing exactly what escape_json (json_out.h) writes.

#include <cstddef>

namespace errbridge::core::detail {

using JsonEscaper = char* (*)(char* out, const char* s, std::size_t n);

// escape_json, or an equivalent one that is faster on this CPU. Asks the CPU, so callers
// choose once (a Decoder does when it is built).
JsonEscaper fastest_json_escaper();

#if defined(__x86_64__)
// Needs SSSE3: call only through fastest_json_escaper(), or after checking the CPU.
[[gnu::target("ssse3")]] char* escape_json_ssse3(char* out, const char* s, std::size_t n);
// Needs AVX2, BMI2 and POPCNT (x86-64 since about 2013-2015), likewise.
[[gnu::target("avx2,bmi2,popcnt")]] char* escape_json_avx2(char* out, const char* s, std::size_t n);
#endif

}  // namespace errbridge::core::detail
