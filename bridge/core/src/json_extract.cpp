// JSON payloads: parse with the depth limit enforced while parsing (RapidJSON 1.1 has
// none), then walk the code pointers, checking for duplicate keys on the way.
//
// RapidJSON's reader decides what is JSON and says why not (the dead letter's detail);
// its events go into a flat node array instead of a DOM, parsed in situ in a reused copy
// of the payload, so a message costs no allocation and no string copies.

// reader.h first, so internal/stack.h keeps the path tests/sanitize/ubsan.supp matches for
// RapidJSON 1.1's known null-stack pointer arithmetic (after en.h it is error/../internal).
// clang-format off
#include <rapidjson/reader.h>
#include <rapidjson/error/en.h>
// clang-format on

#include <algorithm>
#include <charconv>
#include <cstring>

#include "extract.h"

namespace errbridge::core::detail {
namespace {

using Type = JsonNode::Type;
constexpr std::uint32_t no_node = UINT32_MAX;

// Builds the node array while counting nesting; stops the parse (without recursion: the
// reader runs iteratively) once the limit is passed.
struct TapeHandler {
    JsonScratch& s;
    int max_depth;
    int depth = 0;
    bool too_deep = false;
    bool lone_surrogate = false;

    JsonNode& add(Type type) {
        JsonNode& n = s.nodes.emplace_back();
        n.type = type;
        n.end = static_cast<std::uint32_t>(s.nodes.size());
        return n;
    }
    void integer(std::int64_t value, bool fits_int64, std::uint64_t unsigned_value,
                 bool fits_uint64) {
        JsonNode& n = add(Type::integer);
        n.int64 = value;
        n.uint64 = unsigned_value;
        n.fits_int64 = fits_int64;
        n.fits_uint64 = fits_uint64;
        // Decimal text now, so ids and request ids can be views later.
        char digits[24];
        auto r = fits_int64 ? std::to_chars(digits, digits + sizeof digits, value)
                            : std::to_chars(digits, digits + sizeof digits, unsigned_value);
        n.number = static_cast<std::uint32_t>(s.numbers.size());
        n.size = static_cast<std::uint32_t>(r.ptr - digits);
        s.numbers.append(digits, n.size);
    }

    bool Null() {
        add(Type::null);
        return true;
    }
    bool Bool(bool b) {
        add(Type::boolean).boolean = b;
        return true;
    }
    bool Int(int i) { return Int64(i); }
    bool Uint(unsigned u) { return Uint64(u); }
    bool Int64(std::int64_t i) {
        integer(i, true, static_cast<std::uint64_t>(i), i >= 0);
        return true;
    }
    bool Uint64(std::uint64_t u) {
        integer(static_cast<std::int64_t>(u), u <= INT64_MAX, u, true);
        return true;
    }
    bool Double(double) {
        add(Type::number);
        return true;
    }
    bool RawNumber(const char*, rapidjson::SizeType, bool) { return false; }  // not requested
    bool String(const char* str, rapidjson::SizeType n, bool) {
        if (!unicode(str, n)) return false;
        JsonNode& node = add(Type::string);
        node.text = str;
        node.size = n;
        return true;
    }
    bool Key(const char* str, rapidjson::SizeType n, bool copy) { return String(str, n, copy); }
    // RapidJSON refuses a lone high-surrogate escape (\ud800) but decodes a lone low one
    // (\udc00) into ED B0 80: bytes that are not UTF-8 and would reach events, topics and
    // user properties. The raw bytes were validated before parsing, so a surrogate here
    // (ED A0..BF) can only come from an escape.
    bool unicode(const char* str, rapidjson::SizeType n) {
        const char* end = str + n;
        for (const char* p = str; (p = static_cast<const char*>(std::memchr(p, 0xED, end - p)));
             ++p) {
            if (p + 1 < end && static_cast<unsigned char>(p[1]) >= 0xA0) {
                lone_surrogate = true;
                return false;
            }
        }
        return true;
    }
    bool StartObject() { return open(Type::object); }
    bool EndObject(rapidjson::SizeType n) { return close(n); }
    bool StartArray() { return open(Type::array); }
    bool EndArray(rapidjson::SizeType n) { return close(n); }
    bool open(Type type) {
        if (++depth > max_depth) {
            too_deep = true;
            return false;
        }
        s.open.push_back(static_cast<std::uint32_t>(s.nodes.size()));
        add(type);
        return true;
    }
    bool close(rapidjson::SizeType n) {
        --depth;
        JsonNode& node = s.nodes[s.open.back()];
        s.open.pop_back();
        node.size = n;
        node.end = static_cast<std::uint32_t>(s.nodes.size());
        return true;
    }
};

void append_segment(std::string& path, std::string_view key) {
    path += '/';
    for (char c : key) {
        if (c == '~') {
            path += "~0";
        } else if (c == '/') {
            path += "~1";
        } else {
            path += c;
        }
    }
}

void append_index(std::string& path, std::uint32_t index) {
    char digits[16];
    auto r = std::to_chars(digits, digits + sizeof digits, index);
    path += '/';
    path.append(digits, r.ptr);
}

// A `*`-free segment that addresses array element `index`.
bool is_index(const std::string& key, std::uint32_t index) {
    char digits[16];
    auto r = std::to_chars(digits, digits + sizeof digits, index);
    return std::string_view(digits, static_cast<std::size_t>(r.ptr - digits)) == key;
}

class Doc {
  public:
    Doc(const JsonScratch& s) : nodes_(s.nodes), numbers_(s.numbers) {}

