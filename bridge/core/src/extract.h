#pragma once

// What the format-specific extractors (JSON, XML) hand to the event builder: every code
// occurrence with its path, tag, vendor message and payload device ids, plus the payload's
// request id, method, success flag and firmware clue. Owns no parser types.

#include <cstdint>
#include <optional>
#include <string>
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
    std::vector<Segment> segments;
    std::string text;

    static Pointer parse(const std::string& text);
};

struct IdRule {
    std::string key;
    std::vector<Pointer> pointers;  // alternatives, first found wins
};

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
};

struct CodeValue {
    enum class Type { integer, string, bad };
    Type type = Type::bad;
    // The catalog key when the code follows the vendor's grammar (numeric codes, Huawei
    // IoTEdge.NNNNNNNN); then `text` is the canonical spelling, else the code as sent.
    std::optional<std::int64_t> key;
    std::string text;
};

struct Found {
    CodeValue code;
    std::string path;     // concrete pointer of the code
    std::string element;  // fan-out element pointer, or empty
    std::optional<std::string> tag;
    std::optional<std::string> vendor_message;
    std::vector<std::pair<std::string, std::string>> ids;
};

struct Extraction {
    std::vector<Found> codes;
    std::optional<DeadLetterReason> failure;
    std::string detail;
    std::optional<bool> flag_success;  // from success_when, when its pointer is present
    std::optional<std::string> request_id;
    std::optional<std::string> method;
    std::optional<std::string> top_message;  // vendor message outside any code
    std::optional<std::string> firmware;     // camera: explicit or detected

    void fail(DeadLetterReason reason, std::string why) {
        if (!failure) {
            failure = reason;
            detail = std::move(why);
        }
    }
};

// `arena`: reusable memory for the parsed document (grown as needed, never shrunk).
void extract_json(std::string_view payload, const Rules& rules, Extraction& out,
                  std::string& arena);
void extract_xml(std::string_view payload, const Rules& rules, Extraction& out);

// Classifies a code given as text (XML attributes, JSON strings) under the code grammar.
CodeValue classify_code_text(std::string_view text, catalog::CodeStyle style);

}  // namespace errbridge::core::detail
