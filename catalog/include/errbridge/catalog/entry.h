#pragma once

// Plain data of one vendor catalog: what a code means, what to do about it and where the
// text comes from. No RapidJSON types leak out of the catalog library.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace errbridge::catalog {

enum class Lang { en, zh };

// A text in the catalog's languages; `zh` is empty when the vendor publishes none.
struct Text {
    std::string en;
    std::string zh;

    // The text in `lang`, falling back to English when that language is absent.
    const std::string& in(Lang lang) const { return lang == Lang::zh && !zh.empty() ? zh : en; }
    bool empty() const { return en.empty() && zh.empty(); }
};

enum class Kind { error, success };
enum class Severity { info, warning, error, critical };

std::string_view to_string(Kind kind);
std::string_view to_string(Severity severity);
std::optional<Severity> parse_severity(std::string_view text);

// The cross-vendor taxonomy documented in catalog/README.md.
const std::vector<std::string_view>& categories();
bool is_category(std::string_view name);

// Another meaning of the same number, from another source or version. Shown by
// `explain`, never chosen at run time.
struct Variant {
    std::string message;
    std::string source;
    std::string note;
};

// A more specific cause the vendor gives for replies to one request topic.
struct Context {
    std::string topic;  // request-topic pattern, `+` for one level
    Text message;
    Text fix;
    std::string source;
};

// Camera firmware: the meaning of a code on one firmware generation.
struct FirmwareMeaning {
    std::string firmware;  // "v1.9", "v2.0"
    Text message;          // empty: the entry's message applies
    Text description;
    Text fix;
};

struct Entry {
    std::string code;  // canonical spelling; empty for a range
    std::int64_t range_lo = 0;
    std::int64_t range_hi = 0;
    bool is_range = false;
    bool expand = false;  // ranges: the vendor lists every code of it
    std::vector<std::string> aliases;
    Kind kind = Kind::error;
    std::optional<int> http_status;
    std::string category;
    Severity severity = Severity::error;
    bool retryable = false;
    Text message;
    Text description;
    Text fix;
    std::string source;
    std::vector<Context> contexts;
    std::vector<FirmwareMeaning> firmware;
    std::vector<Variant> variants;

    // The context whose pattern matches `request_topic`, if any.
    const Context* context_for(std::string_view request_topic) const;
    const FirmwareMeaning* meaning_on(std::string_view firmware_version) const;
    bool exists_only_on_some_firmware() const { return !firmware.empty(); }
};

// "{"pointer": "/success", "equals": true}": decides success only when no code is present.
struct SuccessFlag {
    enum class Op { equals, not_equals };
    std::string pointer;
    Op op = Op::equals;
    // The expected value as JSON text: `true`, `"failed"`.
    std::string value_json;

    friend bool operator==(const SuccessFlag&, const SuccessFlag&) = default;
};

// A device-id pointer: absolute (`/data/deviceName`) or relative to the code's parent
// (`../device_id`); alternatives are tried in order.
struct IdSource {
    std::string key;
    std::vector<std::string> pointers;

    friend bool operator==(const IdSource&, const IdSource&) = default;
};

// Where a vendor's code travels in its payloads (SPEC §5). Every field is optional so the
// same struct carries a route's overrides; `merged_over` fills the gaps from defaults.
struct DecodeRules {
    std::optional<std::string> format;  // "json" | "xml"
    std::optional<std::string> xml_root;
    std::optional<std::vector<std::string>> code;
    std::optional<std::vector<std::string>> message;
    std::optional<std::string> tag;
    std::optional<std::string> request_id;
    std::optional<std::string> method;
    std::optional<std::vector<std::string>> success;
    std::optional<SuccessFlag> success_when;
    std::optional<std::string> fan_out;
    std::optional<std::vector<IdSource>> ids;
    std::optional<std::vector<std::string>> device_keys;
    std::optional<std::vector<std::string>> device;  // templates; the first fully known wins
    std::optional<std::string> firmware;

    DecodeRules merged_over(const DecodeRules& defaults) const;
    // Reload compares a route's rules to tell a changed route from an unchanged one.
    friend bool operator==(const DecodeRules&, const DecodeRules&) = default;
};

struct DefaultRoute {
    std::string topic;
    DecodeRules overrides;
};

enum class CodeStyle { numeric, huawei };

struct Vendor {
    std::string id;
    std::string title;
    CodeStyle code_style = CodeStyle::numeric;
    std::map<std::string, std::string> sources;  // id -> description of the document
    DecodeRules decode;
    std::vector<DefaultRoute> routes;
    std::vector<Entry> entries;
    std::string origin;  // where the document was loaded from ("built-in" or a path)
};

}  // namespace errbridge::catalog