    const JsonNode& operator[](std::uint32_t i) const { return nodes_[i]; }
    bool is_object(std::uint32_t i) const { return nodes_[i].type == Type::object; }
    bool is_array(std::uint32_t i) const { return nodes_[i].type == Type::array; }
    std::string_view string(std::uint32_t i) const { return {nodes_[i].text, nodes_[i].size}; }
    std::string_view number_text(std::uint32_t i) const {
        return std::string_view(numbers_).substr(nodes_[i].number, nodes_[i].size);
    }

    // Members: `key` is a member's name node, its value follows at key + 1.
    std::uint32_t first(std::uint32_t container) const { return container + 1; }
    std::uint32_t next_member(std::uint32_t key) const { return nodes_[key + 1].end; }
    std::uint32_t next_element(std::uint32_t element) const { return nodes_[element].end; }
    std::uint32_t end(std::uint32_t container) const { return nodes_[container].end; }

    // The member named `key`; reports a duplicate instead of silently picking one.
    std::uint32_t find_member(std::uint32_t object, std::string_view key, bool& duplicate) const {
        std::uint32_t found = no_node;
        for (std::uint32_t k = first(object); k < end(object); k = next_member(k)) {
            if (string(k) != key) continue;
            if (found != no_node) {
                duplicate = true;
                return no_node;
            }
            found = k + 1;
        }
        return found;
    }

    std::uint32_t element(std::uint32_t array, std::uint32_t index) const {
        std::uint32_t e = first(array);
        for (std::uint32_t i = 0; i < index; ++i)
            e = next_element(e);
        return e;
    }

    std::uint32_t resolve(std::uint32_t start, const Pointer& pointer) const {
        std::uint32_t v = start;
        for (const auto& segment : pointer.segments) {
            if (segment.star) return no_node;
            if (is_object(v)) {
                bool duplicate = false;
                v = find_member(v, segment.key, duplicate);
                if (v == no_node) return no_node;
            } else if (is_array(v)) {
                const std::string& key = segment.key;
                if (key.empty() || key.size() > 9 ||
                    !std::all_of(key.begin(), key.end(),
                                 [](char c) { return c >= '0' && c <= '9'; })) {
                    return no_node;
                }
                std::uint32_t index = 0;
                std::from_chars(key.data(), key.data() + key.size(), index);
                if (index >= nodes_[v].size) return no_node;
                v = element(v, index);
            } else {
                return no_node;
            }
        }
        return v;
    }

