// Parses one catalog document (catalog/README.md) into plain structs and validates it
// completely enough that the rest of the program can trust it: unknown keys, wrong types,
// unknown categories, undeclared sources and duplicate codes are all rejected here.

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <set>

#include "errbridge/catalog/catalog.h"
#include "errbridge/catalog/code.h"

namespace errbridge::catalog {
namespace {

using Value = rapidjson::Value;

std::size_t line_of(std::string_view text, std::size_t offset) {
    offset = std::min(offset, text.size());
    return 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + offset, '\n'));
}

// Reads one JSON object, remembering where it is for messages and which keys it used, so
// that leftovers (typos) can be reported.
class ObjectReader {
  public:
    ObjectReader(const Value& value, std::string where, const std::string& origin)
        : value_(value), where_(std::move(where)), origin_(origin) {
        if (!value.IsObject()) fail("expected an object");
    }

    [[noreturn]] void fail(const std::string& reason) const {
        throw CatalogError(origin_ + ": " + where_ + ": " + reason);
    }
    [[noreturn]] void fail(std::string_view key, const std::string& reason) const {
        throw CatalogError(origin_ + ": " + where_ + "." + std::string(key) + ": " + reason);
    }

    const Value* get(std::string_view key) {
        used_.insert(std::string(key));
        auto it =
            value_.FindMember(Value(key.data(), static_cast<rapidjson::SizeType>(key.size())));
        return it == value_.MemberEnd() ? nullptr : &it->value;
    }
    bool has(std::string_view key) const {
        return value_.HasMember(Value(key.data(), static_cast<rapidjson::SizeType>(key.size())));
    }

    std::string string(std::string_view key, bool required) {
        const Value* v = get(key);
        if (!v) {
            if (required) fail(key, "missing");
            return {};
        }
        if (!v->IsString()) fail(key, "expected a string");
        return {v->GetString(), v->GetStringLength()};
    }
    std::optional<std::string> optional_string(std::string_view key) {
        if (!has(key)) {
            used_.insert(std::string(key));
            return std::nullopt;
        }
        return string(key, true);
    }
    bool boolean(std::string_view key, bool required, bool fallback = false) {
        const Value* v = get(key);
        if (!v) {
            if (required) fail(key, "missing");
            return fallback;
        }
        if (!v->IsBool()) fail(key, "expected true or false");
        return v->GetBool();
    }
    std::vector<std::string> strings(std::string_view key) {
        const Value* v = get(key);
        std::vector<std::string> out;
        if (!v) return out;
        if (v->IsString()) {
            out.emplace_back(v->GetString(), v->GetStringLength());
            return out;
        }
        if (!v->IsArray()) fail(key, "expected a string or an array of strings");
        for (const auto& item : v->GetArray()) {
            if (!item.IsString()) fail(key, "expected an array of strings");
            out.emplace_back(item.GetString(), item.GetStringLength());
        }
        return out;
    }
    std::optional<std::vector<std::string>> optional_strings(std::string_view key) {
        if (!has(key)) {
            used_.insert(std::string(key));
            return std::nullopt;
        }
        return strings(key);
    }

    Text text(std::string_view key, bool required) {
        const Value* v = get(key);
        Text out;
        if (!v) {
            if (required) fail(key, "missing");
            return out;
        }
        ObjectReader reader(*v, where_ + "." + std::string(key), origin_);
        out.en = reader.string("en", true);
        out.zh = reader.string("zh", false);
        if (out.en.empty()) reader.fail("en", "must not be empty");
        reader.finish();
        return out;
    }

    void finish() const {
        for (auto it = value_.MemberBegin(); it != value_.MemberEnd(); ++it) {
            std::string key(it->name.GetString(), it->name.GetStringLength());
            if (!used_.count(key)) fail(key, "unknown key");
        }
    }

    const std::string& where() const { return where_; }
    const std::string& origin() const { return origin_; }

  private:
    const Value& value_;
    std::string where_;
    const std::string& origin_;
    std::set<std::string> used_;
};

std::string entry_label(const Value& value, std::size_t index) {
    std::string label = "entries[" + std::to_string(index) + "]";
    if (value.IsObject() && value.HasMember("code") && value["code"].IsString()) {
        label += " (code " + std::string(value["code"].GetString()) + ")";
    }
    return label;
}

SuccessFlag parse_success_flag(const Value& value, const std::string& where,
                               const std::string& origin) {
    ObjectReader r(value, where, origin);
    SuccessFlag flag;
    flag.pointer = r.string("pointer", true);
    const Value* equals = r.get("equals");
    const Value* not_equals = r.get("not_equals");
    if ((equals == nullptr) == (not_equals == nullptr)) {
        r.fail("needs exactly one of equals, not_equals");
    }
    const Value& expected = equals ? *equals : *not_equals;
    flag.op = equals ? SuccessFlag::Op::equals : SuccessFlag::Op::not_equals;
    if (expected.IsBool()) {
        flag.value_json = expected.GetBool() ? "true" : "false";
    } else if (expected.IsString()) {
        flag.value_json = "\"" + std::string(expected.GetString()) + "\"";
    } else if (expected.IsInt64()) {
        flag.value_json = std::to_string(expected.GetInt64());
    } else {
        r.fail("expected value must be a boolean, string or integer");
    }
    r.finish();
    return flag;
}

