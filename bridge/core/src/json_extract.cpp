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
#include "text.h"

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
        // Decimal text now, so ids and request ids can be views later (`text` is set once
        // the parse is over and `numbers` no longer moves).
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

// Marks a root key that appears twice (Doc::root_member).
constexpr std::uint32_t duplicate_node = UINT32_MAX - 1;

// Doc::index_root for a member name longer than 16 bytes, where prints are not enough.
[[gnu::noinline]] void index_long_member(const Rules& rules, std::uint32_t* slot, const char* name,
                                         std::size_t n, std::uint32_t value) {
    const std::size_t* start = rules.root_key_start.data();
    std::size_t from = n <= 32 ? start[n] : start[33];
    std::size_t to = n <= 32 ? start[n + 1] : rules.root_keys.size();
    for (std::size_t i = from; i < to; ++i) {
        const std::string& key = rules.root_keys[i];
        if (key.size() != n || std::memcmp(key.data(), name, n) != 0) continue;
        slot[i] = slot[i] == no_node ? value : duplicate_node;
    }
}

// Every slot no_node, keeping the memory.
void clear_root(std::vector<std::uint32_t>& root, std::size_t keys) {
    root.resize(keys);
    std::fill(root.begin(), root.end(), no_node);
}

// The common payload without RapidJSON: the same node array, built in one pass over the
// payload with strings (and integers' decimal text) as views into it. It accepts only what
// it can mirror exactly — no escapes in strings, integers of at most 18 digits, fractions
// without an exponent, no byte order mark, nesting within the limit — and says false for
// anything else, valid or not; the caller then parses with RapidJSON, whose verdict and
// error text stay the reference for every other input.
class FastTape {
  public:
    FastTape(std::string_view payload, const Rules& rules, JsonScratch& s)
        : payload_(payload), rules_(rules), s_(s) {}

    // Whether a string may hold a byte above 0x7F. Everything else a successful build() reads
    // is ASCII (its grammar admits nothing else) and it refuses NUL, so after one without
    // such bytes the payload is known to be UTF-8 without a check of its own.
    bool saw_non_ascii() const { return non_ascii_ != 0; }

    // The whole parse keeps its state in locals, which the compiler holds in registers: as
    // members they were stored and reloaded around every node written (a node's one-byte
    // type may alias anything). The open containers keep theirs in their own nodes, so the
    // registers hold little more than the position and the next free node.
    bool build() {
        const char* p = payload_.data();
        const char* const end = p + payload_.size();
        JsonNode* nodes = s_.nodes.data();
        JsonNode* free = nodes;  // nodes[count]
        JsonNode* limit = nodes + s_.nodes.size();
        std::uint32_t count = 0;
        // The innermost open container, or `outside` around the root value. While a
        // container is open, its `number` (unused for containers) holds its parent's node
        // and its `int64` its depth; `size` counts its members or elements so far.
        JsonNode outside;
        outside.type = Type::array;
        JsonNode* top = &outside;
        const int max_depth = rules_.max_depth;
        unsigned non_ascii = 0;
        bool ok = false;

        // The next byte after blanks (not consumed), or end_of_input.
        auto next = [&]() __attribute__((always_inline))->int {
            while (p < end) {
                auto c = static_cast<unsigned char>(*p);
                if (c > ' ' || (c != ' ' && c != '\n' && c != '\r' && c != '\t')) return c;
                ++p;
            }
            return end_of_input;
        };
        // Whether the next byte after blanks is `c` (not consumed); compact JSON has no
        // blanks, and is answered without the loop.
        auto expect = [&](char c) __attribute__((always_inline)) {
            if (p < end && *p == c) return true;
            return next() == static_cast<unsigned char>(c);
        };
        // A node whose members the caller sets: only those its type has (see JsonNode), the
        // others are never read.
        auto add = [&](Type type) __attribute__((always_inline))->JsonNode& {
            if (free == limit) {
                // `outside` is not in the array: only a node of it has an index.
                const bool inside = top != &outside;
                const std::size_t at = inside ? static_cast<std::size_t>(top - nodes) : 0;
                nodes = grow(s_);
                free = nodes + count;
                limit = nodes + s_.nodes.size();
                if (inside) top = nodes + at;
            }
            JsonNode& n = *free++;
            n.type = type;
            n.end = ++count;
            return n;
        };
        auto open = [&](Type type) __attribute__((always_inline)) {
            const std::int64_t depth = top->int64 + 1;
            if (depth > max_depth) return false;  // RapidJSON's pass reports too_deep
            const std::uint32_t parent =
                top == &outside ? no_node : static_cast<std::uint32_t>(top - nodes);
            JsonNode& n = add(type);
            n.size = 0;
            n.number = parent;
            n.int64 = depth;
            top = &n;
            ++p;
            return true;
        };
        // The 16 bytes at `s` (string bytes, or payload bytes after the string): any high bit.
        auto note_non_ascii = [&](const char* s) __attribute__((always_inline)) {
#if defined(__SSE2__)
            non_ascii |= static_cast<unsigned>(
                _mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s))));
