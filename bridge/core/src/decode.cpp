// The decode pipeline: route -> checks in SPEC §7 order -> extraction -> catalog lookup ->
// events (SPEC §6) or exactly one dead letter (SPEC §7).

#include "errbridge/core/decode.h"

#include <algorithm>

#include "errbridge/catalog/code.h"
#include "errbridge/config/topic_template.h"
#include "extract.h"
#include "json_out.h"
#include "text.h"

namespace errbridge::core {

std::string_view to_string(DeadLetterReason reason) {
    switch (reason) {
        case DeadLetterReason::too_large:
            return "too_large";
        case DeadLetterReason::bad_utf8:
            return "bad_utf8";
        case DeadLetterReason::doctype:
            return "doctype";
        case DeadLetterReason::too_deep:
            return "too_deep";
        case DeadLetterReason::not_json:
            return "not_json";
        case DeadLetterReason::not_xml:
            return "not_xml";
        case DeadLetterReason::not_object:
            return "not_object";
        case DeadLetterReason::duplicate_key:
            return "duplicate_key";
        case DeadLetterReason::bad_code:
            return "bad_code";
        case DeadLetterReason::no_code:
            return "no_code";
    }
    return "unknown";
}

void DecodeResult::reset() {
    status = Status::unrouted;
    route.reset();
    reason.reset();
    detail.clear();
    unknown_codes = 0;
    count = 0;
    buffer.clear();
}

Publication& DecodeResult::add() {
    if (count == publications.size()) publications.emplace_back();
    Publication& p = publications[count++];
    p.kind = Publication::Kind::error;
    p.topic.clear();
    p.payload_offset = p.payload_size = 0;
    p.vendor = {};
    p.code.clear();
    p.severity = {};
    p.category = {};
    p.known = false;
    return p;
}

namespace {

using config::TopicTemplate;
using detail::Extraction;
using detail::Found;
using detail::Pointer;

struct EscapedTexts {
    std::string message;
    std::string fix;
};

struct CompiledRoute {
    detail::Rules rules;
    int vendor_index = -1;
    const catalog::Vendor* vendor = nullptr;
    std::vector<std::string> success;  // canonical codes
    std::vector<TopicTemplate> device_templates;
    std::vector<std::string> device_keys;
};

}  // namespace

struct Decoder::Compiled {
    // Catalog message and fix in the configured language, already JSON-escaped, indexed
    // [vendor][entry]: copying them whole is most of what makes an event cheap to write.
    std::vector<std::vector<EscapedTexts>> escaped;
    std::vector<CompiledRoute> routes;
    TopicTemplate output;
    std::optional<TopicTemplate> invalid;
};

Decoder::Decoder(std::shared_ptr<const config::LoadedConfig> config)
    : config_(std::move(config)), compiled_(std::make_unique<Compiled>()) {
    const auto& cfg = config_->config;
    compiled_->output = TopicTemplate::parse(cfg.output.topic);
    if (!cfg.output.invalid_topic.empty()) {
        compiled_->invalid = TopicTemplate::parse(cfg.output.invalid_topic);
    }
    for (const auto& vendor : config_->catalog.vendors()) {
        auto& texts = compiled_->escaped.emplace_back();
        for (const auto& entry : vendor.entries) {
            EscapedTexts t;
            detail::JsonOut::append_escaped(t.message, entry.message.in(cfg.lang));
            detail::JsonOut::append_escaped(t.fix, entry.fix.in(cfg.lang));
            texts.push_back(std::move(t));
        }
    }
    for (const auto& route : cfg.routes) {
        CompiledRoute c;
        const auto& r = route.rules;
        c.vendor_index = config_->catalog.vendor_index(route.vendor);
        c.vendor = config_->catalog.vendor(route.vendor);
        c.rules.xml = r.format.value_or("json") == "xml";
        c.rules.xml_root = r.xml_root.value_or("config");
        c.rules.code_style = c.vendor->code_style;
        c.rules.max_depth = cfg.limits.max_depth;
        for (const auto& p : r.code.value_or(std::vector<std::string>{})) {
            c.rules.code.push_back(Pointer::parse(p));
        }
        for (const auto& p : r.message.value_or(std::vector<std::string>{})) {
            c.rules.message.push_back(Pointer::parse(p));
        }
        c.rules.tag = Pointer::parse(r.tag.value_or("../name"));
        if (r.request_id) c.rules.request_id = Pointer::parse(*r.request_id);
        if (r.method) c.rules.method = Pointer::parse(*r.method);
        if (r.success_when) {
            c.rules.success_when = r.success_when;
            c.rules.flag_pointer = Pointer::parse(r.success_when->pointer);
        }
        if (r.fan_out) c.rules.fan_out = Pointer::parse(*r.fan_out);
        if (r.ids) {
            for (const auto& id : *r.ids) {
                detail::IdRule rule{id.key, {}};
                for (const auto& p : id.pointers)
                    rule.pointers.push_back(Pointer::parse(p));
                c.rules.ids.push_back(std::move(rule));
            }
        }
        c.rules.firmware = r.firmware.value_or("");
        for (const auto& code : r.success.value_or(std::vector<std::string>{})) {
            auto key = catalog::parse_wire_code(c.vendor->code_style, code);
            c.success.push_back(key ? catalog::canonical_code(c.vendor->code_style, *key) : code);
        }
        for (const auto& entry : c.vendor->entries) {
            if (entry.kind == catalog::Kind::success && !entry.is_range)
                c.success.push_back(entry.code);
        }
        for (const auto& t : r.device.value_or(std::vector<std::string>{})) {
            c.device_templates.push_back(TopicTemplate::parse(t));
        }
        c.device_keys = r.device_keys.value_or(std::vector<std::string>{});
        compiled_->routes.push_back(std::move(c));
    }
}

Decoder::~Decoder() = default;
Decoder::Decoder(Decoder&&) noexcept = default;
Decoder& Decoder::operator=(Decoder&&) noexcept = default;

namespace {

struct MessageView {
    std::string_view topic;
    std::string_view payload;
    std::string ts;
    const config::RouteConfig* route;
    const CompiledRoute* compiled;
    const config::Captures* captures;
    const config::Config* config;
    const catalog::Catalog* catalog;
    const TopicTemplate* output;
    const TopicTemplate* invalid;  // null: dead letters disabled
    const std::vector<std::vector<EscapedTexts>>& escaped;
    // FNV-1a over route, topic and payload, shared by every event of the message; each
    // event continues it with its path (and sub-device element).
    std::uint64_t id_prefix;
};

// `/sys/{pk}/{dn}/thing/event/property/post_reply` -> `thing.event.property.post`.
std::optional<std::string> alink_method(std::string_view topic) {
    if (topic.rfind("/sys/", 0) != 0) return std::nullopt;
    auto levels = config::split_levels(topic);
    if (levels.size() < 5) return std::nullopt;
    std::string method;
    for (std::size_t i = 4; i < levels.size(); ++i) {
        if (i > 4) method += '.';
        method += levels[i];
    }
    if (method.size() > 6 && method.compare(method.size() - 6, 6, "_reply") == 0) {
        method.resize(method.size() - 6);
    }
    return method;
}

std::string_view request_topic(std::string_view topic) {
    if (topic.size() > 6 && topic.substr(topic.size() - 6) == "_reply") {
        return topic.substr(0, topic.size() - 6);
    }
    return topic;
}

struct Device {
    std::vector<std::pair<std::string, std::string>> ids;  // device object, in order
    std::vector<std::pair<std::string, std::string>> other_captures;
    std::string rendered;
};

Device device_of(const MessageView& m, const Found* found) {
    Device d;
    const auto& keys = m.compiled->device_keys;
    auto set = [&](const std::string& key, const std::string& value) {
        for (auto& [k, v] : d.ids) {
            if (k == key) {
                v = value;  // ids found in the payload override a capture of the same name
                return;
            }
        }
        d.ids.emplace_back(key, value);
    };
    for (const auto& [name, value] : *m.captures) {
        if (std::find(keys.begin(), keys.end(), name) != keys.end()) {
            set(name, value);
        } else {
            d.other_captures.emplace_back(name, value);
        }
    }
    if (found) {
        for (const auto& [name, value] : found->ids)
            set(name, value);
    }
    auto lookup = [&](std::string_view name) -> std::optional<std::string_view> {
        for (const auto& [k, v] : d.ids) {
            if (k == name) return std::string_view(v);
        }
        for (const auto& [k, v] : d.other_captures) {
            if (k == name) return std::string_view(v);
        }
        return std::nullopt;
    };
    // Each id is sanitised as a single level; the template's own `/` stay. The first
    // template whose ids are all known wins; without one, the first renders with `_` gaps.
    auto render = [&](const TopicTemplate& t) {
        for (const auto& part : t.parts()) {
            if (!part.placeholder) {
                d.rendered += part.text;
            } else {
                config::append_sanitised(d.rendered, lookup(part.text).value_or(""), false);
            }
        }
    };
    const auto& templates = m.compiled->device_templates;
    auto chosen = std::find_if(templates.begin(), templates.end(),
                               [&](const TopicTemplate& t) { return t.complete(lookup); });
    if (chosen != templates.end()) {
        render(*chosen);
    } else if (!templates.empty()) {
        render(templates.front());
    }
    return d;
}

struct Meaning {
    bool known = false;
    std::string_view category = "unknown";
    std::string_view severity = "warning";
    std::optional<bool> retryable;
    std::string_view message;  // into the catalog, or the caller's scratch for unknown codes
    std::string_view fix;
    // The same texts pre-escaped, when they are the entry's own (empty otherwise).
    std::string_view message_json;
    std::string_view fix_json;
    std::optional<int> http_status;
};

Meaning meaning_of(const MessageView& m, const Found& found,
                   const std::optional<std::string>& firmware, std::string& scratch_message,
                   std::string& scratch_fix) {
    Meaning out;
    const catalog::Vendor& vendor = *m.compiled->vendor;
    catalog::Lang lang = m.config->lang;
    const std::optional<std::int64_t>& key = found.code.key;
    const catalog::Entry* entry = key ? m.catalog->find(m.compiled->vendor_index, *key) : nullptr;
    if (!entry) {
        // An empty vendor message tells the reader nothing; the event still needs a line.
        scratch_message = found.vendor_message && !found.vendor_message->empty()
                              ? *found.vendor_message
                              : "code not in the " + vendor.id + " catalog";
        scratch_fix = "errbridge does not know this " + vendor.id + " code: look it up in the " +
                      (vendor.title.empty() ? vendor.id : vendor.title) +
                      " documentation and add it to a site catalog file listed in catalog.paths "
                      "(format: catalog/README.md).";
        out.message = scratch_message;
        out.fix = scratch_fix;
        return out;
    }
    out.known = true;
    out.category = entry->category;
    out.severity = catalog::to_string(entry->severity);
    out.retryable = entry->retryable;
    out.message = entry->message.in(lang);
    out.fix = entry->fix.in(lang);
    const auto& escaped = m.escaped[static_cast<std::size_t>(m.compiled->vendor_index)]
                                   [static_cast<std::size_t>(entry - vendor.entries.data())];
    out.message_json = escaped.message;
    out.fix_json = escaped.fix;
    out.http_status = entry->http_status;
    auto override_with = [&](const catalog::Text& message, const catalog::Text& fix) {
        if (!message.empty()) {
            out.message = message.in(lang);
            out.message_json = {};
        }
        if (!fix.empty()) {
            out.fix = fix.in(lang);
            out.fix_json = {};
        }
    };
    if (!entry->contexts.empty()) {
        if (const catalog::Context* context = entry->context_for(request_topic(m.topic))) {
            override_with(context->message, context->fix);
        }
    }
    if (firmware && !entry->firmware.empty()) {
        if (const catalog::FirmwareMeaning* fw = entry->meaning_on(*firmware)) {
            override_with(fw->message, fw->fix);
        }
    }
    return out;
}

std::string render_topic(const TopicTemplate& t, const MessageView& m, std::string_view vendor,
                         std::string_view category, std::string_view severity,
                         std::string_view code, std::string_view device) {
    return t.render([&](std::string_view name) -> std::optional<std::string_view> {
        if (name == "site") return std::string_view(m.config->site);
        if (name == "vendor") return vendor;
        if (name == "category") return category;
        if (name == "severity") return severity;
        if (name == "code") return code;
        if (name == "route") return std::string_view(m.route->name);
        if (name == "device") return device;
        for (const auto& [k, v] : *m.captures) {
            if (k == name) return std::string_view(v);
        }
        return std::nullopt;
    });
}

void write_raw(detail::JsonOut& w, const MessageView& m) {
    const auto& out = m.config->output;
    w.key("raw");
    if (!out.include_raw) {
        w.null();
        w.key("raw_truncated");
        w.boolean(false);
        return;
    }
    std::size_t keep = utf8_prefix(m.payload, static_cast<std::size_t>(out.raw_max_bytes));
    w.string(m.payload.substr(0, keep));
    w.key("raw_truncated");
    w.boolean(keep < m.payload.size());
}

void write_event(DecodeResult& result, const MessageView& m, const Found* found,
                 const Extraction& x, bool success) {
    const std::string canonical = found ? found->code.text : std::string();
    std::string scratch_message;
    std::string scratch_fix;
    Meaning meaning;
    if (found && !success) {
        meaning = meaning_of(m, *found, x.firmware, scratch_message, scratch_fix);
    } else {
        meaning.known = true;
        meaning.category = "success";
        meaning.severity = "info";
        meaning.retryable = false;
        meaning.message = x.top_message && !x.top_message->empty()
                              ? std::string_view(*x.top_message)
                              : std::string_view("success");
        meaning.fix = "No action needed.";
    }
    Device device = device_of(m, found);
    Publication& p = result.add();
    p.kind = success ? Publication::Kind::success : Publication::Kind::error;
    p.vendor = m.compiled->vendor->id;
    p.code = canonical;
    p.severity = meaning.severity;
    p.category = meaning.category;
    p.known = meaning.known;
    if (!success && !meaning.known) ++result.unknown_codes;
    p.topic =
        render_topic(*m.output, m, p.vendor, p.category, p.severity, canonical, device.rendered);

    p.payload_offset = result.buffer.size();
    detail::JsonOut w(result.buffer);
    w.begin_object();
    w.key("schema");
    w.raw("\"errbridge/1\"");
    w.key("kind");
    w.raw(success ? "\"success\"" : "\"error\"");
    w.key("id");
    std::string id;
    std::uint64_t hash = m.id_prefix;
    if (found) {
        hash = fnv1a64(found->path, hash);
        if (!found->element.empty()) {
            hash = fnv1a64(std::string_view("\0", 1), hash);
            hash = fnv1a64(found->element, hash);
        }
    }
    append_hex16(id, hash);
    w.string(id);
    w.key("ts");
    w.string(m.ts);
    w.key("site");
    w.string(m.config->site);
    w.key("vendor");
    w.string(p.vendor);
    w.key("code");
    if (canonical.empty()) {
        w.null();
    } else {
        w.string(canonical);
    }
    w.key("known");
    w.boolean(meaning.known);
    w.key("category");
    w.string(meaning.category);
    w.key("severity");
    w.string(meaning.severity);
    w.key("retryable");
    if (meaning.retryable) {
        w.boolean(*meaning.retryable);
    } else {
        w.null();
    }
    w.key("message");
    if (!meaning.message_json.empty()) {
        w.raw(meaning.message_json);
    } else {
        w.string(meaning.message);
    }
    w.key("fix");
    if (!meaning.fix_json.empty()) {
        w.raw(meaning.fix_json);
    } else {
        w.string(meaning.fix);
    }
    w.key("device");
    w.begin_object();
    for (const auto& [k, v] : device.ids) {
        w.dynamic_key(k);
        w.string(v);
    }
    w.end_object();
    w.key("context");
    w.begin_object();
    w.key("route");
    w.string(m.route->name);
    w.key("topic");
    w.string(m.topic);
    w.key("path");
    if (found) {
        w.string(found->path);
    } else {
        w.null();
    }
    w.key("request_id");
    w.optional_string(x.request_id);
    w.key("method");
    w.optional_string(x.method ? x.method : alink_method(m.topic));
    w.key("vendor_message");
    w.optional_string(found && found->vendor_message ? found->vendor_message : x.top_message);
    w.key("tag");
    w.optional_string(found ? found->tag : std::nullopt);
    w.key("firmware");
    w.optional_string(x.firmware);
    w.key("http_status");
    if (meaning.http_status) {
        w.integer(*meaning.http_status);
    } else {
        w.null();
    }
    w.key("captures");
    w.begin_object();
    for (const auto& [k, v] : device.other_captures) {
        w.dynamic_key(k);
        w.string(v);
    }
    w.end_object();
    w.end_object();
    w.key("repeats");
    w.raw("0");
    write_raw(w, m);
    w.end_object();
    p.payload_size = result.buffer.size() - p.payload_offset;
}

void write_dead_letter(DecodeResult& result, const MessageView& m, DeadLetterReason reason,
                       const std::string& detail) {
    result.status = DecodeResult::Status::dead_letter;
    result.reason = reason;
    result.detail = detail;
    if (!m.invalid) return;  // disabled: counted and logged by the caller only
    Publication& p = result.add();
    p.kind = Publication::Kind::dead_letter;
    p.vendor = m.compiled->vendor->id;
    p.topic = render_topic(*m.invalid, m, p.vendor, "", "", "", "");
    p.payload_offset = result.buffer.size();
    detail::JsonOut w(result.buffer);
    w.begin_object();
    w.key("schema");
    w.raw("\"errbridge/1\"");
    w.key("dead_letter");
    w.boolean(true);
    w.key("reason");
    w.string(to_string(reason));
    w.key("route");
    w.string(m.route->name);
    w.key("topic");
    w.string(m.topic);  // UTF-8 by MQTT's rules; the payload may be anything, hence base64
    w.key("ts");
    w.string(m.ts);
    std::size_t keep =
        std::min(m.payload.size(), static_cast<std::size_t>(m.config->output.raw_max_bytes));
    w.key("payload_b64");
    std::string b64;
    append_base64(b64, m.payload.substr(0, keep));
    w.string(b64);
    w.key("payload_truncated");
    w.boolean(keep < m.payload.size());
    w.key("detail");
    w.string(detail);
    w.end_object();
    p.payload_size = result.buffer.size() - p.payload_offset;
}

// `ts` for this message: the date part is formatted once per second.
std::string timestamp(DecodeResult& result, std::int64_t now_ms) {
    std::int64_t second = now_ms >= 0 ? now_ms / 1000 : (now_ms - 999) / 1000;
    if (second != result.ts_second) {
        result.ts_text = format_timestamp(second * 1000);
        result.ts_second = second;
    }
    std::string ts = result.ts_text;  // "YYYY-MM-DDTHH:MM:SS.000Z"
    auto millis = static_cast<int>(now_ms - second * 1000);
    ts[ts.size() - 4] = static_cast<char>('0' + millis / 100);
    ts[ts.size() - 3] = static_cast<char>('0' + millis / 10 % 10);
    ts[ts.size() - 2] = static_cast<char>('0' + millis % 10);
    return ts;
}

}  // namespace

void Decoder::decode(std::string_view topic, std::string_view payload, std::int64_t now_ms,
                     DecodeResult& result) const {
    result.reset();
    auto match = config_->route_table.match(topic);
    if (!match) {
        result.status = DecodeResult::Status::unrouted;
        return;
    }
    result.route = match->route;
    if (payload.empty()) {
        result.status = DecodeResult::Status::empty;
        return;
    }
    const config::Config& cfg = config_->config;
    const CompiledRoute& compiled = compiled_->routes[match->route];
    MessageView m{topic,
                  payload,
                  timestamp(result, now_ms),
                  &cfg.routes[match->route],
                  &compiled,
                  &match->captures,
                  &cfg,
                  &config_->catalog,
                  &compiled_->output,
                  compiled_->invalid ? &*compiled_->invalid : nullptr,
                  compiled_->escaped,
                  0};
    {
        // NUL separates the fields: none of them can contain one, so they cannot run together.
        const std::string_view separator("\0", 1);
        std::uint64_t h = fnv1a64(m.route->name);
        h = fnv1a64(separator, h);
        h = fnv1a64(topic, h);
        h = fnv1a64(separator, h);
        h = fnv1a64(payload, h);
        m.id_prefix = fnv1a64(separator, h);
    }

    if (payload.size() > static_cast<std::size_t>(cfg.limits.max_payload_bytes)) {
        write_dead_letter(result, m, DeadLetterReason::too_large,
                          std::to_string(payload.size()) + " bytes, limits.max_payload_bytes = " +
                              std::to_string(cfg.limits.max_payload_bytes));
        return;
    }
    if (!valid_utf8(payload)) {
        write_dead_letter(result, m, DeadLetterReason::bad_utf8,
                          "the payload is not UTF-8 text (or contains NUL)");
        return;
    }
    Extraction x;
    if (compiled.rules.xml) {
        detail::extract_xml(payload, compiled.rules, x);
    } else {
        detail::extract_json(payload, compiled.rules, x, result.json_arena);
    }
    if (x.failure) {
        write_dead_letter(result, m, *x.failure, x.detail);
        return;
    }
    if (x.firmware == "v1.9" && compiled.rules.firmware.empty()) {
        // No errorDesc suggested v1.9, but v1.9 firmware only has codes 0-5: a code that
        // exists only on v2.0 says the device runs v2.0 and merely omitted the text.
        for (const auto& found : x.codes) {
            const catalog::Entry* entry =
                found.code.key ? config_->catalog.find(compiled.vendor_index, *found.code.key)
                               : nullptr;
            if (entry && !entry->firmware.empty() && !entry->meaning_on("v1.9")) {
                x.firmware = entry->firmware.front().firmware;
                break;
            }
        }
    }
    if (x.codes.size() > max_codes_per_payload) {
        // Each event copies the raw payload: unbounded fan-out would turn one 256 KiB
        // message into gigabytes of output. Real payloads carry a few dozen codes at most.
        write_dead_letter(result, m, DeadLetterReason::too_large,
                          std::to_string(x.codes.size()) + " error codes in one payload; at most " +
                              std::to_string(max_codes_per_payload) + " are decoded");
        return;
    }
    const Found* first_success = nullptr;
    std::size_t errors = 0;
    for (const auto& found : x.codes) {
        bool success = std::find(compiled.success.begin(), compiled.success.end(),
                                 found.code.text) != compiled.success.end();
        if (success) {
            if (!first_success) first_success = &found;
            continue;
        }
        write_event(result, m, &found, x, false);
        ++errors;
    }
    if (errors > 0) {
        result.status = DecodeResult::Status::events;
        return;
    }
    // Flags decide only when no code is present.
    bool success = first_success != nullptr || (x.codes.empty() && x.flag_success == true);
    if (!success && x.codes.empty() && x.flag_success == false) {
        write_dead_letter(result, m, DeadLetterReason::no_code,
                          "the payload reports a failure (" + compiled.rules.success_when->pointer +
                              ") without an error code");
        return;
    }
    if (!success) {
        result.status = DecodeResult::Status::no_code;
        return;
    }
    result.status = DecodeResult::Status::success;
    if (cfg.output.emit_success) write_event(result, m, first_success, x, true);
}

}  // namespace errbridge::core
