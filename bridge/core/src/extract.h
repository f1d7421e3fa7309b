#pragma once

// What the format-specific extractors (JSON, XML) hand to the event builder: every code
// occurrence with its path, tag, vendor message and payload device ids, plus the payload's
// request id, method, success flag and firmware clue. Texts taken from the payload are
// views into the parser's buffers, which live in the caller's Scratch: valid until the
// next message, and never copied per message.

#include <rapidjson/reader.h>

#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <cstring>
#include <optional>
#include <pugixml.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "errbridge/catalog/code.h"
#include "errbridge/catalog/entry.h"
#include "errbridge/core/decode.h"

namespace errbridge::core::detail {

// A JSON Pointer with `*` segments, optionally relative to the code's parent (`../x`).
struct Pointer {
    struct Segment {
        bool star = false;
        std::string key;
    };
    bool relative = false;
    bool star = false;  // some segment is `*`
    std::vector<Segment> segments;
    std::string text;
    // The segments re-escaped (`~0`, `~1`): without a `*`, the concrete pointer of whatever
    // it matches, which a walk over the payload would build.
    std::string path;
    // Index of the first segment's key in Rules::root_keys (-1: a `*`, or no segment), so a
    // lookup in the root object is one array read (see index_root_keys).
    int root_slot = -1;
    // A single key of the root object (when resolved from the root): the index is the answer.
    bool root_only = false;
    // A key of the root object, then a key of that (`/data/productKey`): no loop either.
    bool root_then_key = false;

    static Pointer parse(const std::string& text);
};

struct IdRule {
    std::string key;
    std::vector<Pointer> pointers;  // alternatives, first found wins
    // Per pointer: when it starts with the fan-out pointer, the rest of it (resolved from
    // each fan-out element); filled by index_root_keys.
    std::vector<std::optional<Pointer>> within_fan_out;
};

// Two words equal for two keys of one length exactly when the keys are equal, if at most 16
// bytes long (longer keys need their bytes compared too): a key is matched with a compare
// or two instead of a memcmp call.
struct KeyPrint {
    std::uint64_t head = 0;
    std::uint64_t tail = 0;
};

inline KeyPrint key_print(const char* p, std::size_t n) {
    KeyPrint print;
    if (n >= 8) {
        std::memcpy(&print.head, p, 8);
        std::memcpy(&print.tail, p + n - 8, 8);
    } else if (n >= 4) {
        std::uint32_t head, tail;
        std::memcpy(&head, p, 4);
        std::memcpy(&tail, p + n - 4, 4);
        print.head = head | std::uint64_t{tail} << 32;
    } else if (n > 0) {
        print.head = static_cast<unsigned char>(p[0]) |
                     static_cast<unsigned>(static_cast<unsigned char>(p[n / 2])) << 8 |
                     static_cast<unsigned>(static_cast<unsigned char>(p[n - 1])) << 16;
    }
    return print;
}

// A root key of at most 16 bytes in Rules::root_table (open addressing, linear probing).
struct RootEntry {
    KeyPrint print;
    std::uint32_t size = 0;
    std::int32_t slot = -1;  // index in Rules::root_keys; -1: an empty entry
};

// Where a key of `size` bytes with `print` starts probing a table of 2^(64 - shift) entries.
inline std::size_t root_probe_start(const KeyPrint& print, std::size_t size, int shift) {
    return static_cast<std::size_t>(
        ((print.head ^ (print.tail >> 1) ^ size) * 0x9E3779B97F4A7C15ULL) >> shift);
}

// One route's decode rules in executable form.
struct Rules {
    bool xml = false;
    std::string xml_root;
    std::vector<Pointer> code;
    std::vector<Pointer> message;
    std::optional<Pointer> tag;
    std::optional<Pointer> request_id;
    std::optional<Pointer> method;
    std::optional<catalog::SuccessFlag> success_when;
    std::optional<Pointer> flag_pointer;
    std::optional<Pointer> fan_out;
    std::vector<IdRule> ids;
    std::string firmware;  // explicit camera firmware, or empty
    catalog::CodeStyle code_style = catalog::CodeStyle::numeric;
    int max_depth = 64;
    // The distinct first-segment keys of every pointer above, ordered by length: a JSON
    // payload's root object is scanned once for all of them. Keys of length n (n <= 32)
    // are root_keys[root_key_start[n] .. root_key_start[n + 1]); longer ones start at
    // root_key_start[33].
    std::vector<std::string> root_keys;
    std::vector<std::size_t> root_key_start;
    // The root keys of at most 16 bytes by print: a member name is found in about one
    // probe. Longer keys are only looked up by length (root_key_start).
    std::vector<RootEntry> root_table;
    int root_shift = 64;
};

// Fills Rules::root_keys, each pointer's root_slot and IdRule::within_fan_out; call once
// the rules are complete.
void index_root_keys(Rules& rules);

struct CodeValue {
    enum class Type { integer, string, bad };
    Type type = Type::bad;
    // The catalog key when the code follows the vendor's grammar (numeric codes, Huawei
    // IoTEdge.NNNNNNNN); then `text` is the canonical spelling, else the code as sent.
    std::optional<std::int64_t> key;
    std::string text;
};

// (id key from the route's rules, value from the payload)
using FoundIds = boost::container::small_vector<std::pair<std::string_view, std::string_view>, 4>;

// `path` and `element` view the route's rules (a pointer's own path) or JsonScratch::paths.
struct Found {
    // User-provided, so that emplace_back() runs only the member initialisers: value
    // initialisation would first zero the whole ~300 bytes (a `rep stos`).
    Found() {}

