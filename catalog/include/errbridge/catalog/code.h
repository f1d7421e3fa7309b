#pragma once

// Code spellings. Numeric vendors use integers; Huawei uses `IoTEdge.` + 8 digits. The
// lookup key is an int64 either way, so the hot path compares integers, not strings.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "errbridge/catalog/entry.h"

namespace errbridge::catalog {

// The wire grammar (SPEC §5): numeric vendors accept `^-?[0-9]+$` within int64; Huawei
// accepts `IoTEdge.NNNNNNNN` or bare `NNNNNNNN`. Anything else has no key.
std::optional<std::int64_t> parse_wire_code(CodeStyle style, std::string_view text);

// What people type: the wire grammar plus documentation artefacts such as `1,000` and a
// case-insensitive `iotedge.` prefix.
std::optional<std::int64_t> parse_typed_code(CodeStyle style, std::string_view text);

// The canonical spelling of a key: "1000", "IoTEdge.02100305".
std::string canonical_code(CodeStyle style, std::int64_t key);

}  // namespace errbridge::catalog