#else
            std::uint64_t words[2];
            std::memcpy(words, s, 16);
            non_ascii |= ((words[0] | words[1]) & 0x8080808080808080ULL) != 0;
#endif
        };
        // Before this, a whole block of 16 bytes fits before the payload's end (one compare
        // instead of computing the bytes left); the payload's start when none does.
        const char* const last_block_end = payload_.size() >= 16 ? end - 15 : payload_.data();
        // A string without escapes or control characters, as a view into the payload (whose
        // UTF-8 is checked apart).
        auto string = [&]() __attribute__((always_inline)) {
            const char* start = ++p;
            // A string ends at its `"`; `\` or a control character sends it to RapidJSON.
            // Those are exactly the bytes the escaper looks for.
            unsigned stops;
            while (true) {
                if (p >= last_block_end) {
                    auto rest = static_cast<std::size_t>(end - p);
                    if (payload_.size() >= 16) {
                        // The payload's last 16 bytes, whose first 16 - rest were seen
                        // already: a stop among them is shifted out.
                        note_non_ascii(end - 16);
                        stops = escape_mask(end - 16) >> (16 - rest);
                    } else {
                        // Through a block padded with `"`: a stop in the padding means the
                        // string is not closed.
                        char block[16];
                        std::memset(block, '"', sizeof block);
                        copy_short(block, p, rest);
                        note_non_ascii(block);
                        stops = escape_mask(block) & ((1u << rest) - 1);
                    }
                    if (stops == 0) return false;  // not closed
                    break;
                }
                note_non_ascii(p);
                stops = escape_mask(p);
                if (stops != 0) break;
                p += 16;
            }
            p += __builtin_ctz(stops);
            if (*p != '"') return false;
            JsonNode& node = add(Type::string);
            node.text = start;
            node.size = static_cast<std::uint32_t>(p - start);
            ++p;
            return true;
        };
        auto word = [&](const char* text, std::size_t n) __attribute__((always_inline)) {
            if (static_cast<std::size_t>(end - p) < n || std::memcmp(p, text, n) != 0) return false;
            p += n;
            return true;
        };
        // RapidJSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?; integers exact within 18 digits.
        auto number = [&]() __attribute__((always_inline)) {
            const char* start = p;
            bool minus = *p == '-';
            if (minus) ++p;
            const char* digits = p;
            if (p == end || static_cast<unsigned char>(*p - '0') >= 10) return false;
            // Unsigned, so that more than 18 digits wrap harmlessly before they are refused.
            std::uint64_t value = static_cast<unsigned char>(*p++ - '0');
            for (unsigned digit; p < end && (digit = static_cast<unsigned char>(*p) - '0') < 10u;
                 ++p)
                value = value * 10 + digit;
            if (*digits == '0' && p - digits > 1) return false;  // a leading zero
            if (p - digits > 18) return false;                   // may not fit: RapidJSON decides
            if (p < end && (*p == 'e' || *p == 'E')) return false;
            if (p < end && *p == '.') {
                ++p;
                const char* fraction = p;
                while (p < end && static_cast<unsigned char>(*p - '0') < 10)
                    ++p;
                if (p == fraction) return false;
                if (p < end && (*p == 'e' || *p == 'E')) return false;
                add(Type::number);  // as TapeHandler::Double: the value is not kept
                return true;
            }
            // As TapeHandler::integer after RapidJSON's Int/Uint/Int64/Uint64; the text is the
            // payload's, which is to_chars' spelling but for "-0".
            JsonNode& n = add(Type::integer);
            const auto signed_value = static_cast<std::int64_t>(value);
            n.int64 = minus ? -signed_value : signed_value;
            n.fits_int64 = true;
            if (value == 0) {
                n.text = "0";
                n.size = 1;
            } else {
                n.text = start;
                n.size = static_cast<std::uint32_t>(p - start);
            }
            return true;
        };

        // Each state is a label; `value` expects a value, `member` a key (or `}` right after
        // `{`), `after` what may follow a finished value, `close` ends the innermost
        // container (its `}` or `]` consumed).
    value:
        switch (next()) {
            case '"':
                if (!string()) goto done;
                goto after;
            case '{':
                if (!open(Type::object)) goto done;
                if (next() == '}') {
                    ++p;
                    goto close;
                }
                goto member;
            case '[':
                if (!open(Type::array)) goto done;
                if (next() == ']') {
                    ++p;
                    goto close;
                }
                goto value;
            case 't':
                if (!word("true", 4)) goto done;
                add(Type::boolean).boolean = true;
                goto after;
            case 'f':
                if (!word("false", 5)) goto done;
                add(Type::boolean).boolean = false;
                goto after;
            case 'n':
                if (!word("null", 4)) goto done;
                add(Type::null);
                goto after;
            case end_of_input:
                goto done;
            default:
                if (!number()) goto done;
                goto after;
        }
    member:
        if (!expect('"') || !string()) goto done;
        if (!expect(':')) goto done;
        ++p;
        // Most values of members are strings: those skip the dispatch.
        if (p < end && *p == '"') {
            if (!string()) goto done;
            goto after;
        }
        goto value;
    after:
        ++top->size;  // the value just finished is one more member or element
        if (top->type == Type::object) {
            if (p < end && *p == ',') {
                ++p;
                goto member;
            }
            switch (next()) {
                case ',':
                    ++p;
                    goto member;
                case '}':
                    ++p;
                    goto close;
                default:
                    goto done;
            }
        }
        if (top == &outside) {
            ok = next() == end_of_input;
            goto done;
        }
        switch (next()) {
            case ',':
                ++p;
                goto value;
            case ']':
                ++p;
                goto close;
            default:
                goto done;
        }
    close:
        top->end = count;
        if (top->number == no_node) {
            ok = next() == end_of_input;
            goto done;
        }
        top = nodes + top->number;
        goto after;
    done:
        s_.count = count;
        non_ascii_ = non_ascii;
        return ok;
    }

  private:
    static constexpr int end_of_input = -1;

    // Bit i set when s[i] is `"`, `\` or below 0x20 (first_to_escape's bytes, all of them).
    [[gnu::always_inline]] static unsigned escape_mask(const char* s) {
#if defined(__SSE2__)
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
        const __m128i control = _mm_set1_epi8(0x1f);
        const __m128i special = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                         _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
            _mm_cmpeq_epi8(_mm_max_epu8(v, control), control));  // max(c, 0x1f) == 0x1f: c < 0x20
        return static_cast<unsigned>(_mm_movemask_epi8(special));
