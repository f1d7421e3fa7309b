#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace errbridge::core {

void append_base64(std::string& out, std::string_view bytes);
void append_hex16(std::string& out, std::uint64_t value);

}  // namespace errbridge::core
