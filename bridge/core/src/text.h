#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace errbridge::core {

void append_base64(std::string& out, std::string_view bytes);

}  // namespace errbridge::core
