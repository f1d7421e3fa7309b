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

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "extract.h"
#include "json_out.h"

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

    JsonNode& add(Type type) { return s.add_node(type); }
    void integer(std::int64_t value, bool fits_int64, std::uint64_t unsigned_value) {
        JsonNode& n = add(Type::integer);
        n.int64 = value;
        n.fits_int64 = fits_int64;
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
        integer(i, true, static_cast<std::uint64_t>(i));
        return true;
    }
    bool Uint64(std::uint64_t u) {
        integer(static_cast<std::int64_t>(u), u <= INT64_MAX, u);
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
        s.open.push_back(s.count);
        add(type);
        return true;
    }
    bool close(rapidjson::SizeType n) {
        --depth;
        JsonNode& node = s.nodes[s.open.back()];
        s.open.pop_back();
        node.size = n;
        node.end = s.count;
        return true;
    }
};

// The common payload without RapidJSON: the same node array, built in one pass over the
// payload with strings as views into it. It accepts only what it can mirror exactly — no
// escapes in strings, integers of at most 18 digits, fractions without an exponent, no
// byte order mark, nesting within the limit — and says false for anything else, valid or
// not; the caller then parses with RapidJSON, whose verdict and error text stay the
// reference for every other input.
class FastTape {
  public:
    // `hash` is continued over the payload as the parse goes (see hash()).
    FastTape(std::string_view payload, int max_depth, JsonScratch& s, std::uint64_t hash)
        : p_(payload.data()),
          end_(payload.data() + payload.size()),
          max_depth_(max_depth),
          s_(s),
          hash_(hash),
          hashed_(payload.data()) {}

    // Whether a string may hold a byte above 0x7F. Everything else a successful build() reads
    // is ASCII (its grammar admits nothing else) and it refuses NUL, so after one without
    // such bytes the payload is known to be UTF-8 without a check of its own.
    bool saw_non_ascii() const { return non_ascii_ != 0; }

    // FNV-1a of the whole payload, continued from the hash given to the constructor.
    std::uint64_t hash() {
        hash_ = fnv1a64(std::string_view(hashed_, static_cast<std::size_t>(end_ - hashed_)), hash_);
        hashed_ = end_;
        return hash_;
    }

    bool build() {
        s_.count = 0;
        s_.open.clear();
        s_.numbers.clear();
        // Each state is a label; `value` expects a value, `member` a key (or `}` right after
        // `{`), `after` what may follow a finished value.
    value:
        skip_blanks();
        if (p_ == end_) return false;
        switch (*p_) {
            case '{':
                if (!open(Type::object)) return false;
                skip_blanks();
                if (p_ < end_ && *p_ == '}') {
                    ++p_;
                    close();
                    goto after;
                }
                goto member;
            case '[':
                if (!open(Type::array)) return false;
                skip_blanks();
                if (p_ < end_ && *p_ == ']') {
                    ++p_;
                    close();
                    goto after;
                }
                goto value;
            case '"':
                if (!string()) return false;
                goto after;
            case 't':
                if (!word("true", 4)) return false;
                add(Type::boolean).boolean = true;
                goto after;
            case 'f':
                if (!word("false", 5)) return false;
                add(Type::boolean);
                goto after;
            case 'n':
                if (!word("null", 4)) return false;
                add(Type::null);
                goto after;
            default:
                if (!number()) return false;
                goto after;
        }
    member:
        skip_blanks();
        if (p_ == end_ || *p_ != '"' || !string()) return false;
        skip_blanks();
        if (p_ == end_ || *p_ != ':') return false;
        ++p_;
        goto value;
    after:
        hash_to(p_);
        skip_blanks();
        if (s_.open.empty()) return p_ == end_;
        if (p_ == end_) return false;
        {
            JsonNode& container = s_.nodes[s_.open.back()];
            ++container.size;  // the value just finished is one more member or element
            bool object = container.type == Type::object;
            if (*p_ == ',') {
                ++p_;
                if (object) goto member;
                goto value;
            }
            if (*p_ != (object ? '}' : ']')) return false;
            ++p_;
            close();
            goto after;
        }
    }