DecodeRules parse_decode(const Value& value, const std::string& where, const std::string& origin,
                         bool allow_topic) {
    ObjectReader r(value, where, origin);
    if (allow_topic) r.get("topic");
    DecodeRules rules;
    rules.format = r.optional_string("format");
    if (rules.format && *rules.format != "json" && *rules.format != "xml") {
        r.fail("format", "must be \"json\" or \"xml\"");
    }
    rules.xml_root = r.optional_string("root");
    rules.code = r.optional_strings("code");
    rules.message = r.optional_strings("message");
    rules.tag = r.optional_string("tag");
    rules.request_id = r.optional_string("request_id");
    rules.method = r.optional_string("method");
    rules.success = r.optional_strings("success");
    if (const Value* flag = r.get("success_when")) {
        rules.success_when = parse_success_flag(*flag, where + ".success_when", origin);
    }
    rules.fan_out = r.optional_string("fan_out");
    if (const Value* ids = r.get("ids")) {
        ObjectReader ids_reader(*ids, where + ".ids", origin);
        std::vector<IdSource> sources;
        for (auto it = ids->MemberBegin(); it != ids->MemberEnd(); ++it) {
            IdSource source;
            source.key.assign(it->name.GetString(), it->name.GetStringLength());
            source.pointers = ids_reader.strings(source.key);
            if (source.pointers.empty()) ids_reader.fail(source.key, "needs a pointer");
            sources.push_back(std::move(source));
        }
        rules.ids = std::move(sources);
    }
    rules.device_keys = r.optional_strings("device_keys");
    rules.device = r.optional_strings("device");
    rules.firmware = r.optional_string("firmware");
    r.finish();
    return rules;
}

Entry parse_entry(const Value& value, std::size_t index, const Vendor& vendor,
                  const std::string& origin) {
    ObjectReader r(value, entry_label(value, index), origin);
    Entry entry;
    const Value* code = r.get("code");
    const Value* range = r.get("code_range");
    if ((code == nullptr) == (range == nullptr)) r.fail("needs exactly one of code, code_range");
    if (code) {
        if (!code->IsString()) r.fail("code", "expected a string");
        auto key = parse_wire_code(vendor.code_style, code->GetString());
        if (!key) r.fail("code", "not a valid code for this vendor's code style");
        entry.code = canonical_code(vendor.code_style, *key);
        if (entry.code != code->GetString()) {
            r.fail("code", "not in canonical spelling (expected \"" + entry.code + "\")");
        }
        entry.range_lo = entry.range_hi = *key;
    } else {
        if (!range->IsArray() || range->Size() != 2 || !(*range)[0].IsInt64() ||
            !(*range)[1].IsInt64() || (*range)[0].GetInt64() > (*range)[1].GetInt64()) {
            r.fail("code_range", "expected [low, high] integers with low <= high");
        }
        entry.is_range = true;
        entry.range_lo = (*range)[0].GetInt64();
        entry.range_hi = (*range)[1].GetInt64();
    }
    entry.expand = r.boolean("expand", false);
    if (entry.expand && !entry.is_range) r.fail("expand", "only ranges expand");
    for (auto& alias : r.strings("aliases"))
        entry.aliases.push_back(alias);

    std::string kind = r.string("kind", true);
    if (kind == "error") {
        entry.kind = Kind::error;
    } else if (kind == "success") {
        entry.kind = Kind::success;
    } else {
        r.fail("kind", "must be \"error\" or \"success\"");
    }
    if (const Value* status = r.get("http_status")) {
        if (!status->IsInt() || status->GetInt() < 100 || status->GetInt() > 599) {
            r.fail("http_status", "expected an HTTP status between 100 and 599");
        }
        entry.http_status = status->GetInt();
    }
    entry.category = r.string("category", true);
    if (!is_category(entry.category) || entry.category == "unknown") {
        r.fail("category", "unknown category \"" + entry.category + "\" (see catalog/README.md)");
    }
    if ((entry.kind == Kind::success) != (entry.category == "success")) {
        r.fail("category", "\"success\" is the category of kind success entries, and only theirs");
    }
    auto severity = parse_severity(r.string("severity", true));
    if (!severity) r.fail("severity", "must be info, warning, error or critical");
    entry.severity = *severity;
    entry.retryable = r.boolean("retryable", true);
    entry.message = r.text("message", true);
    entry.description = r.text("description", false);
    entry.fix = r.text("fix", true);
    entry.source = r.string("source", true);
    if (!vendor.sources.count(entry.source)) {
        r.fail("source", "\"" + entry.source + "\" is not declared in sources");
    }
    if (const Value* contexts = r.get("contexts")) {
        ObjectReader cr(*contexts, r.where() + ".contexts", origin);
        for (auto it = contexts->MemberBegin(); it != contexts->MemberEnd(); ++it) {
            Context context;
            context.topic.assign(it->name.GetString(), it->name.GetStringLength());
            cr.get(context.topic);
            ObjectReader one(it->value, cr.where() + "." + context.topic, origin);
            context.message = one.text("message", false);
            context.fix = one.text("fix", false);
            context.source = one.string("source", false);
            if (context.message.empty() && context.fix.empty()) one.fail("needs message or fix");
            if (!context.source.empty() && !vendor.sources.count(context.source)) {
                one.fail("source", "\"" + context.source + "\" is not declared in sources");
            }
            one.finish();
            entry.contexts.push_back(std::move(context));
        }
    }
    if (const Value* firmware = r.get("firmware")) {
        ObjectReader fr(*firmware, r.where() + ".firmware", origin);
        for (auto it = firmware->MemberBegin(); it != firmware->MemberEnd(); ++it) {
            FirmwareMeaning meaning;
            meaning.firmware.assign(it->name.GetString(), it->name.GetStringLength());
            fr.get(meaning.firmware);
            ObjectReader one(it->value, fr.where() + "." + meaning.firmware, origin);
            meaning.message = one.text("message", false);
            meaning.description = one.text("description", false);
            meaning.fix = one.text("fix", false);
            one.finish();
            entry.firmware.push_back(std::move(meaning));
        }
    }
    if (const Value* variants = r.get("variants")) {
        if (!variants->IsArray()) r.fail("variants", "expected an array");
        std::size_t i = 0;
        for (const auto& item : variants->GetArray()) {
            ObjectReader vr(item, r.where() + ".variants[" + std::to_string(i++) + "]", origin);
            Variant variant;
            variant.message = vr.string("message", true);
            variant.source = vr.string("source", true);
            variant.note = vr.string("note", false);
            if (!vendor.sources.count(variant.source)) {
                vr.fail("source", "\"" + variant.source + "\" is not declared in sources");
            }
            vr.finish();
            entry.variants.push_back(std::move(variant));
        }
    }
    r.finish();
    return entry;
}

}  // namespace

