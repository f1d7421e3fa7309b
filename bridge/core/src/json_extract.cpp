// JSON payloads: parse with the depth limit enforced while parsing (RapidJSON 1.1 has
// none), then walk the code pointers, checking for duplicate keys on the way.

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include <algorithm>

#include "extract.h"

namespace errbridge::core::detail {
namespace {

using Value = rapidjson::Value;
using Document = rapidjson::Document;

// Forwards SAX events to the document while counting nesting; stops the parse (without
// recursion: the reader runs iteratively) once the limit is passed.
struct DepthLimitedHandler {
    Document& target;
    int max_depth;
    int depth = 0;
    bool too_deep = false;
    bool lone_surrogate = false;

    bool Null() { return target.Null(); }
    bool Bool(bool b) { return target.Bool(b); }
    bool Int(int i) { return target.Int(i); }
    bool Uint(unsigned u) { return target.Uint(u); }
    bool Int64(std::int64_t i) { return target.Int64(i); }
    bool Uint64(std::uint64_t u) { return target.Uint64(u); }
    bool Double(double d) { return target.Double(d); }
    bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
        return target.RawNumber(s, n, copy);
    }
    bool String(const char* s, rapidjson::SizeType n, bool copy) {
        return unicode(s, n) && target.String(s, n, copy);
    }
    bool Key(const char* s, rapidjson::SizeType n, bool copy) {
        return unicode(s, n) && target.Key(s, n, copy);
    }
    // RapidJSON refuses a lone high-surrogate escape (\ud800) but decodes a lone low one
    // (\udc00) into ED B0 80: bytes that are not UTF-8 and would reach events, topics and
    // user properties. The raw bytes were validated before parsing, so a surrogate here
    // (ED A0..BF) can only come from an escape.
    bool unicode(const char* s, rapidjson::SizeType n) {
        for (rapidjson::SizeType i = 0; i + 1 < n; ++i) {
            if (static_cast<unsigned char>(s[i]) == 0xED &&
                static_cast<unsigned char>(s[i + 1]) >= 0xA0) {
                lone_surrogate = true;
                return false;
            }
        }
        return true;
    }
    bool StartObject() { return enter() && target.StartObject(); }
    bool EndObject(rapidjson::SizeType n) {
        --depth;
        return target.EndObject(n);
    }
    bool StartArray() { return enter() && target.StartArray(); }
    bool EndArray(rapidjson::SizeType n) {
        --depth;
        return target.EndArray(n);
    }
    bool enter() {
        if (++depth > max_depth) {
            too_deep = true;
            return false;
        }
        return true;
    }
};

struct Parse {
    std::string_view payload;
    int max_depth;
    bool too_deep = false;
    bool lone_surrogate = false;
    rapidjson::ParseResult result;

    bool operator()(Document& document) {
        DepthLimitedHandler handler{document, max_depth, 0, false, false};
        rapidjson::Reader reader;
        rapidjson::MemoryStream memory(payload.data(), payload.size());
        rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> stream(memory);
        // Iterative: no recursion, whatever the nesting. UTF-8 was validated before.
        result = reader.Parse<rapidjson::kParseIterativeFlag>(stream, handler);
        too_deep = handler.too_deep;
        lone_surrogate = handler.lone_surrogate;
        return !result.IsError();
    }
};

std::string escape_segment(std::string_view key) {
    std::string out;
    for (char c : key) {
        if (c == '~') {
            out += "~0";
        } else if (c == '/') {
            out += "~1";
        } else {
            out += c;
        }
    }
    return out;
}

std::string_view name_of(const Value& member_name) {
    return {member_name.GetString(), member_name.GetStringLength()};
}

// The member named `key`; reports a duplicate instead of silently picking one.
const Value* find_member(const Value& object, std::string_view key, bool& duplicate) {
    const Value* found = nullptr;
    for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
        if (name_of(it->name) != key) continue;
        if (found) {
            duplicate = true;
            return nullptr;
        }
        found = &it->value;
    }
    return found;
}

const Value* resolve(const Value& start, const Pointer& pointer) {
    const Value* v = &start;
    for (const auto& segment : pointer.segments) {
        if (segment.star) return nullptr;
        if (v->IsObject()) {
            bool duplicate = false;
            v = find_member(*v, segment.key, duplicate);
            if (!v) return nullptr;
        } else if (v->IsArray()) {
            if (segment.key.empty() || segment.key.size() > 9 ||
                !std::all_of(segment.key.begin(), segment.key.end(),
                             [](char c) { return c >= '0' && c <= '9'; })) {
                return nullptr;
            }
            std::size_t index = std::stoul(segment.key);
            if (index >= v->Size()) return nullptr;
            v = &(*v)[static_cast<rapidjson::SizeType>(index)];
        } else {
            return nullptr;
        }
    }
    return v;
}

std::optional<std::string> scalar_text(const Value* v) {
    if (!v) return std::nullopt;
    if (v->IsString()) return std::string(v->GetString(), v->GetStringLength());
    if (v->IsInt64()) return std::to_string(v->GetInt64());
    if (v->IsUint64()) return std::to_string(v->GetUint64());
    return std::nullopt;
}