#else
        unsigned bits = 0;
        for (unsigned i = 0; i < 16; ++i) {
            auto c = static_cast<unsigned char>(s[i]);
            bits |= static_cast<unsigned>(c == '"' || c == '\\' || c < 0x20) << i;
        }
        return bits;
#endif
    }

    [[gnu::noinline]] static JsonNode* grow(JsonScratch& s) {
        s.grow_nodes();
        return s.nodes.data();
    }

    std::string_view payload_;
    const Rules& rules_;
    JsonScratch& s_;
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

class Doc {
  public:
    Doc(const JsonScratch& s) : nodes_(s.nodes.data()), root_(s.root.data()) {}

    // One pass over the root object's members for every key in `keys`: `root` gets, per
    // key, its value node, no_node when absent or duplicate_node when it appears twice
    // (what find_member reports). The root must be an object.
    static void index_root(const JsonScratch& s, const Rules& rules,
                           std::vector<std::uint32_t>& root) {
        const std::size_t keys = rules.root_keys.size();
        clear_root(root, keys);
        if (rules.root_table.empty()) return;  // rules never indexed: no root keys
        std::uint32_t* slot = root.data();
        const RootEntry* table = rules.root_table.data();
        const std::size_t mask = rules.root_table.size() - 1;
        const int shift = rules.root_shift;
        const JsonNode* nodes = s.nodes.data();
        for (std::uint32_t k = 1, end = nodes[0].end; k < end; k = nodes[k + 1].end) {
            std::size_t n = nodes[k].size;
            if (n > 16) {
                index_long_member(rules, slot, nodes[k].text, n, k + 1);
                continue;
            }
            const KeyPrint print = key_print(nodes[k].text, n);
            for (std::size_t at = root_probe_start(print, n, shift);; at = (at + 1) & mask) {
                const RootEntry& entry = table[at];
                if (entry.slot < 0) break;
                if (entry.print.head != print.head || entry.print.tail != print.tail ||
                    entry.size != n) {
                    continue;
                }
                slot[entry.slot] = slot[entry.slot] == no_node ? k + 1 : duplicate_node;
                break;
            }
        }
    }
    // find_member(0, the pointer's first key) from the index.
    std::uint32_t root_member(const Pointer& pointer, bool& duplicate) const {
        std::uint32_t v = root_[pointer.root_slot];
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
    std::string_view number_text(std::uint32_t i) const { return string(i); }

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

    // Most pointers are a single key of the root object: one read of the index.
    std::uint32_t resolve(std::uint32_t start, const Pointer& pointer) const {
        if (start == 0 && pointer.root_only) {
            std::uint32_t v = root_[pointer.root_slot];
            return v == duplicate_node ? no_node : v;
        }
        if (start == 0 && pointer.root_then_key) {
            std::uint32_t v = root_[pointer.root_slot];
            if (v == no_node || v == duplicate_node) return no_node;
            if (nodes_[v].type == Type::object) return unique_member(v, pointer.segments[1].key);
            if (nodes_[v].type != Type::array) return no_node;
        }
        return resolve_path(start, pointer);
    }

    [[gnu::noinline]] std::uint32_t resolve_path(std::uint32_t start,
                                                 const Pointer& pointer) const {
        std::uint32_t v = start;
        const Pointer::Segment* segment = pointer.segments.data();
        const Pointer::Segment* const last = segment + pointer.segments.size();
        if (start == 0 && pointer.root_slot >= 0) {
            v = root_[pointer.root_slot];
            if (v == no_node || v == duplicate_node) return no_node;
            ++segment;
        }
        for (; segment != last; ++segment) {
            if (segment->star) return no_node;
            const JsonNode& n = nodes_[v];
            if (n.type == Type::object) {
                v = unique_member(v, segment->key);
            } else if (n.type == Type::array) {
                v = indexed_element(v, segment->key);
            } else {
                return no_node;
            }
            if (v == no_node) return no_node;
        }
        return v;
    }

    // find_member without the report: a duplicate is as good as absent.
    std::uint32_t unique_member(std::uint32_t object, const std::string& key) const {
        std::uint32_t found = no_node;
        for (std::uint32_t k = object + 1, end = nodes_[object].end; k < end;
             k = nodes_[k + 1].end) {
            if (nodes_[k].size != key.size() || std::memcmp(nodes_[k].text, key.data(), key.size()))
                continue;
            if (found != no_node) return no_node;
            found = k + 1;
        }
        return found;
    }

    // The element a resolve's segment `key` addresses (from_chars' reading of up to 9 digits).
    [[gnu::noinline]] std::uint32_t indexed_element(std::uint32_t array,
                                                    const std::string& key) const {
        if (key.empty() || key.size() > 9 ||
            !std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            return no_node;
        }
        std::uint32_t index = 0;
        std::from_chars(key.data(), key.data() + key.size(), index);
        if (index >= nodes_[array].size) return no_node;
        return element(array, index);
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
    const JsonNode* nodes_;
    const std::uint32_t* root_;
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
            JsonSite& site = s_.sites.emplace_back();
            site.code = v;
            site.container = container;
            site.pointer = index_;
            site.path_at = static_cast<std::uint32_t>(s_.paths.size());
            site.path_size = static_cast<std::uint32_t>(path.size());
            site.star_member = star_member;
            s_.paths.append(path);
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

// Walker::walk for a pointer without `*`: one path to follow, so no recursion, and the
// concrete pointer is the pointer's own path.
void walk_plain(const Doc& doc, const Pointer& pointer, std::size_t index, JsonScratch& s,
                Extraction& out) {
    std::uint32_t v = 0;
    std::uint32_t container = no_node;
    if (pointer.root_only) {
        bool duplicate = false;
        std::uint32_t child = doc.root_member(pointer, duplicate);
        if (duplicate) {
            out.fail(DeadLetterReason::duplicate_key,
                     "key \"" + pointer.segments[0].key + "\" appears twice at /");
            return;
        }
        if (child == no_node) return;
        JsonSite& site = s.sites.emplace_back();
        site.code = child;
        site.container = 0;
        site.pointer = index;
        site.path = pointer.path;
        return;
    }
    std::size_t depth = 0;
    for (const auto& segment : pointer.segments) {
        if (doc.is_object(v)) {
            bool duplicate = false;
            std::uint32_t child = v == 0 && depth == 0 && pointer.root_slot >= 0
                                      ? doc.root_member(pointer, duplicate)
                                      : doc.find_member(v, segment.key, duplicate);
            if (duplicate) {
                std::string path;
                for (std::size_t i = 0; i < depth; ++i)
                    append_segment(path, pointer.segments[i].key);
                out.fail(DeadLetterReason::duplicate_key,
                         "key \"" + segment.key + "\" appears twice at " +
                             (path.empty() ? std::string("/") : path));
                return;
            }
            if (child == no_node) return;
            container = v;
            v = child;
        } else if (doc.is_array(v)) {
            // The element whose index is spelled exactly as the key.
            const std::string& key = segment.key;
            if (key.empty() || key.size() > 10 || (key[0] == '0' && key.size() > 1)) return;
            std::uint64_t at = 0;
            for (char c : key) {
                if (c < '0' || c > '9') return;
                at = at * 10 + static_cast<std::uint64_t>(c - '0');
            }
            if (at >= doc[v].size) return;
            container = v;
            v = doc.element(v, static_cast<std::uint32_t>(at));
        } else {
            return;
        }
        ++depth;
    }
    JsonSite& site = s.sites.emplace_back();
    site.code = v;
    site.container = container;
    site.pointer = index;
    site.path = pointer.path;
}

// Into `value`, freshly made: for the common integer code the text is appended to an empty
// string, which costs less than building one and moving it in.
void classify(const Doc& doc, std::uint32_t v, catalog::CodeStyle style, CodeValue& value) {
    const JsonNode& n = doc[v];
    if (n.type == Type::string) {
        value = classify_code_text(doc.string(v), style);
        // Quoted, so that "" and " 6813" stay visible in the dead letter's detail.
        if (value.type == CodeValue::Type::bad) {
            value.text = "\"" + value.text + "\", not " +
                         (style == catalog::CodeStyle::huawei ? "a Huawei code" : "an integer");
        }
        return;
    }
    if (style == catalog::CodeStyle::numeric && n.type == Type::integer && n.fits_int64) {
        value.type = CodeValue::Type::integer;
        value.key = n.int64;
        value.text.append(n.text, n.size);
        return;
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
}

CodeValue classify(const Doc& doc, std::uint32_t v, catalog::CodeStyle style) {
    CodeValue value;
    classify(doc, v, style, value);
    return value;
}

// Relative pointers resolve against the object holding the code, except when that object
// is a map of codes (`/errors/*`): its other members are codes, not attributes.
inline std::uint32_t lookup(const Doc& doc, const JsonSite& site, const Pointer& pointer) {
    if (!pointer.relative) return doc.resolve(0, pointer);
    if (site.container == no_node || !doc.is_object(site.container) || site.star_member) {
        return no_node;
    }
    return doc.resolve(site.container, pointer);
}

void add_ids(const Doc& doc, const JsonSite& site, const Rules& rules, std::uint32_t element,
             Found& found) {
    for (const auto& rule : rules.ids) {
        // Side by side with its pointers (an index would divide by sizeof(Pointer) per rule).
        const std::optional<Pointer>* rest = rule.within_fan_out.data();
        for (const Pointer& pointer : rule.pointers) {
            const std::optional<Pointer>& within = *rest++;
            std::uint32_t v = within && element != no_node ? doc.resolve(element, *within)
                                                           : lookup(doc, site, pointer);
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
    for (std::uint32_t i = 0; i < s.count; ++i) {
        JsonNode& n = s.nodes[i];
        if (n.type == Type::integer) n.text = s.numbers.data() + n.number;
    }
    return true;
}

}  // namespace

void extract_json(std::string_view payload, const Rules& rules, Extraction& out, JsonScratch& s) {
    s.sites.clear();
    s.path.clear();
    s.paths.clear();
    FastTape fast(payload, rules, s);
    out.plain_texts = fast.build();
    // SPEC §7's UTF-8 check (before any JSON verdict), unless the fast pass proved it.
    if ((!out.plain_texts || fast.saw_non_ascii()) && !valid_utf8(payload)) {
        out.fail(DeadLetterReason::bad_utf8, "the payload is not UTF-8 text (or contains NUL)");
        return;
    }
    if (!out.plain_texts && !parse_with_rapidjson(payload, rules, out, s)) return;
    if (s.nodes[0].type != Type::object) {
        out.fail(DeadLetterReason::not_object, "the root is not a JSON object");
        return;
    }
    Doc::index_root(s, rules, s.root);
    const Doc doc(s);

    std::size_t index = 0;  // counted apart: code.size() would divide by sizeof(Pointer)
    for (const Pointer& pointer : rules.code) {
        if (pointer.star) {
            Walker(doc, pointer, index, s, out).walk(0, 0, no_node, std::nullopt);
        } else {
            walk_plain(doc, pointer, index, s, out);
        }
        if (out.failure) return;
        ++index;
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
    if (s.sites.empty()) return;

    std::uint32_t fan_out = rules.fan_out ? doc.resolve(0, *rules.fan_out) : no_node;
    bool fan = fan_out != no_node && doc.is_array(fan_out) && doc[fan_out].size > 0;
    // Every text of `paths` is written before any is viewed: it may move while it grows.
    if (fan) {
        s.elements.clear();
        for (std::uint32_t i = 0; i < doc[fan_out].size; ++i) {
            s.elements.push_back(static_cast<std::uint32_t>(s.paths.size()));
            s.paths += rules.fan_out->text;
            append_index(s.paths, i);
        }
        s.elements.push_back(static_cast<std::uint32_t>(s.paths.size()));
    }
    for (JsonSite& site : s.sites) {
        if (site.path_at != no_node)
            site.path = std::string_view(s.paths).substr(site.path_at, site.path_size);
    }
    for (std::size_t at = 0; at < s.sites.size(); ++at) {
        const JsonSite& site = s.sites[at];
        Found& base = out.codes.emplace_back();
        classify(doc, site.code, rules.code_style, base.code);
        if (base.code.type == CodeValue::Type::bad) {
            out.fail(DeadLetterReason::bad_code,
                     "code at " + std::string(site.path) + " is " + base.code.text);
            out.codes.pop_back();
            return;
        }
        // Checked after classifying, so a bad spelling is still a dead letter.
        if (repeats_earlier_key(doc, s.sites, at, base.code, rules.code_style)) {
            out.codes.pop_back();
            continue;
        }
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
            each.element =
                std::string_view(s.paths).substr(s.elements[i], s.elements[i + 1] - s.elements[i]);
            add_ids(doc, site, rules, e, each);
        }
    }
}

}  // namespace errbridge::core::detail