  private:
    JsonNode& add(Type type) { return s_.add_node(type); }
    bool open(Type type) {
        if (++depth_ > max_depth_) return false;  // RapidJSON's pass reports too_deep
        s_.open.push_back(s_.count);
        add(type);
        ++p_;
        return true;
    }
    // As TapeHandler::close; `size` was counted on the way.
    void close() {
        --depth_;
        JsonNode& node = s_.nodes[s_.open.back()];
        s_.open.pop_back();
        node.end = s_.count;
    }
    void skip_blanks() {
        while (p_ < end_ && static_cast<unsigned char>(*p_) <= ' ' &&
               (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) {
            ++p_;
        }
    }
    bool word(const char* text, std::size_t n) {
        if (static_cast<std::size_t>(end_ - p_) < n || std::memcmp(p_, text, n) != 0) return false;
        p_ += n;
        return true;
    }
    // A string without escapes or control characters, as a view into the payload (whose
    // UTF-8 was checked before parsing).
    [[gnu::always_inline]] bool string() {
        const char* start = ++p_;
        // A string ends at its `"`; `\` or a control character sends it to RapidJSON. Those
        // are exactly the bytes the escaper looks for.
        std::size_t at = 16;
        while (end_ - p_ >= 16) {
            note_non_ascii(p_);
            at = first_to_escape(p_);
            if (at < 16) break;
            p_ += 16;
        }
        if (at == 16) {
            // The last bytes through a block padded with `"`: a stop is always found, and
            // one in the padding means the string is not closed.
            char block[16];
            std::memset(block, '"', sizeof block);
            auto rest = static_cast<std::size_t>(end_ - p_);
            copy_short(block, p_, rest);
            note_non_ascii(block);
            at = first_to_escape(block);
            if (at >= rest) return false;
        }
        p_ += at;
        if (*p_ != '"') return false;
        JsonNode& node = add(Type::string);
        node.text = start;
        node.size = static_cast<std::uint32_t>(p_ - start);
        ++p_;
        return true;
    }
    // RapidJSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?; integers exact within 18 digits.
    bool number() {
        const char* start = p_;
        bool minus = *p_ == '-';
        if (minus) ++p_;
        const char* digits = p_;
        if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
        std::int64_t value = 0;
        if (*p_ == '0') {
            ++p_;
        } else {
            while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
                if (p_ - digits == 18) return false;  // may not fit: RapidJSON decides
                value = value * 10 + (*p_++ - '0');
            }
        }
        if (p_ < end_ && *p_ >= '0' && *p_ <= '9') return false;  // a leading zero
        if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) return false;
        if (p_ < end_ && *p_ == '.') {
            ++p_;
            const char* fraction = p_;
            while (p_ < end_ && *p_ >= '0' && *p_ <= '9')
                ++p_;
            if (p_ == fraction) return false;
            if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) return false;
            add(Type::number);  // as TapeHandler::Double: the value is not kept
            return true;
        }
        if (minus) value = -value;
        // As TapeHandler::integer after RapidJSON's Int/Uint/Int64/Uint64.
        JsonNode& n = add(Type::integer);
        n.int64 = value;
        n.fits_int64 = true;
        n.number = static_cast<std::uint32_t>(s_.numbers.size());
        if (value == 0) {
            s_.numbers += '0';  // "-0" too, as to_chars writes it
        } else {
            s_.numbers.append(start, p_);
        }
        n.size = static_cast<std::uint32_t>(s_.numbers.size() - n.number);
        return true;
    }

    // The 16 bytes at `s` (string bytes, or payload bytes after the string): any high bit.
    void note_non_ascii(const char* s) {
#if defined(__SSE2__)
        non_ascii_ |= static_cast<unsigned>(
            _mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s))));
#else
        std::uint64_t words[2];
        std::memcpy(words, s, 16);
        non_ascii_ |= ((words[0] | words[1]) & 0x8080808080808080ULL) != 0;
#endif
    }

    // The id hash advances with the parse, a value at a time: its multiply chain (4 cycles a
    // byte) then runs alongside the parsing instead of before it.
    // Whole groups of 8 bytes only, so a call with less to do costs a compare; hash()
    // finishes the rest.
    void hash_to(const char* to) {
        constexpr std::uint64_t prime = 0x100000001b3ULL;
        for (; to - hashed_ >= 8; hashed_ += 8) {
            const auto* b = reinterpret_cast<const unsigned char*>(hashed_);
            hash_ = (hash_ ^ b[0]) * prime;
            hash_ = (hash_ ^ b[1]) * prime;
            hash_ = (hash_ ^ b[2]) * prime;
            hash_ = (hash_ ^ b[3]) * prime;
            hash_ = (hash_ ^ b[4]) * prime;
            hash_ = (hash_ ^ b[5]) * prime;
            hash_ = (hash_ ^ b[6]) * prime;
            hash_ = (hash_ ^ b[7]) * prime;
        }
    }

    const char* p_;
    const char* end_;
    int max_depth_;
    int depth_ = 0;
    JsonScratch& s_;
    std::uint64_t hash_;
    const char* hashed_;
    unsigned non_ascii_ = 0;
};