    std::optional<std::string_view> scalar_text(std::uint32_t v) const {
        if (v == no_node) return std::nullopt;
        const JsonNode& n = nodes_[v];
        if (n.type == Type::string) return string(v);
        if (n.type == Type::integer) return number_text(v);
        return std::nullopt;
    }

    std::optional<std::string_view> string_at(std::uint32_t v) const {
        if (v == no_node || nodes_[v].type != Type::string) return std::nullopt;
        return string(v);
    }

    // As written in a success_when value: compared textually.
    void json_text(std::uint32_t v, std::string& out) const {
        const JsonNode& n = nodes_[v];
        switch (n.type) {
            case Type::boolean:
                out = n.boolean ? "true" : "false";
                return;
            case Type::string:
                out = '"';
                out += string(v);
                out += '"';
                return;
            case Type::integer:
                out = n.fits_int64 ? number_text(v) : "?";
                return;
            case Type::null:
                out = "null";
                return;
            default:
                out = "?";
        }
    }

  private:
    const std::vector<JsonNode>& nodes_;
    const std::string& numbers_;
};

class Walker {
  public:
    Walker(const Doc& doc, const Pointer& pointer, std::size_t index, JsonScratch& s,
           Extraction& out)
        : doc_(doc), pointer_(pointer), index_(index), s_(s), out_(out) {}

    void walk(std::uint32_t v, std::size_t index, std::uint32_t container,
              std::optional<std::string_view> star_member) {
        if (out_.failure) return;
        std::string& path = s_.path;
        if (index == pointer_.segments.size()) {
            s_.sites.push_back({v, container, index_, path, star_member});
            return;
        }
        const auto& segment = pointer_.segments[index];
        std::size_t mark = path.size();
        if (doc_.is_object(v)) {
            if (segment.star) {
                check_unique_names(v);
                for (std::uint32_t k = doc_.first(v); k < doc_.end(v) && !out_.failure;
                     k = doc_.next_member(k)) {
                    append_segment(path, doc_.string(k));
                    walk(k + 1, index + 1, v, doc_.string(k));
                    path.resize(mark);
                }
                return;
            }
            bool duplicate = false;
            std::uint32_t child = doc_.find_member(v, segment.key, duplicate);
            if (duplicate) {
                out_.fail(DeadLetterReason::duplicate_key,
                          "key \"" + segment.key + "\" appears twice at " +
                              (path.empty() ? std::string("/") : path));
                return;
            }
            if (child == no_node) return;
            append_segment(path, segment.key);
            walk(child, index + 1, v, std::nullopt);
            path.resize(mark);
            return;
        }
        if (doc_.is_array(v)) {
            std::uint32_t e = doc_.first(v);
            for (std::uint32_t i = 0; e < doc_.end(v) && !out_.failure;
                 ++i, e = doc_.next_element(e)) {
                if (!segment.star && !is_index(segment.key, i)) continue;
                append_index(path, i);
                walk(e, index + 1, v, std::nullopt);
                path.resize(mark);
            }
        }
    }

  private:
    void check_unique_names(std::uint32_t object) {
        auto& names = s_.names;
        names.clear();
        for (std::uint32_t k = doc_.first(object); k < doc_.end(object); k = doc_.next_member(k)) {
            names.push_back(doc_.string(k));
        }
        std::sort(names.begin(), names.end());
        auto dup = std::adjacent_find(names.begin(), names.end());
        if (dup != names.end()) {
            out_.fail(DeadLetterReason::duplicate_key,
                      "key \"" + std::string(*dup) + "\" appears twice at " + s_.path);
        }
    }