    CodeValue code;
    std::string_view path;     // concrete pointer of the code
    std::string_view element;  // fan-out element pointer, or empty
    std::optional<std::string_view> tag;
    std::optional<std::string_view> vendor_message;
    FoundIds ids;
};

struct Extraction {
    std::vector<Found> codes;
    std::optional<DeadLetterReason> failure;
    std::string detail;
    std::optional<bool> flag_success;  // from success_when, when its pointer is present
    std::optional<std::string_view> request_id;
    std::optional<std::string_view> method;
    std::optional<std::string_view> top_message;  // vendor message outside any code
    std::optional<std::string_view> firmware;     // camera: explicit or detected
    // Every text taken from the payload (codes, paths, tags, messages, ids) is known to
    // need no JSON escaping: true when the fast JSON pass parsed it (no escapes, no control
    // characters, so no `"` or `\` inside any string).
    bool plain_texts = false;

    void fail(DeadLetterReason reason, std::string why) {
        if (!failure) {
            failure = reason;
            detail = std::move(why);
        }
    }
    // Ready for the next message, keeping the memory already reserved.
    void clear() {
        codes.clear();
        failure.reset();
        detail.clear();
        flag_success.reset();
        request_id.reset();
        method.reset();
        top_message.reset();
        firmware.reset();
        plain_texts = false;
    }
};

// A parsed JSON document as a flat array in document order: an object is followed by its
// members (key node, then the value's nodes), an array by its elements. No tree of
// allocations, and strings stay in the (in-situ parsed) copy of the payload.
struct JsonNode {
    enum class Type : std::uint8_t { null, boolean, integer, number, string, object, array };
    Type type = Type::null;
    bool boolean = false;
    bool fits_int64 = false;  // integers: RapidJSON's IsInt64
    std::uint32_t size = 0;   // string bytes, object members or array elements
    std::uint32_t end = 0;    // one past this value's last node
    // Strings: into the payload or JsonScratch::text; integers: their decimal text (in the
    // payload, or in JsonScratch::numbers at `number` when RapidJSON parsed).
    const char* text = nullptr;
    std::uint32_t number = 0;
    std::int64_t int64 = 0;
    // Only `type` and `end` are set for every node; the other members only for the types
    // that use them (and read only for those).
};

// Where one code pointer matched.
struct JsonSite {
    JsonSite() {}  // no zeroing before the member initialisers (as Found)

    std::uint32_t code = 0;                // node of the code
    std::uint32_t container = UINT32_MAX;  // node of the object or array holding it
    std::size_t pointer = 0;               // which of the route's code pointers
    // The concrete pointer: the code pointer's own path when it has no `*`; else
    // JsonScratch::paths[path_at, path_at + path_size), viewed once the walks are over.
    std::string_view path;
    std::uint32_t path_at = UINT32_MAX;
    std::uint32_t path_size = 0;
    std::optional<std::string_view>
        star_member;  // member name when the last `*` was over an object
};

// Everything the JSON extractor reuses from one message to the next.
struct JsonScratch {
    rapidjson::Reader reader;     // keeps its parse stack
    std::string text;             // the payload, parsed in situ
    std::string numbers;          // integers as decimal text, for ids and request ids
    std::vector<JsonNode> nodes;  // the first `count` are the document (the rest is room)
    std::uint32_t count = 0;
    std::vector<std::uint32_t> open;  // containers being parsed
    std::vector<std::uint32_t> root;  // per Rules::root_keys: the member's value node
    std::vector<std::string_view> names;
    std::vector<JsonSite> sites;
    std::string path;                     // the walk's current pointer
    std::string paths;                    // concrete pointers built by walks, fan-out elements
    std::vector<std::uint32_t> elements;  // fan-out element i: paths[elements[i], elements[i+1])

    // A new node at the end of the document; the vector only grows, so a steady stream of
    // messages writes into memory it already has.
    JsonNode& add_node(JsonNode::Type type) {
        if (count == nodes.size()) grow_nodes();
        JsonNode& n = nodes[count++];
        n = JsonNode{};
        n.type = type;
        n.end = count;
        return n;
    }
    [[gnu::noinline]] void grow_nodes() { nodes.resize(nodes.empty() ? 64 : 2 * nodes.size()); }
};

// The payload's UTF-8 check (SPEC §7, a bad_utf8 failure) is done here, where the fast parse
// can make it unnecessary.
void extract_json(std::string_view payload, const Rules& rules, Extraction& out,
                  JsonScratch& scratch);
// `document` holds the parsed payload the extraction's views point into.
void extract_xml(std::string_view payload, const Rules& rules, Extraction& out,
                 pugi::xml_document& document);

// Classifies a code given as text (XML attributes, JSON strings) under the code grammar.
CodeValue classify_code_text(std::string_view text, catalog::CodeStyle style);

}  // namespace errbridge::core::detail