void append_segment(std::string& path, std::string_view key) {
    path += '/';
    if (std::none_of(key.begin(), key.end(), [](char c) { return c == '~' || c == '/'; })) {
        path.append(key);
        return;
    }
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

// Marks a root key that appears twice (Doc::root_member).
constexpr std::uint32_t duplicate_node = UINT32_MAX - 1;

class Doc {
  public:
    Doc(const JsonScratch& s) : nodes_(s.nodes), numbers_(s.numbers), root_(s.root) {}

    // One pass over the root object's members for every key in `keys`: `root` gets, per
    // key, its value node, no_node when absent or duplicate_node when it appears twice
    // (what find_member reports). The root must be an object.
    static void index_root(const JsonScratch& s, const Rules& rules,
                           std::vector<std::uint32_t>& root) {
        const auto& keys = rules.root_keys;
        const auto& start = rules.root_key_start;
        root.assign(keys.size(), no_node);
        const auto& nodes = s.nodes;
        for (std::uint32_t k = 1; k < nodes[0].end; k = nodes[k + 1].end) {
            std::string_view name(nodes[k].text, nodes[k].size);
            // Only the keys of this length (see Rules::root_key_start).
            std::size_t from = name.size() <= 32 ? start[name.size()] : start[33];
            std::size_t to = name.size() <= 32 ? start[name.size() + 1] : keys.size();
            for (std::size_t i = from; i < to; ++i) {
                if (keys[i].size() != name.size() ||
                    (!name.empty() && (keys[i][0] != name[0] ||
                                       std::memcmp(keys[i].data(), name.data(), name.size())))) {
                    continue;
                }
                root[i] = root[i] == no_node ? k + 1 : duplicate_node;
            }
        }
    }
    // find_member(0, the pointer's first key) from the index.
    std::uint32_t root_member(const Pointer& pointer, bool& duplicate) const {
        std::uint32_t v = root_[static_cast<std::size_t>(pointer.root_slot)];
        if (v == duplicate_node) {
            duplicate = true;
            return no_node;
        }
        return v;
    }

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
        auto segment_at = pointer.segments.begin();
        if (start == 0 && pointer.root_slot >= 0) {
            bool duplicate = false;
            v = root_member(pointer, duplicate);
            if (v == no_node) return no_node;
            ++segment_at;
        }
        for (; segment_at != pointer.segments.end(); ++segment_at) {
            const auto& segment = *segment_at;
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
    const std::vector<std::uint32_t>& root_;
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
            std::uint32_t child = v == 0 && index == 0 && pointer_.root_slot >= 0
                                      ? doc_.root_member(pointer_, duplicate)
                                      : doc_.find_member(v, segment.key, duplicate);
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

void add_ids(const Doc& doc, const JsonSite& site, const Rules& rules, std::uint32_t element,
             Found& found) {
    for (const auto& rule : rules.ids) {
        for (std::size_t i = 0; i < rule.pointers.size(); ++i) {
            const std::optional<Pointer>& rest = rule.within_fan_out[i];
            std::uint32_t v = rest && element != no_node ? doc.resolve(element, *rest)
                                                         : lookup(doc, site, rule.pointers[i]);
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

// RapidJSON's pass: the reference for whatever FastTape declines, and the source of every
// verdict and error text. False when it leaves a dead letter in `out`.
bool parse_with_rapidjson(std::string_view payload, const Rules& rules, Extraction& out,
                          JsonScratch& s) {
    s.text.assign(payload);  // the terminating NUL ends the in-situ stream
    s.numbers.clear();
    s.count = 0;
    s.open.clear();
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
        return false;
    }
    if (handler.lone_surrogate) {
        // Same reason as RapidJSON's own verdict on a lone high surrogate.
        out.fail(DeadLetterReason::not_json,
                 "a \\u escape encodes a lone UTF-16 surrogate, which is not Unicode text (in "
                 "the string ending before byte " +
                     std::to_string(result.Offset()) + ")");
        return false;
    }
    if (result.IsError()) {
        out.fail(DeadLetterReason::not_json,
                 std::string(rapidjson::GetParseError_En(result.Code())) + " at byte " +
                     std::to_string(result.Offset()));
        return false;
    }
    return true;
}

}  // namespace

void extract_json(std::string_view payload, const Rules& rules, Extraction& out, JsonScratch& s,
                  std::uint64_t& hash) {
    s.sites.clear();
    s.path.clear();
    FastTape fast(payload, rules.max_depth, s, hash);
    out.plain_texts = fast.build();
    hash = fast.hash();
    // SPEC §7's UTF-8 check (before any JSON verdict), unless the fast pass proved it.
    if ((!out.plain_texts || fast.saw_non_ascii()) && !valid_utf8(payload)) {
        out.fail(DeadLetterReason::bad_utf8, "the payload is not UTF-8 text (or contains NUL)");
        return;
    }
    if (!out.plain_texts && !parse_with_rapidjson(payload, rules, out, s)) return;
    const Doc doc(s);
    if (!doc.is_object(0)) {
        out.fail(DeadLetterReason::not_object, "the root is not a JSON object");
        return;
    }
    Doc::index_root(s, rules, s.root);

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
