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

bool xml_blank(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// The position of the last character of `terminator` found from `from`, or npos.
std::size_t end_of(std::string_view s, std::string_view terminator, std::size_t from) {
    std::size_t at = s.find(terminator, from);
    return at == std::string_view::npos ? at : at + terminator.size() - 1;
}

struct Shape {
    bool too_deep = false;
    bool stray_text = false;  // non-blank characters outside the root element
};

// Counts element nesting without building anything and stops once deeper than `max_depth`.
// Also notes text outside the root element, which pugixml skips without a word.
// Malformed markup is left for the parser to report.
Shape scan_shape(std::string_view s, int max_depth) {
    Shape shape;
    int depth = 0;
    auto top_level_text = [&](std::size_t from, std::size_t to) {
        if (depth != 0 || shape.stray_text) return;
        for (std::size_t k = from; k < to; ++k) {
            if (!xml_blank(s[k])) {
                shape.stray_text = true;
                return;
            }
        }
    };
    std::size_t text_from = s.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;  // pugixml takes the BOM
    std::size_t i = 0;
    while ((i = s.find('<', text_from)) != std::string_view::npos) {
        top_level_text(text_from, i);
        if (s.compare(i, 4, "<!--") == 0) {
            i = end_of(s, "-->", i + 4);
        } else if (s.compare(i, 9, "<![CDATA[") == 0) {
            if (depth == 0) shape.stray_text = true;
            i = end_of(s, "]]>", i + 9);
        } else if (s.compare(i, 2, "<?") == 0) {
            i = end_of(s, "?>", i + 2);
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
            if (j >= s.size()) return shape;
            // An empty element (`<a/>`) is as deep as an open one; it just opens nothing.
            if (depth + 1 > max_depth) {
                shape.too_deep = true;
                return shape;
            }
            if (s[j - 1] != '/') ++depth;
            i = j;
        }
        if (i == std::string_view::npos) return shape;
        text_from = i + 1;
    }
    top_level_text(text_from, s.size());
    return shape;
}

std::string_view local_name(const char* name) {
    const char* colon = std::strrchr(name, ':');
    return colon ? colon + 1 : name;
}

// Pointer over XML: element steps by local name from the root element, then `@attr`. The
// first match answers; `duplicate` says another node matched the same step too (matching by
// local name makes `a:errorCode` and `errorCode` collide, and pugixml keeps a repeated
// attribute although XML forbids it), so the caller can refuse an ambiguous code.
std::optional<std::string_view> attribute_at(const pugi::xml_node& root, const Pointer& pointer,
                                             bool& duplicate) {
    pugi::xml_node node = root;
    for (std::size_t i = 0; i < pointer.segments.size(); ++i) {
        const std::string& key = pointer.segments[i].key;
        if (!key.empty() && key[0] == '@') {
            if (i + 1 != pointer.segments.size()) return std::nullopt;
            std::optional<std::string_view> value;
            for (auto attribute : node.attributes()) {
                if (local_name(attribute.name()) != std::string_view(key).substr(1)) continue;
                if (value) {
                    duplicate = true;
                    break;
                }
                value = attribute.value();
            }
            return value;
        }
        pugi::xml_node next;
        for (auto child : node.children()) {
            if (child.type() != pugi::node_element || local_name(child.name()) != key) continue;
            if (next) {
                duplicate = true;
                break;
            }
            next = child;
        }
        if (!next) return std::nullopt;
        node = next;
    }
    return std::nullopt;
}

std::optional<std::string_view> attribute_at(const pugi::xml_node& root, const Pointer& pointer) {
    bool ignored = false;
    return attribute_at(root, pointer, ignored);
}

}  // namespace

void extract_xml(std::string_view payload, const Rules& rules, Extraction& out,
                 pugi::xml_document& document) {
    if (has_doctype(payload)) {
        out.fail(DeadLetterReason::doctype, "DOCTYPE or ENTITY declarations are refused");
        return;
    }
    const Shape shape = scan_shape(payload, rules.max_depth);
    if (shape.too_deep) {
        out.fail(DeadLetterReason::too_deep,
                 "nesting deeper than limits.max_depth = " + std::to_string(rules.max_depth));
        return;
    }
    auto parsed =
        document.load_buffer(payload.data(), payload.size(),
                             pugi::parse_default | pugi::parse_doctype, pugi::encoding_utf8);
    if (!parsed) {
        out.fail(DeadLetterReason::not_xml,
                 std::string(parsed.description()) + " at byte " + std::to_string(parsed.offset));
        return;
    }
    // pugixml accepts several root elements and text around them; XML allows neither, and a
    // second <config> would otherwise be ignored without a trace.
    int elements = 0;
    for (auto node : document.children()) {
        switch (node.type()) {
            case pugi::node_doctype:
                out.fail(DeadLetterReason::doctype, "DOCTYPE declarations are refused");
                return;
            case pugi::node_element:
                ++elements;
                break;
            case pugi::node_pcdata:
            case pugi::node_cdata:
                out.fail(DeadLetterReason::not_xml, "text outside the root element");
                return;
            default:
                break;
        }
    }
    if (shape.stray_text) {
        out.fail(DeadLetterReason::not_xml, "text outside the root element");
        return;
    }
    if (elements > 1) {
        out.fail(DeadLetterReason::not_xml, "more than one root element");
        return;
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
            bool equal = "\"" + std::string(*value) + "\"" == rules.success_when->value_json;
            out.flag_success =
                rules.success_when->op == catalog::SuccessFlag::Op::equals ? equal : !equal;
        }
    }
    // The error document carries no version: errorDesc exists only on v2.0 firmware.
    out.firmware = !rules.firmware.empty() ? std::string_view(rules.firmware)
                   : out.top_message       ? std::string_view("v2.0")
                                           : std::string_view("v1.9");
    for (const auto& pointer : rules.code) {
        bool duplicate = false;
        auto text = attribute_at(root, pointer, duplicate);
        if (duplicate) {
            out.fail(DeadLetterReason::duplicate_key,
                     pointer.text + " matches more than one node (by local name)");
            return;
        }
        if (!text) continue;
        Found& found = out.codes.emplace_back();
        found.code = classify_code_text(*text, rules.code_style);
        found.path = pointer.text;
        if (found.code.type == CodeValue::Type::bad) {
            out.codes.pop_back();
            out.fail(DeadLetterReason::bad_code, "code at " + pointer.text + " is \"" +
                                                     std::string(*text) + "\", not an integer");
            return;
        }
        found.vendor_message = out.top_message;
    }
}

}  // namespace errbridge::core::detail
