// The JSON extractor's node array (bridge/core/src/json_extract.cpp) against RapidJSON's own
// reading of the same text: whichever pass builds it (the fast one or RapidJSON's), every
// node a reader uses must match, and an input the fast pass accepts must be one RapidJSON
// accepts. Random documents cover what the fast pass takes and what it must decline:
// blanks, escapes, long and non-ASCII strings, every number form, nesting past the limit,
// truncation and stray bytes.

#include <rapidjson/reader.h>

#include <catch2/catch.hpp>
#include <charconv>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "errbridge/core/decode.h"
#include "extract.h"

using namespace errbridge::core;
using namespace errbridge::core::detail;

namespace {

using Type = JsonNode::Type;

struct RefNode {
    Type type = Type::null;
    std::uint32_t size = 0;
    std::uint32_t end = 0;
    bool boolean = false;
    bool fits_int64 = false;
    std::int64_t int64 = 0;
    std::string text;  // strings: the value; integers: the decimal text
};

// RapidJSON's events as the nodes the extractor promises (TapeHandler's contract).
struct RefHandler {
    std::vector<RefNode> nodes;
    std::vector<std::size_t> open;
    int max_depth;
    bool too_deep = false;

    RefNode& add(Type type) {
        nodes.push_back(RefNode{});
        nodes.back().type = type;
        nodes.back().end = static_cast<std::uint32_t>(nodes.size());
        return nodes.back();
    }
    void integer(std::int64_t value, bool fits, std::uint64_t unsigned_value) {
        RefNode& n = add(Type::integer);
        n.int64 = value;
        n.fits_int64 = fits;
        char digits[24];
        auto r = fits ? std::to_chars(digits, digits + sizeof digits, value)
                      : std::to_chars(digits, digits + sizeof digits, unsigned_value);
        n.text.assign(digits, r.ptr);
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
    bool RawNumber(const char*, rapidjson::SizeType, bool) { return false; }
    bool String(const char* s, rapidjson::SizeType n, bool) {
        RefNode& node = add(Type::string);
        node.text.assign(s, n);
        node.size = n;
        return true;
    }
    bool Key(const char* s, rapidjson::SizeType n, bool copy) { return String(s, n, copy); }
    bool StartObject() { return start(Type::object); }
    bool StartArray() { return start(Type::array); }
    bool start(Type type) {
        if (static_cast<int>(open.size()) + 1 > max_depth) {
            too_deep = true;
            return false;
        }
        open.push_back(nodes.size());
        add(type);
        return true;
    }
    bool EndObject(rapidjson::SizeType n) { return finish(n); }
    bool EndArray(rapidjson::SizeType n) { return finish(n); }
    bool finish(rapidjson::SizeType n) {
        RefNode& node = nodes[open.back()];
        open.pop_back();
        node.size = n;
        node.end = static_cast<std::uint32_t>(nodes.size());
        return true;
    }
};

class Generator {
  public:
    explicit Generator(std::uint32_t seed) : rng_(seed) {}

    std::string document() {
        std::string out;
        blanks(out);
        if (pick(10) < 8) {
            object(out, 0);
        } else {
            value(out, 0);
        }
        blanks(out);
        return out;
    }
    std::uint32_t pick(std::uint32_t n) {
        return std::uniform_int_distribution<std::uint32_t>(0, n - 1)(rng_);
    }

  private:
    // Mostly compact, as devices send it; sometimes pretty-printed.
    void blanks(std::string& out) {
        if (pick(4) != 0) return;
        static constexpr char blank[] = {' ', '\n', '\r', '\t'};
        for (std::uint32_t i = pick(4); i > 0; --i)
            out += blank[pick(4)];
    }
    void value(std::string& out, int depth) {
        std::uint32_t kind = depth > 7 ? pick(6) : pick(9);
        switch (kind) {
            case 0:
            case 1:
                string(out);
                break;
            case 2:
                number(out);
                break;
            case 3:
                out += pick(2) ? "true" : "false";
                break;
            case 4:
                out += "null";
                break;
            case 5:
                string(out);
                break;
            case 6:
            case 7:
                object(out, depth + 1);
                break;
            default:
                array(out, depth + 1);
                break;
        }
    }
    void object(std::string& out, int depth) {
        out += '{';
        std::uint32_t n = pick(7);
        for (std::uint32_t i = 0; i < n; ++i) {
            if (i > 0) out += ',';
            blanks(out);
            string(out);
            blanks(out);
            out += ':';
            blanks(out);
            value(out, depth);
            blanks(out);
        }
        if (n == 0) blanks(out);
        out += '}';
    }
    void array(std::string& out, int depth) {
        out += '[';
        std::uint32_t n = pick(5);
        for (std::uint32_t i = 0; i < n; ++i) {
            if (i > 0) out += ',';
            blanks(out);
            value(out, depth);
            blanks(out);
        }
        out += ']';
    }
    void string(std::string& out) {
        out += '"';
        std::uint32_t n = pick(5) == 0 ? pick(90) : pick(14);
        for (std::uint32_t i = 0; i < n; ++i) {
            std::uint32_t r = pick(200);
            if (r == 0) {
                static const char* const escapes[] = {"\\n", "\\\"", "\\\\", "\\u0041", "\\/"};
                out += escapes[pick(5)];
            } else if (r == 1) {
                out += "\xc3\xa9";  // é
            } else if (r == 2) {
                out += "\xe2\x82\xac";  // €
            } else {
                out += static_cast<char>(' ' + 1 + pick(94) % 94);
                if (out.back() == '"' || out.back() == '\\') out.back() = 'q';
            }
        }
        out += '"';
    }
    void number(std::string& out) {
        static const char* const forms[] = {"0",
                                            "-0",
                                            "7",
                                            "6207",
                                            "-42",
                                            "1.5",
                                            "-0.25",
                                            "1e3",
                                            "2E-2",
                                            "1.0e+2",
                                            "123456789012345678",
                                            "1234567890123456789",
                                            "9223372036854775807",
                                            "9223372036854775808",
                                            "18446744073709551615",
                                            "18446744073709551616",
                                            "-9223372036854775808",
                                            "-9223372036854775809",
                                            "100000000000000000000"};
        out += forms[pick(std::size(forms))];
        for (std::uint32_t i = pick(3) == 0 ? pick(4) : 0; i > 0; --i)
            out += static_cast<char>('0' + pick(10));
    }