std::string json_text(const Value& v) {
    if (v.IsBool()) return v.GetBool() ? "true" : "false";
    if (v.IsString()) return "\"" + std::string(v.GetString(), v.GetStringLength()) + "\"";
    if (v.IsInt64()) return std::to_string(v.GetInt64());
    if (v.IsNull()) return "null";
    return "?";
}

struct Site {
    const Value* code;
    const Value* container;
    std::string path;
    std::optional<std::string> star_member;  // member name when the last `*` was over an object
};

class Walker {
  public:
    Walker(const Pointer& pointer, Extraction& out) : pointer_(pointer), out_(out) {}

    void walk(const Value& v, std::size_t index, const Value* container, std::string& path,
              const std::optional<std::string>& star_member, std::vector<Site>& sites) {
        if (out_.failure) return;
        if (index == pointer_.segments.size()) {
            sites.push_back({&v, container, path, star_member});
            return;
        }
        const auto& segment = pointer_.segments[index];
        std::size_t mark = path.size();
        if (v.IsObject()) {
            if (segment.star) {
                check_unique_names(v, path);
                for (auto it = v.MemberBegin(); it != v.MemberEnd() && !out_.failure; ++it) {
                    path += '/';
                    path += escape_segment(name_of(it->name));
                    walk(it->value, index + 1, &v, path, std::string(name_of(it->name)), sites);
                    path.resize(mark);
                }
                return;
            }
            bool duplicate = false;
            const Value* child = find_member(v, segment.key, duplicate);
            if (duplicate) {
                out_.fail(DeadLetterReason::duplicate_key,
                          "key \"" + segment.key + "\" appears twice at " +
                              (path.empty() ? std::string("/") : path));
                return;
            }
            if (!child) return;
            path += '/';
            path += escape_segment(segment.key);
            walk(*child, index + 1, &v, path, std::nullopt, sites);
            path.resize(mark);
            return;
        }
        if (v.IsArray()) {
            for (rapidjson::SizeType i = 0; i < v.Size() && !out_.failure; ++i) {
                if (!segment.star && segment.key != std::to_string(i)) continue;
                path += '/';
                path += std::to_string(i);
                walk(v[i], index + 1, &v, path, std::nullopt, sites);
                path.resize(mark);
            }
        }
    }

  private:
    void check_unique_names(const Value& object, const std::string& path) {
        std::vector<std::string_view> names;
        names.reserve(object.MemberCount());
        for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
            names.push_back(name_of(it->name));
        }
        std::sort(names.begin(), names.end());
        auto dup = std::adjacent_find(names.begin(), names.end());
        if (dup != names.end()) {
            out_.fail(DeadLetterReason::duplicate_key,
                      "key \"" + std::string(*dup) + "\" appears twice at " + path);
        }
    }

    const Pointer& pointer_;
    Extraction& out_;
};

CodeValue classify(const Value& v, catalog::CodeStyle style) {
    if (v.IsString()) {
        CodeValue value = classify_code_text({v.GetString(), v.GetStringLength()}, style);
        // Quoted, so that "" and " 6813" stay visible in the dead letter's detail.
        if (value.type == CodeValue::Type::bad) {
            value.text = "\"" + value.text + "\", not " +
                         (style == catalog::CodeStyle::huawei ? "a Huawei code" : "an integer");
        }
        return value;
    }
    CodeValue value;
    if (style == catalog::CodeStyle::numeric && v.IsInt64()) {
        value.type = CodeValue::Type::integer;
        value.key = v.GetInt64();
        value.text = std::to_string(*value.key);
        return value;
    }
    value.type = CodeValue::Type::bad;
    if (v.IsBool()) {
        value.text = v.GetBool() ? "true" : "false";
    } else if (v.IsNull()) {
        value.text = "null";
    } else if (v.IsInt64()) {
        // Only reached for Huawei: numeric vendors took every int64 above.
        value.text = std::to_string(v.GetInt64()) + ", a number (Huawei codes are strings)";
    } else if (v.IsUint64()) {
        value.text = std::to_string(v.GetUint64()) + " (beyond int64)";
    } else if (v.IsNumber()) {
        value.text = "a fraction or exponent";
    } else if (v.IsObject()) {
        value.text = "an object";
    } else {
        value.text = "an array";
    }
    return value;
}

// Relative pointers resolve against the object holding the code, except when that object
// is a map of codes (`/errors/*`): its other members are codes, not attributes.
const Value* lookup(const Value& root, const Site& site, const Pointer& pointer) {
    if (!pointer.relative) return resolve(root, pointer);
    if (!site.container || !site.container->IsObject() || site.star_member) return nullptr;
    return resolve(*site.container, pointer);
}

bool starts_with_pointer(const Pointer& pointer, const Pointer& prefix) {
    if (pointer.relative || prefix.relative || pointer.segments.size() <= prefix.segments.size()) {
        return false;
    }
    for (std::size_t i = 0; i < prefix.segments.size(); ++i) {
        if (pointer.segments[i].star || pointer.segments[i].key != prefix.segments[i].key) {
            return false;
        }
    }
    return true;
}

