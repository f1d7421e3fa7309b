// XML payloads (camera / NVR API): refuse any DOCTYPE (pugixml would silently skip one),
// enforce the depth limit with a pre-scan (pugixml has none), match elements by local
// name because namespace placement differs between firmwares.

#include <cstring>
#include <pugixml.hpp>

#include "extract.h"

namespace errbridge::core::detail {
namespace {

bool has_doctype(std::string_view payload) {
    for (std::size_t at = payload.find("<!"); at != std::string_view::npos;
         at = payload.find("<!", at + 2)) {
        std::string_view rest = payload.substr(at + 2, 7);
        if (rest.size() == 7 && ::strncasecmp(rest.data(), "DOCTYPE", 7) == 0) return true;
        if (rest.size() >= 6 && ::strncasecmp(rest.data(), "ENTITY", 6) == 0) return true;
    }
    return false;
}

// Counts element nesting without building anything; false when deeper than `max_depth`.
// Malformed markup is left for the parser to report.
bool within_depth(std::string_view s, int max_depth) {
    int depth = 0;
    std::size_t i = 0;
    while ((i = s.find('<', i)) != std::string_view::npos) {
        if (s.compare(i, 4, "<!--") == 0) {
            i = s.find("-->", i + 4);
        } else if (s.compare(i, 9, "<![CDATA[") == 0) {
            i = s.find("]]>", i + 9);
        } else if (s.compare(i, 2, "<?") == 0) {
            i = s.find("?>", i + 2);
        } else if (s.compare(i, 2, "</") == 0) {
            --depth;
            i = s.find('>', i + 2);
        } else {
            // An opening tag: find its end, skipping quoted attribute values.
            char quote = 0;
            std::size_t j = i + 1;
            for (; j < s.size(); ++j) {
                if (quote) {
                    if (s[j] == quote) quote = 0;
                } else if (s[j] == '"' || s[j] == '\'') {
                    quote = s[j];
                } else if (s[j] == '>') {
                    break;
                }
            }
            if (j >= s.size()) return true;
            if (s[j - 1] != '/' && ++depth > max_depth) return false;
            i = j;
        }
        if (i == std::string_view::npos) return true;
        ++i;
    }
    return true;
}

std::string_view local_name(const char* name) {
    const char* colon = std::strrchr(name, ':');
    return colon ? colon + 1 : name;
}

// Pointer over XML: element steps by local name from the root element, then `@attr`.
std::optional<std::string> attribute_at(const pugi::xml_node& root, const Pointer& pointer) {
    pugi::xml_node node = root;
    for (std::size_t i = 0; i < pointer.segments.size(); ++i) {
        const std::string& key = pointer.segments[i].key;
        if (!key.empty() && key[0] == '@') {
            if (i + 1 != pointer.segments.size()) return std::nullopt;
            for (auto attribute : node.attributes()) {
                if (local_name(attribute.name()) == std::string_view(key).substr(1)) {
                    return std::string(attribute.value());
                }
            }
            return std::nullopt;
        }
        pugi::xml_node next;
        for (auto child : node.children()) {
            if (child.type() == pugi::node_element && local_name(child.name()) == key) {
                next = child;
                break;
            }
        }
        if (!next) return std::nullopt;
        node = next;
    }
    return std::nullopt;
}

}  // namespace

void extract_xml(std::string_view payload, const Rules& rules, Extraction& out) {
    if (has_doctype(payload)) {
        out.fail(DeadLetterReason::doctype, "DOCTYPE or ENTITY declarations are refused");
        return;
    }
    if (!within_depth(payload, rules.max_depth)) {
        out.fail(DeadLetterReason::too_deep,
                 "nesting deeper than limits.max_depth = " + std::to_string(rules.max_depth));
        return;
    }
    pugi::xml_document document;
    auto parsed =
        document.load_buffer(payload.data(), payload.size(),
                             pugi::parse_default | pugi::parse_doctype, pugi::encoding_utf8);
    if (!parsed) {
        out.fail(DeadLetterReason::not_xml,
                 std::string(parsed.description()) + " at byte " + std::to_string(parsed.offset));
        return;
    }
    for (auto node : document.children()) {
        if (node.type() == pugi::node_doctype) {
            out.fail(DeadLetterReason::doctype, "DOCTYPE declarations are refused");
            return;
        }
    }
    pugi::xml_node root = document.document_element();
    if (!root || local_name(root.name()) != rules.xml_root) {
        out.fail(DeadLetterReason::not_object, "the root element is not <" + rules.xml_root + ">");
        return;
    }
    for (const auto& pointer : rules.message) {
        if ((out.top_message = attribute_at(root, pointer))) break;
    }
    if (rules.request_id) out.request_id = attribute_at(root, *rules.request_id);
    if (rules.flag_pointer && rules.success_when) {
        if (auto value = attribute_at(root, *rules.flag_pointer)) {
            bool equal = "\"" + *value + "\"" == rules.success_when->value_json;
            out.flag_success =
                rules.success_when->op == catalog::SuccessFlag::Op::equals ? equal : !equal;
        }
    }
    // The error document carries no version: errorDesc exists only on v2.0 firmware.
    out.firmware = !rules.firmware.empty() ? rules.firmware
                   : out.top_message       ? std::string("v2.0")
                                           : std::string("v1.9");
    for (const auto& pointer : rules.code) {
        auto text = attribute_at(root, pointer);
        if (!text) continue;
        Found found;
        found.code = classify_code_text(*text, rules.code_style);
        found.path = pointer.text;
        if (found.code.type == CodeValue::Type::bad) {
            out.fail(DeadLetterReason::bad_code,
                     "code at " + pointer.text + " is \"" + *text + "\", not an integer");
            return;
        }
        found.vendor_message = out.top_message;
        out.codes.push_back(std::move(found));
    }
}

}  // namespace errbridge::core::detail