    std::mt19937 rng_;
};

// Small damage that mostly makes a document invalid (or valid in another way).
void damage(std::string& doc, Generator& g) {
    if (doc.empty()) return;
    auto at = static_cast<std::size_t>(g.pick(static_cast<std::uint32_t>(doc.size())));
    static const char bytes[] = {'"',    '\\', ',', ':', '}', ']', '{',    '[',    ' ', '\0',
                                 '\x01', 'x',  '0', '-', '.', 'e', '\xff', '\x80', '\t'};
    switch (g.pick(4)) {
        case 0:
            doc.resize(at);
            break;
        case 1:
            doc[at] = bytes[g.pick(sizeof bytes)];
            break;
        case 2:
            doc.insert(at, 1, bytes[g.pick(sizeof bytes)]);
            break;
        default:
            doc.erase(at, 1);
            break;
    }
}

void check(const std::string& doc, const Rules& rules, JsonScratch& scratch) {
    INFO("payload: " << doc);
    Extraction out;
    extract_json(doc, rules, out, scratch);

    if (!valid_utf8(doc)) {
        REQUIRE(out.failure);
        CHECK(*out.failure == DeadLetterReason::bad_utf8);
        return;
    }
    RefHandler ref{{}, {}, rules.max_depth};
    rapidjson::Reader reader;
    rapidjson::StringStream stream(doc.c_str());
    for (unsigned bom : {0xEFu, 0xBBu, 0xBFu}) {
        if (static_cast<unsigned char>(stream.Peek()) == bom) stream.Take();
    }
    bool accepted = !reader.Parse<rapidjson::kParseIterativeFlag>(stream, ref).IsError();
    if (!accepted) {
        CHECK_FALSE(out.plain_texts);  // the fast pass took what RapidJSON refuses
        REQUIRE(out.failure);
        CHECK((*out.failure == DeadLetterReason::not_json ||
               *out.failure == DeadLetterReason::too_deep));
        CHECK((*out.failure == DeadLetterReason::too_deep) == ref.too_deep);
        return;
    }
    if (out.failure) {
        CHECK(*out.failure != DeadLetterReason::not_json);
        CHECK(*out.failure != DeadLetterReason::too_deep);
        CHECK(*out.failure != DeadLetterReason::bad_utf8);
    }
    REQUIRE(scratch.count == ref.nodes.size());
    for (std::size_t i = 0; i < ref.nodes.size(); ++i) {
        INFO("node " << i);
        const JsonNode& n = scratch.nodes[i];
        const RefNode& r = ref.nodes[i];
        REQUIRE(n.type == r.type);
        CHECK(n.end == r.end);
        switch (r.type) {
            case Type::string:
                REQUIRE(n.size == r.size);
                CHECK(std::string_view(n.text, n.size) == r.text);
                break;
            case Type::object:
            case Type::array:
                CHECK(n.size == r.size);
                break;
            case Type::boolean:
                CHECK(n.boolean == r.boolean);
                break;
            case Type::integer:
                CHECK(n.int64 == r.int64);
                CHECK(n.fits_int64 == r.fits_int64);
                CHECK(std::string_view(n.text, n.size) == r.text);
                break;
            default:
                break;
        }
    }
}

}  // namespace

TEST_CASE("JSON node array equals RapidJSON's reading of random documents", "[json]") {
    Rules rules;
    rules.max_depth = 6;
    index_root_keys(rules);
    JsonScratch scratch;  // reused, as in the decoder: stale nodes must not leak through
    Generator g(20240611);
    int fast = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string doc = g.document();
        if (i % 3 == 1) damage(doc, g);
        if (i % 97 == 0) doc.insert(0, "\xef\xbb\xbf");
        check(doc, rules, scratch);
        // The substring views of a payload end where the payload does: no reads past it.
        std::string exact(doc);
        exact.shrink_to_fit();
        Extraction out;
        extract_json(exact, rules, out, scratch);
        fast += out.plain_texts ? 1 : 0;
    }
    // Most undamaged documents are the fast pass's (compact, no escapes).
    CHECK(fast > 5000);
}