    const Doc& doc_;
    const Pointer& pointer_;
    std::size_t index_;
    JsonScratch& s_;
    Extraction& out_;
};

CodeValue classify(const Doc& doc, std::uint32_t v, catalog::CodeStyle style) {
    const JsonNode& n = doc[v];
    if (n.type == Type::string) {
        CodeValue value = classify_code_text(doc.string(v), style);
        // Quoted, so that "" and " 6813" stay visible in the dead letter's detail.
        if (value.type == CodeValue::Type::bad) {
            value.text = "\"" + value.text + "\", not " +
                         (style == catalog::CodeStyle::huawei ? "a Huawei code" : "an integer");
        }
        return value;
    }
    CodeValue value;
    if (style == catalog::CodeStyle::numeric && n.type == Type::integer && n.fits_int64) {
        value.type = CodeValue::Type::integer;
        value.key = n.int64;
        value.text = doc.number_text(v);
        return value;
    }
    value.type = CodeValue::Type::bad;
    switch (n.type) {
        case Type::boolean:
            value.text = n.boolean ? "true" : "false";
            break;
        case Type::null:
            value.text = "null";
            break;
        case Type::integer:
            value.text = doc.number_text(v);
            // Only reached for Huawei when it fits int64: numeric vendors took those above.
            value.text +=
                n.fits_int64 ? ", a number (Huawei codes are strings)" : " (beyond int64)";
            break;
        case Type::number:
            value.text = "a fraction or exponent";
            break;
        case Type::object:
            value.text = "an object";
            break;
        default:
            value.text = "an array";
    }
    return value;
}

// Relative pointers resolve against the object holding the code, except when that object
// is a map of codes (`/errors/*`): its other members are codes, not attributes.
std::uint32_t lookup(const Doc& doc, const JsonSite& site, const Pointer& pointer) {
    if (!pointer.relative) return doc.resolve(0, pointer);
    if (site.container == no_node || !doc.is_object(site.container) || site.star_member) {
        return no_node;
    }
    return doc.resolve(site.container, pointer);
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

void add_ids(const Doc& doc, const JsonSite& site, const Rules& rules, std::uint32_t element,
             Found& found) {
    for (const auto& rule : rules.ids) {
        for (const auto& pointer : rule.pointers) {
            std::uint32_t v = no_node;
            if (rules.fan_out && starts_with_pointer(pointer, *rules.fan_out)) {
                if (element == no_node) {
                    v = lookup(doc, site, pointer);
                } else {
                    Pointer rest;
                    rest.segments.assign(
                        pointer.segments.begin() +
                            static_cast<std::ptrdiff_t>(rules.fan_out->segments.size()),
                        pointer.segments.end());
                    v = doc.resolve(element, rest);
                }
            } else {
                v = lookup(doc, site, pointer);
            }
            if (auto text = doc.scalar_text(v)) {
                found.ids.emplace_back(rule.key, *text);
                break;
            }
        }
    }
}

// The same code under two spellings of its key in one object (Huawei's `error_code` and
// `errorCode`) is one error reported twice, not two errors. Different codes stay apart.
bool repeats_earlier_key(const Doc& doc, const std::vector<JsonSite>& sites, std::size_t at,
                         const CodeValue& code, catalog::CodeStyle style) {
    const JsonSite& site = sites[at];
    if (site.star_member || site.container == no_node) return false;
    for (std::size_t i = 0; i < at; ++i) {
        const JsonSite& other = sites[i];
        if (other.pointer != site.pointer && !other.star_member &&
            other.container == site.container &&
            classify(doc, other.code, style).text == code.text) {
            return true;
        }
    }
    return false;
}

}  // namespace

void extract_json(std::string_view payload, const Rules& rules, Extraction& out, JsonScratch& s) {
    s.text.assign(payload);  // the terminating NUL ends the in-situ stream
    s.numbers.clear();
    s.nodes.clear();
    s.open.clear();
    s.sites.clear();
    s.path.clear();
    TapeHandler handler{s, rules.max_depth, 0, false, false};
    rapidjson::InsituStringStream stream(s.text.data());
    // As RapidJSON's UTF-8 memory stream did: a byte order mark is skipped (byte by byte,
    // so error offsets still count it).
    for (unsigned bom : {0xEFu, 0xBBu, 0xBFu}) {
        if (static_cast<unsigned char>(stream.Peek()) == bom) stream.Take();
    }
    // Iterative: no recursion, whatever the nesting. UTF-8 was validated before.
    rapidjson::ParseResult result =
        s.reader.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseInsituFlag>(stream,
                                                                                     handler);
    if (handler.too_deep) {
        out.fail(DeadLetterReason::too_deep,
                 "nesting deeper than limits.max_depth = " + std::to_string(rules.max_depth));
        return;
    }
    if (handler.lone_surrogate) {
        // Same reason as RapidJSON's own verdict on a lone high surrogate.
        out.fail(DeadLetterReason::not_json,
                 "a \\u escape encodes a lone UTF-16 surrogate, which is not Unicode text (in "
                 "the string ending before byte " +
                     std::to_string(result.Offset()) + ")");
        return;
    }
    if (result.IsError()) {
        out.fail(DeadLetterReason::not_json,
                 std::string(rapidjson::GetParseError_En(result.Code())) + " at byte " +
                     std::to_string(result.Offset()));
        return;
    }
    const Doc doc(s);
    if (!doc.is_object(0)) {
        out.fail(DeadLetterReason::not_object, "the root is not a JSON object");
        return;
    }

    for (std::size_t i = 0; i < rules.code.size(); ++i) {
        Walker(doc, rules.code[i], i, s, out).walk(0, 0, no_node, std::nullopt);
        if (out.failure) return;
    }
    for (const auto& pointer : rules.message) {
        if (pointer.relative) continue;
        if (auto text = doc.string_at(doc.resolve(0, pointer))) {
            out.top_message = text;
            break;
        }
    }
    if (rules.request_id) out.request_id = doc.scalar_text(doc.resolve(0, *rules.request_id));
    if (rules.method) out.method = doc.string_at(doc.resolve(0, *rules.method));
    if (rules.flag_pointer && rules.success_when) {
        if (std::uint32_t v = doc.resolve(0, *rules.flag_pointer); v != no_node) {
            std::string text;
            doc.json_text(v, text);
            bool equal = text == rules.success_when->value_json;
            out.flag_success =
                rules.success_when->op == catalog::SuccessFlag::Op::equals ? equal : !equal;
        }
    }

    std::uint32_t fan_out = rules.fan_out ? doc.resolve(0, *rules.fan_out) : no_node;
    bool fan = fan_out != no_node && doc.is_array(fan_out) && doc[fan_out].size > 0;
    for (std::size_t at = 0; at < s.sites.size(); ++at) {
        const JsonSite& site = s.sites[at];
        CodeValue code = classify(doc, site.code, rules.code_style);
        if (code.type == CodeValue::Type::bad) {
            out.fail(DeadLetterReason::bad_code, "code at " + site.path + " is " + code.text);
            return;
        }
        // Checked after classifying, so a bad spelling is still a dead letter.
        if (repeats_earlier_key(doc, s.sites, at, code, rules.code_style)) continue;
        Found& base = out.codes.emplace_back();
        base.code = std::move(code);
        base.path = site.path;
        if (site.star_member) {
            base.tag = site.star_member;
        } else if (rules.tag) {
            base.tag = doc.scalar_text(lookup(doc, site, *rules.tag));
        }
        for (const auto& pointer : rules.message) {
            if (auto text = doc.string_at(lookup(doc, site, pointer))) {
                base.vendor_message = text;
                break;
            }
        }
        if (!fan) {
            add_ids(doc, site, rules, no_node, base);
            continue;
        }
        // One event per sub-device: the base entry becomes the first element's.
        const Found prototype = std::move(base);
        out.codes.pop_back();
        std::uint32_t e = doc.first(fan_out);
        for (std::uint32_t i = 0; i < doc[fan_out].size; ++i, e = doc.next_element(e)) {
            Found& each = out.codes.emplace_back(prototype);
            each.element = rules.fan_out->text + "/" + std::to_string(i);
            add_ids(doc, site, rules, e, each);
        }
    }
}

}  // namespace errbridge::core::detail
