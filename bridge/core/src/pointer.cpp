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
        p.star = p.star || segment.star;
        p.path += '/';
        if (segment.star) {
            p.path += '*';
        } else {
            for (char c : segment.key) {
                if (c == '~') {
                    p.path += "~0";
                } else if (c == '/') {
                    p.path += "~1";
                } else {
                    p.path += c;
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
    std::vector<Pointer*> pointers;
    for (auto& pointer : rules.code)
        pointers.push_back(&pointer);
    for (auto& pointer : rules.message)
        pointers.push_back(&pointer);
    for (auto* pointer :
         {&rules.tag, &rules.request_id, &rules.method, &rules.flag_pointer, &rules.fan_out}) {
        if (*pointer) pointers.push_back(&**pointer);
    }
    for (auto& rule : rules.ids) {
        for (auto& pointer : rule.pointers)
            pointers.push_back(&pointer);
    }

    // The distinct first keys, by length, and where each length starts.
    std::vector<std::string>& keys = rules.root_keys;
    keys.clear();
    for (const Pointer* pointer : pointers) {
        if (pointer->segments.empty() || pointer->segments[0].star) continue;
        const std::string& key = pointer->segments[0].key;
        if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
    }
    std::sort(keys.begin(), keys.end(), [](const std::string& a, const std::string& b) {
        return a.size() != b.size() ? a.size() < b.size() : a < b;
    });
    // At most half full, so a probe for an absent name soon meets an empty entry.
    std::size_t table = 4;
    int shift = 62;
    while (table < 2 * keys.size()) {
        table *= 2;
        --shift;
    }
    rules.root_table.assign(table, RootEntry{});
    rules.root_shift = shift;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        const std::string& key = keys[i];
        if (key.size() > 16) continue;
        KeyPrint print = key_print(key.data(), key.size());
        std::size_t at = root_probe_start(print, key.size(), shift);
        while (rules.root_table[at].slot >= 0)
            at = (at + 1) & (table - 1);
        rules.root_table[at] = {print, static_cast<std::uint32_t>(key.size()),
                                static_cast<std::int32_t>(i)};
    }
    rules.root_key_start.assign(34, keys.size());
    for (std::size_t n = 0; n < 34; ++n) {
        auto first = std::find_if(keys.begin(), keys.end(),
                                  [n](const std::string& key) { return key.size() >= n; });
        rules.root_key_start[n] = static_cast<std::size_t>(first - keys.begin());
    }
    for (Pointer* pointer : pointers) {
        pointer->root_slot = -1;
        pointer->root_only = false;
        pointer->root_then_key = false;
        if (pointer->segments.empty() || pointer->segments[0].star) continue;
        auto at = std::find(keys.begin(), keys.end(), pointer->segments[0].key);
        pointer->root_slot = static_cast<int>(at - keys.begin());
        pointer->root_only = pointer->segments.size() == 1;
        pointer->root_then_key = pointer->segments.size() == 2 && !pointer->segments[1].star;
    }

    // Id pointers under the fan-out pointer, for resolving from each element.
    for (auto& rule : rules.ids) {
        rule.within_fan_out.clear();
        for (const Pointer& pointer : rule.pointers) {
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