Vendor parse_document(std::string_view json, const std::string& origin) {
    rapidjson::Document document;
    document.Parse<rapidjson::kParseFullPrecisionFlag>(json.data(), json.size());
    if (document.HasParseError()) {
        throw CatalogError(origin + ":" + std::to_string(line_of(json, document.GetErrorOffset())) +
                           ": " + rapidjson::GetParseError_En(document.GetParseError()));
    }
    ObjectReader r(document, "document", origin);
    if (r.string("schema", true) != "errbridge-catalog/1") {
        r.fail("schema", "must be \"errbridge-catalog/1\"");
    }
    Vendor vendor;
    vendor.origin = origin;
    vendor.id = r.string("vendor", true);
    if (vendor.id.empty()) r.fail("vendor", "must not be empty");
    for (char c : vendor.id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok) r.fail("vendor", "use lower-case letters, digits, - and _");
    }
    vendor.title = r.string("title", false);
    std::string style = r.string("code_style", false);
    if (style.empty() || style == "numeric") {
        vendor.code_style = CodeStyle::numeric;
    } else if (style == "huawei") {
        vendor.code_style = CodeStyle::huawei;
    } else {
        r.fail("code_style", "must be \"numeric\" or \"huawei\"");
    }
    if (const Value* sources = r.get("sources")) {
        ObjectReader sr(*sources, "document.sources", origin);
        for (auto it = sources->MemberBegin(); it != sources->MemberEnd(); ++it) {
            std::string id(it->name.GetString(), it->name.GetStringLength());
            vendor.sources[id] = sr.string(id, true);
        }
    }
    if (const Value* decode = r.get("decode")) {
        vendor.decode = parse_decode(*decode, "document.decode", origin, false);
    }
    if (const Value* routes = r.get("routes")) {
        if (!routes->IsArray()) r.fail("routes", "expected an array");
        std::size_t i = 0;
        for (const auto& item : routes->GetArray()) {
            std::string where = "routes[" + std::to_string(i++) + "]";
            ObjectReader rr(item, where, origin);
            DefaultRoute route;
            route.topic = rr.string("topic", true);
            route.overrides = parse_decode(item, where, origin, true);
            vendor.routes.push_back(std::move(route));
        }
    }
    const Value* entries = r.get("entries");
    if (!entries || !entries->IsArray()) r.fail("entries", "expected an array");
    std::set<std::int64_t> seen;
    std::size_t index = 0;
    for (const auto& item : entries->GetArray()) {
        Entry entry = parse_entry(item, index, vendor, origin);
        if (!entry.is_range && !seen.insert(entry.range_lo).second) {
            throw CatalogError(
                origin + ": " + entry_label(item, index) +
                ": code listed twice (first copy wins: put other texts in variants)");
        }
        vendor.entries.push_back(std::move(entry));
        ++index;
    }
    r.finish();
    return vendor;
}

}  // namespace errbridge::catalog