void add_ids(const Value& root, const Site& site, const Rules& rules, const Value* element,
             Found& found) {
    for (const auto& rule : rules.ids) {
        for (const auto& pointer : rule.pointers) {
            const Value* v = nullptr;
            if (rules.fan_out && starts_with_pointer(pointer, *rules.fan_out)) {
                if (!element) {
                    v = lookup(root, site, pointer);
                } else {
                    Pointer rest;
                    rest.segments.assign(
                        pointer.segments.begin() +
                            static_cast<std::ptrdiff_t>(rules.fan_out->segments.size()),
                        pointer.segments.end());
                    v = resolve(*element, rest);
                }
            } else {
                v = lookup(root, site, pointer);
            }
            if (auto text = scalar_text(v)) {
                found.ids.emplace_back(rule.key, *text);
                break;
            }
        }
    }
}

}  // namespace

void extract_json(std::string_view payload, const Rules& rules, Extraction& out,
                  std::string& arena) {
    // A parsed document needs roughly 16 bytes per value plus the strings: size the first
    // block from the payload so typical messages never reach malloc inside RapidJSON.
    std::size_t wanted = std::max<std::size_t>(4096, payload.size() * 4);
    if (arena.size() < wanted && wanted <= (1u << 20)) arena.resize(wanted);
    rapidjson::MemoryPoolAllocator<> pool(arena.data(), arena.size());
    Document document(&pool);
    Parse parse{payload, rules.max_depth, false, false, {}};
    document.Populate(parse);
    if (parse.too_deep) {
        out.fail(DeadLetterReason::too_deep,
                 "nesting deeper than limits.max_depth = " + std::to_string(rules.max_depth));
        return;
    }
    if (parse.lone_surrogate) {
        // Same reason as RapidJSON's own verdict on a lone high surrogate.
        out.fail(DeadLetterReason::not_json,
                 "a \\u escape encodes a lone UTF-16 surrogate, which is not Unicode text (in "
                 "the string ending before byte " +
                     std::to_string(parse.result.Offset()) + ")");
        return;
    }
    if (parse.result.IsError()) {
        out.fail(DeadLetterReason::not_json,
                 std::string(rapidjson::GetParseError_En(parse.result.Code())) + " at byte " +
                     std::to_string(parse.result.Offset()));
        return;
    }
    if (!document.IsObject()) {
        out.fail(DeadLetterReason::not_object, "the root is not a JSON object");
        return;
    }
    const Value& root = document;

    std::vector<Site> sites;
    std::string path;
    for (const auto& pointer : rules.code) {
        Walker(pointer, out).walk(root, 0, nullptr, path, std::nullopt, sites);
        if (out.failure) return;
    }
    for (const auto& pointer : rules.message) {
        if (pointer.relative) continue;
        if (const Value* v = resolve(root, pointer); v && v->IsString()) {
            out.top_message = std::string(v->GetString(), v->GetStringLength());
            break;
        }
    }
    if (rules.request_id) out.request_id = scalar_text(resolve(root, *rules.request_id));
    if (rules.method) {
        const Value* v = resolve(root, *rules.method);
        if (v && v->IsString()) out.method = std::string(v->GetString(), v->GetStringLength());
    }
    if (rules.flag_pointer && rules.success_when) {
        if (const Value* v = resolve(root, *rules.flag_pointer)) {
            bool equal = json_text(*v) == rules.success_when->value_json;
            out.flag_success =
                rules.success_when->op == catalog::SuccessFlag::Op::equals ? equal : !equal;
        }
    }

    const Value* fan_out = rules.fan_out ? resolve(root, *rules.fan_out) : nullptr;
    bool fan = fan_out && fan_out->IsArray() && fan_out->Size() > 0;
    for (const auto& site : sites) {
        CodeValue code = classify(*site.code, rules.code_style);
        if (code.type == CodeValue::Type::bad) {
            out.fail(DeadLetterReason::bad_code, "code at " + site.path + " is " + code.text);
            return;
        }
        Found base;
        base.code = std::move(code);
        base.path = site.path;
        if (site.star_member) {
            base.tag = *site.star_member;
        } else if (rules.tag) {
            base.tag = scalar_text(lookup(root, site, *rules.tag));
        }
        for (const auto& pointer : rules.message) {
            const Value* v = lookup(root, site, pointer);
            if (v && v->IsString()) {
                base.vendor_message = std::string(v->GetString(), v->GetStringLength());
                break;
            }
        }
        if (!fan) {
            add_ids(root, site, rules, nullptr, base);
            out.codes.push_back(std::move(base));
            continue;
        }
        for (rapidjson::SizeType i = 0; i < fan_out->Size(); ++i) {
            Found each = base;
            each.element = rules.fan_out->text + "/" + std::to_string(i);
            add_ids(root, site, rules, &(*fan_out)[i], each);
            out.codes.push_back(std::move(each));
        }
    }
}

}  // namespace errbridge::core::detail
