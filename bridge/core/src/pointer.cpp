#include <stdexcept>

#include "extract.h"

namespace errbridge::core::detail {

Pointer Pointer::parse(const std::string& text) {
    Pointer p;
    p.text = text;
    std::string_view rest = text;
    if (rest.rfind("../", 0) == 0) {
        p.relative = true;
        rest.remove_prefix(2);
    }
    if (rest.empty()) return p;
    if (rest[0] != '/') throw std::invalid_argument("pointer must start with /: " + text);
    rest.remove_prefix(1);
    while (true) {
        auto slash = rest.find('/');
        std::string_view raw = rest.substr(0, slash);
        Segment segment;
        if (raw == "*") {
            segment.star = true;
        } else {
            for (std::size_t i = 0; i < raw.size(); ++i) {
                if (raw[i] == '~' && i + 1 < raw.size()) {
                    segment.key += raw[i + 1] == '1' ? '/' : '~';
                    ++i;
                } else {
                    segment.key += raw[i];
                }
            }
        }
        p.segments.push_back(std::move(segment));
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
    }
    return p;
}

CodeValue classify_code_text(std::string_view text, catalog::CodeStyle style) {
    CodeValue value;
    value.text = std::string(text);
    value.key = catalog::parse_wire_code(style, text);
    if (value.key) value.text = catalog::canonical_code(style, *value.key);
    if (style == catalog::CodeStyle::huawei) {
        // Huawei codes are strings; unknown prefixes (APIGW., IOTDA.) stay as they are. A
        // decoded \u0000 would make the code an invalid MQTT 5 user property.
        value.type = text.empty() || text.find('\0') != std::string_view::npos
                         ? CodeValue::Type::bad
                         : CodeValue::Type::string;
    } else if (value.key) {
        value.type = CodeValue::Type::integer;
    }
    return value;
}

}  // namespace errbridge::core::detail
