#include <algorithm>
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

void index_root_keys(Rules& rules) {
    rules.root_keys.clear();
    auto index = [&](Pointer& pointer) {
        pointer.root_slot = -1;
        if (pointer.segments.empty() || pointer.segments[0].star) return;
        const std::string& key = pointer.segments[0].key;
        auto at = std::find(rules.root_keys.begin(), rules.root_keys.end(), key);
        if (at == rules.root_keys.end()) at = rules.root_keys.insert(at, key);
        pointer.root_slot = static_cast<int>(at - rules.root_keys.begin());
    };
    auto index_optional = [&](std::optional<Pointer>& pointer) {
        if (pointer) index(*pointer);
    };
    for (auto& pointer : rules.code)
        index(pointer);
    for (auto& pointer : rules.message)
        index(pointer);
    index_optional(rules.tag);
    index_optional(rules.request_id);
    index_optional(rules.method);
    index_optional(rules.flag_pointer);
    index_optional(rules.fan_out);
    for (auto& rule : rules.ids) {
        rule.within_fan_out.clear();
        for (auto& pointer : rule.pointers) {
            index(pointer);
            std::optional<Pointer> rest;
            const std::optional<Pointer>& prefix = rules.fan_out;
            if (prefix && !pointer.relative && !prefix->relative &&
                pointer.segments.size() > prefix->segments.size() &&
                std::equal(
                    prefix->segments.begin(), prefix->segments.end(), pointer.segments.begin(),
                    [](const auto& a, const auto& b) { return !b.star && a.key == b.key; })) {
                rest.emplace();
                rest->segments.assign(
                    pointer.segments.begin() + static_cast<std::ptrdiff_t>(prefix->segments.size()),
                    pointer.segments.end());
            }
            rule.within_fan_out.push_back(std::move(rest));
        }
    }
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
