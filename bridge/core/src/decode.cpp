// The decode pipeline: route -> checks in SPEC §7 order -> extraction -> catalog lookup ->
// events (SPEC §6) or exactly one dead letter (SPEC §7).

#include "errbridge/core/decode.h"

#include <algorithm>
#include <array>
#include <boost/container/small_vector.hpp>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "errbridge/catalog/code.h"
#include "errbridge/config/topic_template.h"
#include "extract.h"
#include "json_out.h"
#include "routes.h"
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

void OutputBuffer::grow(std::size_t n) {
    bytes_.resize(std::max(bytes_.size() * 2, size_ + n));
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
    p.suppression_key = 0;
    return p;
}

namespace {

using config::TopicTemplate;
using detail::Extraction;
using detail::Found;
using detail::Pointer;

// A topic template with its placeholders resolved to what they name, so rendering does
// not compare names per message. Rendered like config::TopicTemplate (same sanitising).
struct CompiledTemplate {
    enum class Source { text, site, vendor, category, severity, code, route, device, capture };
    struct Part {
        Source source = Source::text;
        std::string text;  // literal text, or the capture name
    };
    std::vector<Part> parts;

    static CompiledTemplate compile(const TopicTemplate& t) {
        CompiledTemplate c;
        for (const auto& part : t.parts()) {
            Part p;
            p.text = part.text;
            if (part.placeholder) {
                const std::string& name = part.text;
                p.source = name == "site"       ? Source::site
                           : name == "vendor"   ? Source::vendor
                           : name == "category" ? Source::category
                           : name == "severity" ? Source::severity
                           : name == "code"     ? Source::code
                           : name == "route"    ? Source::route
                           : name == "device"   ? Source::device
                                                : Source::capture;
            }
            c.parts.push_back(std::move(p));
        }
        return c;
    }

    // The template for one route: its site, vendor and route name rendered (sanitised as
    // at run time) and joined with the literal text around them.
    CompiledTemplate for_route(std::string_view site, std::string_view vendor,
                               std::string_view route) const;
};

void append_sanitised(std::string& out, std::string_view value, bool keep_slashes);

CompiledTemplate CompiledTemplate::for_route(std::string_view site, std::string_view vendor,
                                             std::string_view route) const {
    CompiledTemplate c;
    for (const auto& part : parts) {
        std::string text;
        switch (part.source) {
            case Source::text:
                text = part.text;
                break;
            case Source::site:
                append_sanitised(text, site, false);
                break;
            case Source::vendor:
                append_sanitised(text, vendor, false);
                break;
            case Source::route:
                append_sanitised(text, route, false);
                break;
            default:
                c.parts.push_back(part);
                continue;
        }
        if (c.parts.empty() || c.parts.back().source != Source::text) c.parts.emplace_back();
        c.parts.back().text += text;
    }
    return c;
}

// Suppression keys (SPEC §8) only have to tell keys apart inside one process, unlike event
// ids, whose FNV-1a the SPEC fixes: their fields are folded 8 bytes at a time, a multiply
// each, instead of FNV-1a's multiply per byte. Length first, so ("ab", "c") and ("a", "bc")
// differ.
constexpr std::uint64_t key_multiplier = 0x9e3779b97f4a7c15ULL;

std::uint64_t key_mix(std::uint64_t hash, std::uint64_t word) {
    hash = (hash ^ word) * key_multiplier;
    return hash ^ (hash >> 29);
}

std::uint64_t hash_field(std::string_view value, std::uint64_t hash) {
    const char* p = value.data();
    std::size_t n = value.size();
    hash = key_mix(hash, n);
    for (; n >= 8; p += 8, n -= 8) {
        std::uint64_t word;
        std::memcpy(&word, p, 8);
        hash = key_mix(hash, word);
    }
    if (n > 0) {
        // The last 1 to 7 bytes as one word (overlapping reads put the same byte at the same
        // place twice, which the OR keeps).
        auto byte = [&](std::size_t i) {
            return static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
        };
        std::uint64_t word;
        if (n >= 4) {
            std::uint32_t head, tail;
            std::memcpy(&head, p, 4);
            std::memcpy(&tail, p + n - 4, 4);
            word = head | static_cast<std::uint64_t>(tail) << (8 * (n - 4));
        } else {
            word = byte(0) | byte(n / 2) | byte(n - 1);
        }
        hash = key_mix(hash, word);
    }
    return hash;
}

// The last step of every key: each bit of the input moves about half of the output bits
// (MurmurHash3's finaliser), so summed member hashes stay apart.
std::uint64_t avalanche(std::uint64_t hash) {
    hash ^= hash >> 33;
    hash *= 0xff51afd7ed558ccdULL;
    hash ^= hash >> 33;
    hash *= 0xc4ceb9fe1a85ec53ULL;
    return hash ^ (hash >> 33);
}

// A route's `device` object, `context.captures` and `{device}` text, resolved once against
// its captures (by position: the matcher gives them in the pattern's capture_names()
// order) and its id rules (by index). Per event, a value is the id found in the payload
// when there is one, else the capture; SPEC §6: ids found in the payload override a capture
// of the same name.
struct DevicePlan {
    struct Source {
        int capture = -1;  // index into the captures
        int id = -1;       // index into Rules::ids; its value wins when found
        bool operator==(const Source&) const = default;
    };
    struct Member {
        std::string name_json;    // `"name":`
        std::size_t slot;         // into `slots`
        std::uint64_t name_hash;  // hash_field(name): its part of the suppression key
    };
    struct Part {
        std::string text;  // literal text, or the placeholder's name
        bool placeholder = false;
        std::size_t slot = 0;  // a placeholder's, into `slots`
    };
    // Each distinct source of the values below, resolved once per event (DeviceValues):
    // members and template parts name the same few values many times over.
    std::vector<Source> slots;
    std::vector<Member> ids;     // the device object: device-key captures, then other ids
    std::vector<Member> others;  // context.captures: the other captures
    // Both objects' names, braces and commas: their JSON text but for the values.
    std::size_t members_json_bytes = 0;
    std::vector<std::vector<Part>> templates;
    // Every template renders to a valid run of topic levels whatever its values: they are
    // sanitised as single levels (never empty, no `/`), so unless a template's own text
    // makes an empty level or holds `+`, `#` or NUL, `{device}` needs no second pass.
    bool renders_sanitised = true;

    static DevicePlan compile(const std::vector<std::string>& captures,
                              const std::vector<std::string>& device_keys,
                              const std::vector<detail::IdRule>& ids,
                              const std::vector<TopicTemplate>& templates) {
        DevicePlan plan;
        auto index_of = [](const auto& list, const std::string& name, auto key) {
            for (std::size_t i = 0; i < list.size(); ++i) {
                if (key(list[i]) == name) return static_cast<int>(i);
            }
            return -1;
        };
        auto capture_of = [&](const std::string& name) {
            return index_of(captures, name, [](const std::string& c) { return c; });
        };
        auto id_of = [&](const std::string& name) {
            return index_of(ids, name, [](const detail::IdRule& r) { return r.key; });
        };
        auto slot_of = [&](Source source) {
            auto at = std::find(plan.slots.begin(), plan.slots.end(), source);
            if (at != plan.slots.end()) return static_cast<std::size_t>(at - plan.slots.begin());
            plan.slots.push_back(source);
            return plan.slots.size() - 1;
        };
        auto json_name = [](const std::string& name) {
            std::string out;
            detail::JsonOut::append_escaped(out, name);
            return out + ':';
        };
        for (std::size_t i = 0; i < captures.size(); ++i) {
            bool device =
                std::find(device_keys.begin(), device_keys.end(), captures[i]) != device_keys.end();
            Member member{json_name(captures[i]),
                          slot_of({static_cast<int>(i), device ? id_of(captures[i]) : -1}),
                          hash_field(captures[i], 0)};
            (device ? plan.ids : plan.others).push_back(std::move(member));
        }
        for (std::size_t r = 0; r < ids.size(); ++r) {
            bool overrides = std::any_of(plan.ids.begin(), plan.ids.end(), [&](const Member& m) {
                return plan.slots[m.slot].id == int(r);
            });
            if (!overrides) {
                plan.ids.push_back({json_name(ids[r].key), slot_of({-1, static_cast<int>(r)}),
                                    hash_field(ids[r].key, 0)});
            }
        }
        plan.members_json_bytes = 4;
        for (const auto* list : {&plan.ids, &plan.others}) {
            for (const auto& member : *list)
                plan.members_json_bytes += member.name_json.size() + 1;
        }
        for (const auto& t : templates) {
            auto& parts = plan.templates.emplace_back();
            std::string sample;  // the template with "x" for every value
            for (const auto& part : t.parts()) {
                parts.push_back(
                    {part.text, part.placeholder,
                     part.placeholder ? slot_of({capture_of(part.text), id_of(part.text)}) : 0});
                sample += part.placeholder ? std::string("x") : part.text;
            }
            std::string sanitised;
            config::append_sanitised(sanitised, sample, true);
            if (sanitised != sample) plan.renders_sanitised = false;
        }
        return plan;
    }
};

struct CompiledRoute {
    detail::Rules rules;
    int vendor_index = -1;
    const catalog::Vendor* vendor = nullptr;
    // Success codes: by catalog key those in their canonical spelling (what an extracted
    // code with a key carries), as text the rest (what a code without one can only equal).
    std::vector<std::int64_t> success_keys;
    std::vector<std::string> success_texts;
    std::vector<TopicTemplate> device_templates;
    std::vector<std::string> device_keys;
    std::string vendor_json;  // the vendor id and route name as JSON strings
    std::string route_json;
    // Event text that only depends on the route: `","site":...,"vendor":...,"code":` and
    // `,"context":{"route":...,"topic":`.
    std::string site_to_code_json;
    std::string context_to_topic_json;
    // FNV-1a of the route name and its NUL separator: where every id of the route starts.
    std::uint64_t id_seed = 0;
    std::uint64_t vendor_hash = 0;  // hash_field(vendor id): where suppression keys start
    DevicePlan device;
    CompiledTemplate output;  // output.topic and output.invalid_topic for this route
    std::optional<CompiledTemplate> invalid;
};

}  // namespace

struct Decoder::Compiled {
    // Per catalog entry, [vendor][entry], the event text from `known` to `fix` in the
    // configured language, escaped once here: `,"known":true,"category":...,"fix":"..."`.
    // Copying it whole is most of what makes an event cheap to write.
    std::vector<std::vector<std::string>> entry_json;
    std::vector<CompiledRoute> routes;
    CompiledTemplate output;
    std::optional<CompiledTemplate> invalid;
    std::string site_json;
    detail::RouteMatcher matcher;  // over config_->route_table.patterns()
    // For `raw`, the one long text of an event: the fastest escaper this CPU runs.
    detail::JsonEscaper escape_raw = detail::fastest_json_escaper();
};

Decoder::Decoder(std::shared_ptr<const config::LoadedConfig> config)
    : config_(std::move(config)), compiled_(std::make_unique<Compiled>()) {
    const auto& cfg = config_->config;
    compiled_->matcher = detail::RouteMatcher(config_->route_table.patterns());
    compiled_->output = CompiledTemplate::compile(TopicTemplate::parse(cfg.output.topic));
    detail::JsonOut::append_escaped(compiled_->site_json, cfg.site);
    if (!cfg.output.invalid_topic.empty()) {
        compiled_->invalid =
            CompiledTemplate::compile(TopicTemplate::parse(cfg.output.invalid_topic));
    }
    for (const auto& vendor : config_->catalog.vendors()) {
        auto& texts = compiled_->entry_json.emplace_back();
        for (const auto& entry : vendor.entries) {
            std::string t = R"(,"known":true,"category":)";
            detail::JsonOut::append_escaped(t, entry.category);
            t += R"(,"severity":)";
            detail::JsonOut::append_escaped(t, catalog::to_string(entry.severity));
            t += entry.retryable ? R"(,"retryable":true,"message":)"
                                 : R"(,"retryable":false,"message":)";
            detail::JsonOut::append_escaped(t, entry.message.in(cfg.lang));
            t += R"(,"fix":)";
            detail::JsonOut::append_escaped(t, entry.fix.in(cfg.lang));
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
                detail::IdRule rule{id.key, {}, {}};
                for (const auto& p : id.pointers)
                    rule.pointers.push_back(Pointer::parse(p));
                c.rules.ids.push_back(std::move(rule));
            }
        }
        c.rules.firmware = r.firmware.value_or("");
        detail::index_root_keys(c.rules);
        std::vector<std::string> success;  // canonical spellings
        for (const auto& code : r.success.value_or(std::vector<std::string>{})) {
            auto key = catalog::parse_wire_code(c.vendor->code_style, code);
            success.push_back(key ? catalog::canonical_code(c.vendor->code_style, *key) : code);
        }
        for (const auto& entry : c.vendor->entries) {
            if (entry.kind == catalog::Kind::success && !entry.is_range)
                success.push_back(entry.code);
        }
        for (const auto& code : success) {
            auto key = catalog::parse_wire_code(c.vendor->code_style, code);
            if (key && catalog::canonical_code(c.vendor->code_style, *key) == code) {
                c.success_keys.push_back(*key);
            } else {
                c.success_texts.push_back(code);
            }
        }
        for (const auto& t : r.device.value_or(std::vector<std::string>{})) {
            c.device_templates.push_back(TopicTemplate::parse(t));
        }
        c.device_keys = r.device_keys.value_or(std::vector<std::string>{});
        detail::JsonOut::append_escaped(c.vendor_json, c.vendor->id);
        detail::JsonOut::append_escaped(c.route_json, route.name);
        c.site_to_code_json =
            R"(","site":)" + compiled_->site_json + R"(,"vendor":)" + c.vendor_json + R"(,"code":)";
        c.context_to_topic_json = R"(,"context":{"route":)" + c.route_json + R"(,"topic":)";
        c.id_seed = fnv1a64(std::string_view("\0", 1), fnv1a64(route.name));
        c.vendor_hash = hash_field(c.vendor->id, 0);
        // The matcher's patterns (the same as the routes'), whose captures it returns.
        const auto& pattern = config_->route_table.patterns()[compiled_->routes.size()];
        c.device = DevicePlan::compile(pattern.capture_names(), c.device_keys, c.rules.ids,
                                       c.device_templates);
        c.output = compiled_->output.for_route(cfg.site, c.vendor->id, route.name);
        if (compiled_->invalid) {
            c.invalid = compiled_->invalid->for_route(cfg.site, c.vendor->id, route.name);
        }
        compiled_->routes.push_back(std::move(c));
    }
}

Decoder::~Decoder() = default;
Decoder::Decoder(Decoder&&) noexcept = default;
Decoder& Decoder::operator=(Decoder&&) noexcept = default;

namespace {

// The Alink `method` a topic names, with `/` still to become `.`:
// `/sys/{pk}/{dn}/thing/event/property/post_reply` -> `thing/event/property/post`.
std::optional<std::string_view> alink_method_path(std::string_view topic) {
    if (topic.rfind("/sys/", 0) != 0) return std::nullopt;
    // Levels 0 ("") to 3 (device name) are skipped: the method starts after the 4th '/'.
    std::size_t start = 0;
    for (int slash = 0; slash < 4; ++slash) {
        start = topic.find('/', start);
        if (start == std::string_view::npos) return std::nullopt;
        ++start;
    }
    std::string_view path = topic.substr(start);
    if (path.size() > 6 && path.substr(path.size() - 6) == "_reply") path.remove_suffix(6);
    return path;
}

std::string_view request_topic(std::string_view topic) {
    if (topic.size() > 6 && topic.substr(topic.size() - 6) == "_reply") {
        return topic.substr(0, topic.size() - 6);
    }
    return topic;
}

}  // namespace

namespace detail {

// One value of an event's device object or `{device}` text (DeviceValues).
struct DeviceValue {
    std::string_view text;
    bool present = false;       // false: an id the payload lacks, and no capture
    bool from_payload = false;  // an id found in the payload, not a capture
};

// Everything a message needs beyond its own output, kept between messages.
struct Scratch {
    RouteScratch route;
    CaptureViews captures;  // of the matched route, views into the topic
    Extraction extraction;
    JsonScratch json;
    pugi::xml_document xml;
    std::int64_t ts_second = INT64_MIN;
    std::string ts;                          // "YYYY-MM-DDTHH:MM:SS.mmmZ" of the current message
    std::string device;                      // the rendered {device} of the current event
    std::vector<DeviceValue> device_values;  // of the current event, per DevicePlan slot
    std::string method;                      // derived from an Alink topic
    std::string message;                     // unknown codes: the event's message and fix
    std::string fix;
    std::string dead_letter;  // JSON text of the dead letter (the cold path writes here first)
    // Where the current message's escaped `raw` sits in DecodeResult::buffer once its first
    // event is written: later events of the same message copy it.
    std::size_t raw_offset = 0;
    std::size_t raw_size = 0;
};

void ScratchDelete::operator()(Scratch* scratch) const {
    delete scratch;
}

}  // namespace detail

namespace {

struct MessageView {
    std::string_view topic;
    std::string_view payload;
    std::string_view ts;
    const config::RouteConfig* route;
    const CompiledRoute* compiled;
    const detail::CaptureViews* captures;
    const config::Config* config;
    const catalog::Catalog* catalog;
    const CompiledTemplate* output;
    const CompiledTemplate* invalid;  // null: dead letters disabled
    const std::vector<std::vector<std::string>>* entry_json;
    detail::Scratch* scratch;
    detail::JsonEscaper escape_raw;
    // FNV-1a over route, topic and payload, shared by every event of the message; each
    // event continues it with its path (and sub-device element). The payload's part is hashed
    // in steps while the first event is written (SteppedFnv).
    SteppedFnv* id;
    bool topic_plain;  // no byte of the topic (or of a capture) needs JSON escaping
    // The topic has no `+`, `#` or NUL: a capture, which never spans a `/`, is a valid topic
    // level as it is (if not empty).
    bool captures_level_safe;
};

// The two facts MessageView keeps about the topic's bytes, from one pass.
struct TopicBytes {
    bool json_plain;  // nothing to escape in JSON text
    bool level_safe;  // no `+`, `#` or NUL
};

TopicBytes scan_topic(std::string_view topic) {
    const char* s = topic.data();
    const char* end = s + topic.size();
#if defined(__SSE2__)
    // Flagged bytes accumulate per lane; one movemask each at the end.
    __m128i escapes = _mm_setzero_si128();
    __m128i specials = _mm_setzero_si128();
    auto block = [&](const char* at) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
        const __m128i control = _mm_set1_epi8(0x1f);  // max(c, 0x1f) == 0x1f: c < 0x20
        escapes =
            _mm_or_si128(escapes, _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                                            _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                                               _mm_cmpeq_epi8(_mm_max_epu8(v, control), control)));
        specials =
            _mm_or_si128(specials, _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('+')),
                                                             _mm_cmpeq_epi8(v, _mm_set1_epi8('#'))),
                                                _mm_cmpeq_epi8(v, _mm_setzero_si128())));
    };
    for (; end - s >= 16; s += 16)
        block(s);
    if (s < end) {
        char tail[16];
        std::memset(tail, ' ', sizeof tail);  // spaces: neither escaped nor special
        detail::copy_short(tail, s, static_cast<std::size_t>(end - s));
        block(tail);
    }
    return {_mm_movemask_epi8(escapes) == 0, _mm_movemask_epi8(specials) == 0};
#else
    bool level_safe =
        std::none_of(s, end, [](char c) { return c == '+' || c == '#' || c == '\0'; });
    return {!detail::needs_escape(s, topic.size()), level_safe};
#endif
}

// Whether `value` holds a byte append_sanitised replaces in a single level: `+`, `#`, NUL
// or `/`. Ids and captures almost never do, so this test usually decides. Blocks of 16 bytes
// at once; ids are short, so the rest goes byte by byte (a padded block costs more).
bool has_topic_special(std::string_view value) {
    const char* at = value.data();
    const char* end = at + value.size();
#if defined(__SSE2__)
    for (; end - at >= 16; at += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
        const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('+')),
                                                      _mm_cmpeq_epi8(v, _mm_set1_epi8('#'))),
                                         _mm_or_si128(_mm_cmpeq_epi8(v, _mm_setzero_si128()),
                                                      _mm_cmpeq_epi8(v, _mm_set1_epi8('/'))));
        if (_mm_movemask_epi8(hit)) return true;
    }
#endif
    for (; at < end; ++at) {
        if (*at == '+' || *at == '#' || *at == '\0' || *at == '/') return true;
    }
    return false;
}

// config::append_sanitised (`+`, `#`, NUL, and `/` unless keep_slashes, become `_`; no level
// may be empty), appending the runs between replacements whole instead of byte by byte.
void append_sanitised(std::string& out, std::string_view value, bool keep_slashes) {
    if (!keep_slashes && !value.empty() && !has_topic_special(value)) {
        out.append(value);  // the usual id or capture: nothing to replace
        return;
    }
    if (value.empty()) {
        out += '_';
        return;
    }
    std::size_t run = 0;    // start of the bytes not yet appended
    std::size_t level = 0;  // where the current level of the value starts
    for (std::size_t i = 0; i < value.size(); ++i) {
        char c = value[i];
        if (c != '+' && c != '#' && c != '\0' && c != '/') continue;
        out.append(value.data() + run, i - run);
        run = i + 1;
        if (c != '/' || !keep_slashes) {
            out += '_';
            continue;
        }
        if (i == level) out += '_';  // an empty level inside {device}
        out += '/';
        level = i + 1;
    }
    out.append(value.data() + run, value.size() - run);
    if (level == value.size()) out += '_';
}

// The values an event's device object and `{device}` text are made of, one per slot of the
// route's DevicePlan: the id found in the payload, else the capture.
class DeviceValues {
  public:
    DeviceValues(const MessageView& m, const Found* found) {
        const auto& slots = m.compiled->device.slots;
        const auto& rules = m.compiled->rules.ids;
        const detail::CaptureViews& captures = *m.captures;
        std::vector<detail::DeviceValue>& storage = m.scratch->device_values;
        storage.resize(slots.size());
        values_ = storage.data();
        for (std::size_t i = 0; i < slots.size(); ++i) {
            const DevicePlan::Source& source = slots[i];
            // Set in place, field by field: a whole struct built aside costs a copy through
            // the stack per slot.
            detail::DeviceValue& value = values_[i];
            value.present = false;
            value.from_payload = false;
            if (found && source.id >= 0) {
                const char* key = rules[static_cast<std::size_t>(source.id)].key.data();
                for (const auto& [found_key, text] : found->ids) {
                    if (found_key.data() != key) continue;  // found_key views the rule's
                    value.text = text;
                    value.present = true;
                    value.from_payload = true;
                }
            }
            if (!value.present && source.capture >= 0 &&
                static_cast<std::size_t>(source.capture) < captures.size()) {
                value.text = captures[static_cast<std::size_t>(source.capture)].second;
                value.present = true;
            }
            if (value.present) escaped_bytes_ += detail::escaped_bound(value.text.size());
        }
    }
    // The most the values take as JSON strings, each at most once (Sink's reservation).
    std::size_t escaped_bytes() const { return escaped_bytes_; }
    std::optional<std::string_view> value(std::size_t slot) const {
        const detail::DeviceValue& v = values_[slot];
        return v.present ? std::optional<std::string_view>(v.text) : std::nullopt;
    }
    bool from_payload(std::size_t slot) const { return values_[slot].from_payload; }

  private:
    detail::DeviceValue* values_;  // Scratch::device_values
    std::size_t escaped_bytes_ = 0;
};

// The first template whose placeholders all have a non-empty value; null when none has.
const std::vector<DevicePlan::Part>* complete_template(const DevicePlan& plan,
                                                       const DeviceValues& values) {
    for (const auto& parts : plan.templates) {
        bool complete = std::all_of(parts.begin(), parts.end(), [&](const DevicePlan::Part& part) {
            if (!part.placeholder) return true;
            auto v = values.value(part.slot);
            return v && !v->empty();
        });
        if (complete) return &parts;
    }
    return nullptr;
}

// Renders `{device}`: the first template whose placeholders all have a non-empty value
// wins; without one, the first renders with `_` gaps. Each id is sanitised as a single
// level; the template's own `/` stay.
void render_device(const DevicePlan& plan, const DeviceValues& values, std::string& rendered) {
    rendered.clear();
    if (plan.templates.empty()) return;
    const std::vector<DevicePlan::Part>* chosen = complete_template(plan, values);
    if (!chosen) chosen = &plan.templates.front();
    for (const auto& part : *chosen) {
        if (!part.placeholder) {
            rendered += part.text;
        } else {
            append_sanitised(rendered, values.value(part.slot).value_or(""), false);
        }
    }
}

struct Meaning {
    bool known = false;
    std::string_view category = "unknown";
    std::string_view severity = "warning";
    std::optional<bool> retryable;
    std::string_view message;  // into the catalog, or the scratch for unknown codes
    std::string_view fix;
    // `,"known":true,...,"fix":"..."` prepared for the entry, when its own texts apply
    // (empty otherwise: the fields above are written one by one).
    std::string_view known_to_fix_json;
    std::optional<int> http_status;
};

Meaning meaning_of(const MessageView& m, const Found& found,
                   const std::optional<std::string_view>& firmware) {
    Meaning out;
    const catalog::Vendor& vendor = *m.compiled->vendor;
    catalog::Lang lang = m.config->lang;
    const std::optional<std::int64_t>& key = found.code.key;
    const catalog::Entry* entry = key ? m.catalog->find(m.compiled->vendor_index, *key) : nullptr;
    if (!entry) {
        std::string& message = m.scratch->message;
        std::string& fix = m.scratch->fix;
        // An empty vendor message tells the reader nothing; the event still needs a line.
        if (found.vendor_message && !found.vendor_message->empty()) {
            message.assign(*found.vendor_message);
        } else {
            message.assign("code not in the ").append(vendor.id).append(" catalog");
        }
        fix.assign("errbridge does not know this ")
            .append(vendor.id)
            .append(" code: look it up in the ")
            .append(vendor.title.empty() ? vendor.id : vendor.title)
            .append(
                " documentation and add it to a site catalog file listed in catalog.paths "
                "(format: catalog/README.md).");
        out.message = message;
        out.fix = fix;
        return out;
    }
    out.known = true;
    out.category = entry->category;
    out.severity = catalog::to_string(entry->severity);
    out.retryable = entry->retryable;
    out.message = entry->message.in(lang);
    out.fix = entry->fix.in(lang);
    out.known_to_fix_json =
        (*m.entry_json)[static_cast<std::size_t>(m.compiled->vendor_index)]
                       [static_cast<std::size_t>(entry - vendor.entries.data())];
    out.http_status = entry->http_status;
    auto override_with = [&](const catalog::Text& message, const catalog::Text& fix) {
        if (!message.empty()) {
            out.message = message.in(lang);
            out.known_to_fix_json = {};
        }
        if (!fix.empty()) {
            out.fix = fix.in(lang);
            out.known_to_fix_json = {};
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

// The value an output-template placeholder stands for, but `{device}` (rendered apart) and
// literal text: shared by render_topic and render_plain_topic.
[[gnu::always_inline]] inline std::string_view placeholder_value(
    const CompiledTemplate::Part& part, const MessageView& m, std::string_view vendor,
    std::string_view category, std::string_view severity, std::string_view code) {
    using Source = CompiledTemplate::Source;
    switch (part.source) {
        case Source::site:
            return m.config->site;
        case Source::vendor:
            return vendor;
        case Source::category:
            return category;
        case Source::severity:
            return severity;
        case Source::code:
            return code;
        case Source::route:
            return m.route->name;
        case Source::capture:
            for (const auto& [k, v] : *m.captures) {
                if (k == part.text) return v;
            }
            return {};
        case Source::text:
        case Source::device:
            break;
    }
    return {};
}

void render_topic(std::string& out, const CompiledTemplate& t, const MessageView& m,
                  std::string_view vendor, std::string_view category, std::string_view severity,
                  std::string_view code, std::string_view device) {
    using Source = CompiledTemplate::Source;
    out.clear();
    for (const auto& part : t.parts) {
        if (part.source == Source::text) {
            out += part.text;
        } else if (part.source != Source::device) {
            append_sanitised(out, placeholder_value(part, m, vendor, category, severity, code),
                             false);
        } else if (m.compiled->device.renders_sanitised && !device.empty()) {
            out += device;  // render_device made it a valid run of levels already
        } else {
            append_sanitised(out, device, true);
        }
    }
}

// render_topic for the usual message, where no value needs sanitising: the pieces are
// gathered in a local buffer, then stored in `out` with one append instead of one each.
// False, with `out` untouched, when a value is empty or holds a byte append_sanitised
// replaces, when the topic is longer than the buffer, or when {device} would need more than
// its template and values.
bool render_plain_topic(std::string& out, const CompiledTemplate& t, const MessageView& m,
                        std::string_view vendor, std::string_view category,
                        std::string_view severity, std::string_view code,
                        const DeviceValues& values) {
    using Source = CompiledTemplate::Source;
    char text[256];
    std::size_t size = 0;
    auto add = [&](std::string_view piece) {
        if (piece.size() > sizeof text - size) return false;
        detail::copy_bytes(text + size, piece.data(), piece.size());
        size += piece.size();
        return true;
    };
    auto add_level = [&](std::string_view value) {
        return !value.empty() && !has_topic_special(value) && add(value);
    };
    // A capture needs no scan of its own when the topic has no special byte.
    auto add_capture = [&](std::string_view value) {
        return m.captures_level_safe ? !value.empty() && add(value) : add_level(value);
    };
    for (const auto& part : t.parts) {
        bool ok = true;
        switch (part.source) {
            case Source::text:
                ok = add(part.text);
                break;
            case Source::device: {
                // render_device's choice, when it has one (else `_` gaps or no template): the
                // first template with every value present, found while its pieces are added.
                const DevicePlan& plan = m.compiled->device;
                if (!plan.renders_sanitised) return false;
                ok = false;
                for (const auto& parts : plan.templates) {
                    const std::size_t size_before = size;
                    bool complete = true;
                    for (const auto& p : parts) {
                        if (!p.placeholder) {
                            if (!add(p.text)) return false;
                            continue;
                        }
                        const std::optional<std::string_view> value = values.value(p.slot);
                        if (!value || value->empty()) {
                            complete = false;
                            break;
                        }
                        if (!(values.from_payload(p.slot) ? add_level(*value)
                                                          : add_capture(*value)))
                            return false;
                    }
                    if (complete) {
                        ok = true;
                        break;
                    }
                    size = size_before;
                }
                break;
            }
            default: {
                std::string_view value =
                    placeholder_value(part, m, vendor, category, severity, code);
                ok = part.source == Source::capture ? add_capture(value) : add_level(value);
                break;
            }
        }
        if (!ok) return false;
    }
    // clear() and append(): libstdc++'s assign() goes through _M_replace, whose overlap
    // handling costs several times the copy of a short topic.
    out.clear();
    out.append(text, size);
    return true;
}

using detail::JsonOut;
using detail::Sink;

std::uint64_t hash_optional(const std::optional<std::string_view>& value, std::uint64_t hash) {
    return value ? hash_field(*value, key_mix(hash, 1)) : key_mix(hash, 0);
}

// SPEC §8's key: (vendor, the whole device object, code, context.tag). The device object is
// compared as JSON compares objects, whatever the member order: the pairs' hashes are summed.
// `vendor_hash` is hash_field(vendor) and each member's name_hash hash_field(name), both
// from compile time.
std::uint64_t suppression_key(std::uint64_t vendor_hash,
                              const std::vector<DevicePlan::Member>& members,
                              const DeviceValues& values, std::optional<std::string_view> code,
                              std::optional<std::string_view> tag) {
    std::uint64_t pairs = 0;
    for (const auto& member : members) {
        if (auto v = values.value(member.slot)) {
            pairs += avalanche(hash_field(*v, member.name_hash));
        }
    }
    std::uint64_t hash = key_mix(vendor_hash, pairs);
    return avalanche(hash_optional(tag, hash_optional(code, hash)));
}

// A text copied as it is when it is known to need no escaping, else escaped.
[[gnu::always_inline]] inline void write_text(Sink& out, std::string_view value, bool plain) {
    if (plain) {
        out.plain_string(value);
    } else {
        out.string(value);
    }
}

// `{"name":"value",...}`: the device object and context.captures. Names need no escaping
// (they were escaped when the route was compiled); values come from the topic (captures)
// or the payload (ids), each copied as it is when known to need no escaping.
[[gnu::always_inline]] inline void write_members(Sink& out,
                                                 const std::vector<DevicePlan::Member>& members,
                                                 const DeviceValues& values, bool plain_captures,
                                                 bool plain_ids) {
    out.byte('{');
    bool first = true;
    for (const auto& member : members) {
        const auto value = values.value(member.slot);
        if (!value) continue;  // an id the payload does not have
        if (!first) out.byte(',');
        first = false;
        out.raw(member.name_json);
        write_text(out, *value, values.from_payload(member.slot) ? plain_ids : plain_captures);
    }
    out.byte('}');
}

[[gnu::always_inline]] inline void write_optional(Sink& out,
                                                  const std::optional<std::string_view>& value,
                                                  bool plain) {
    if (value) {
        write_text(out, *value, plain);
    } else {
        out.literal("null");
    }
}

// More than write_event writes around its texts: its literals come to 421 bytes even if every
// alternative were written, plus 16 hex digits of id and a number of at most 20.
constexpr std::size_t event_fixed_bytes = 512;

// The most write_event can write for this event, reserved up front so that its pieces need no
// check each: every text at its escaped worst case, names and prepared fragments as they are.
// A piece added to the event must be added here too (Sink::close stops on an overrun).
std::size_t event_bound(const MessageView& m, const Found* found, const Extraction& x,
                        const Meaning& meaning, const DeviceValues& device,
                        std::string_view canonical) {
    using detail::escaped_bound;
    auto text = [](const std::optional<std::string_view>& value) {
        return value ? escaped_bound(value->size()) : 0;
    };
    std::size_t meaning_bytes = meaning.known_to_fix_json.size();
    if (meaning_bytes == 0) {
        meaning_bytes = text(meaning.category) + text(meaning.severity) + text(meaning.message) +
                        text(meaning.fix);
    }
    std::size_t raw = m.scratch->raw_size;
    if (raw == 0 && m.config->output.include_raw) {
        raw = escaped_bound(
            std::min(m.payload.size(), static_cast<std::size_t>(m.config->output.raw_max_bytes)));
    }
    return event_fixed_bytes + m.ts.size() + m.compiled->site_to_code_json.size() +
           text(canonical) + meaning_bytes + m.compiled->device.members_json_bytes +
           device.escaped_bytes() + m.compiled->context_to_topic_json.size() + text(m.topic) +
           (found ? text(found->path) : 0) + text(x.request_id) +
           text(x.method ? *x.method : m.topic) +  // a method made from the topic is shorter
           text(found && found->vendor_message ? found->vendor_message : x.top_message) +
           text(found ? found->tag : std::nullopt) + text(x.firmware) + raw;
}

// The event is written as constant fragments (keys, punctuation and pre-escaped texts
// joined) and escaped values, in SPEC §6's member order.
void write_event(DecodeResult& result, const MessageView& m, const Found* found,
                 const Extraction& x, bool success) {
    std::string_view canonical = found ? std::string_view(found->code.text) : std::string_view();
    Meaning meaning;
    if (found && !success) {
        meaning = meaning_of(m, *found, x.firmware);
    } else {
        meaning.known = true;
        meaning.category = "success";
        meaning.severity = "info";
        meaning.retryable = false;
        meaning.message =
            x.top_message && !x.top_message->empty() ? *x.top_message : std::string_view("success");
        meaning.fix = "No action needed.";
    }
    SteppedFnv& id = *m.id;
    id.step();
    const DeviceValues device(m, found);
    Publication& p = result.add();
    p.kind = success ? Publication::Kind::success : Publication::Kind::error;
    p.vendor = m.compiled->vendor->id;
    p.code.clear();  // as in render_plain_topic: cheaper than assign() for short text
    p.code.append(canonical);
    p.severity = meaning.severity;
    p.category = meaning.category;
    p.known = meaning.known;
    if (!success && !meaning.known) ++result.unknown_codes;
    if (!render_plain_topic(p.topic, *m.output, m, p.vendor, p.category, p.severity, canonical,
                            device)) {
        render_device(m.compiled->device, device, m.scratch->device);
        render_topic(p.topic, *m.output, m, p.vendor, p.category, p.severity, canonical,
                     m.scratch->device);
    }
    id.step();
    p.suppression_key = suppression_key(
        m.compiled->vendor_hash, m.compiled->device.ids, device,
        canonical.empty() ? std::nullopt : std::optional<std::string_view>(canonical),
        found ? found->tag : std::nullopt);
    id.step();

    Sink b(result.buffer, event_bound(m, found, x, meaning, device, canonical));
    if (success) {
        b.literal(R"({"schema":"errbridge/1","kind":"success","id":")");
    } else {
        b.literal(R"({"schema":"errbridge/1","kind":"error","id":")");
    }
    // The id goes in last: the payload's hash is finished after the other pieces.
    char* id_at = b.skip(16);
    b.literal(R"(","ts":")");
    b.raw(m.ts);  // digits and separators only: nothing to escape
    b.raw(m.compiled->site_to_code_json);
    if (canonical.empty()) {
        b.literal("null");
    } else {
        write_text(b, canonical, x.plain_texts);
    }
    id.step();
    if (!meaning.known_to_fix_json.empty()) {
        b.raw(meaning.known_to_fix_json);
    } else {
        if (meaning.known) {
            b.literal(R"(,"known":true,"category":)");
        } else {
            b.literal(R"(,"known":false,"category":)");
        }
        b.string(meaning.category);
        b.literal(R"(,"severity":)");
        b.string(meaning.severity);
        b.literal(R"(,"retryable":)");
        if (!meaning.retryable) {
            b.literal("null");
        } else if (*meaning.retryable) {
            b.literal("true");
        } else {
            b.literal("false");
        }
        b.literal(R"(,"message":)");
        b.string(meaning.message);
        b.literal(R"(,"fix":)");
        b.string(meaning.fix);
    }
    id.step();
    b.literal(R"(,"device":)");
    write_members(b, m.compiled->device.ids, device, m.topic_plain, x.plain_texts);
    id.step();
    b.raw(m.compiled->context_to_topic_json);
    write_text(b, m.topic, m.topic_plain);
    id.step();
    b.literal(R"(,"path":)");
    if (found) {
        write_text(b, found->path, x.plain_texts);
    } else {
        b.literal("null");
    }
    b.literal(R"(,"request_id":)");
    write_optional(b, x.request_id, x.plain_texts);
    id.step();
    b.literal(R"(,"method":)");
    if (x.method) {
        write_text(b, *x.method, x.plain_texts);
    } else if (auto path = alink_method_path(m.topic)) {
        if (m.topic_plain) {
            b.bytes(path->size() + 2, [&](char* at) {
                *at++ = '"';
                for (char c : *path)
                    *at++ = c == '/' ? '.' : c;
                *at = '"';
            });
        } else {
            std::string& method = m.scratch->method;
            method.assign(*path);
            std::replace(method.begin(), method.end(), '/', '.');
            b.string(method);
        }
    } else {
        b.literal("null");
    }
    id.step();
    b.literal(R"(,"vendor_message":)");
    write_optional(b, found && found->vendor_message ? found->vendor_message : x.top_message,
                   x.plain_texts);
    b.literal(R"(,"tag":)");
    write_optional(b, found ? found->tag : std::nullopt, x.plain_texts);
    b.literal(R"(,"firmware":)");
    write_optional(b, x.firmware, false);
    id.step();
    b.literal(R"(,"http_status":)");
    if (meaning.http_status) {
        b.integer(*meaning.http_status);
    } else {
        b.literal("null");
    }
    b.literal(R"(,"captures":)");
    write_members(b, m.compiled->device.others, device, m.topic_plain, x.plain_texts);
    id.step();
    b.literal(R"(},"repeats":0,"raw":)");
    // The raw payload (and its flag) is the same for every event of the message: escaped
    // for the first, copied for the others.
    std::size_t raw_at = b.size();
    if (m.scratch->raw_size) {
        b.copy_within(m.scratch->raw_offset, m.scratch->raw_size);
    } else {
        const auto& config = m.config->output;
        if (!config.include_raw) {
            b.literal(R"(null,"raw_truncated":false})");
        } else {
            std::size_t keep =
                utf8_prefix(m.payload, static_cast<std::size_t>(config.raw_max_bytes));
            b.string(m.payload.substr(0, keep), m.escape_raw);
            if (keep < m.payload.size()) {
                b.literal(R"(,"raw_truncated":true})");
            } else {
                b.literal(R"(,"raw_truncated":false})");
            }
        }
        m.scratch->raw_offset = b.start() + raw_at;
        m.scratch->raw_size = b.size() - raw_at;
    }
    std::uint64_t hash = fnv1a_byte('\0', id.finish());
    if (found) {
        hash = fnv1a_short(found->path, hash);
        if (!found->element.empty()) {
            hash = fnv1a_byte('\0', hash);
            hash = fnv1a_short(found->element, hash);
        }
    }
    detail::store_hex16(id_at, hash);
    p.payload_offset = b.start();
    p.payload_size = b.size();
    b.close();
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
    render_topic(p.topic, *m.invalid, m, p.vendor, "", "", "", "");
    std::string& text = m.scratch->dead_letter;
    text.clear();
    JsonOut w(text);
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
    p.payload_offset = result.buffer.size();
    p.payload_size = text.size();
    result.buffer.append(text);
}

// `ts` for this message: the date part is formatted once per second.
std::string_view timestamp(detail::Scratch& scratch, std::int64_t now_ms) {
    std::int64_t second = now_ms >= 0 ? now_ms / 1000 : (now_ms - 999) / 1000;
    std::string& ts = scratch.ts;  // "YYYY-MM-DDTHH:MM:SS.000Z"
    if (second != scratch.ts_second) {
        ts = format_timestamp(second * 1000);
        scratch.ts_second = second;
    }
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
    if (!result.scratch) result.scratch.reset(new detail::Scratch());
    detail::Scratch& scratch = *result.scratch;
    scratch.raw_size = 0;
    std::size_t route = 0;
    if (!compiled_->matcher.match(topic, scratch.route, route, scratch.captures)) {
        result.status = DecodeResult::Status::unrouted;
        return;
    }
    result.route = route;
    if (payload.empty()) {
        result.status = DecodeResult::Status::empty;
        return;
    }
    const config::Config& cfg = config_->config;
    const CompiledRoute& compiled = compiled_->routes[route];
    MessageView m{topic,
                  payload,
                  timestamp(scratch, now_ms),
                  &cfg.routes[route],
                  &compiled,
                  &scratch.captures,
                  &cfg,
                  &config_->catalog,
                  &compiled.output,
                  compiled.invalid ? &*compiled.invalid : nullptr,
                  &compiled_->entry_json,
                  &scratch,
                  compiled_->escape_raw,
                  nullptr,
                  false,
                  false};

    // The event ids' common part: FNV-1a over route, topic and payload, NUL between them
    // (none of them can contain one, so they cannot run together). The topic now, so that
    // its chain of multiplies overlaps the extraction; the payload as the first event is
    // written (nothing before needs it, and dead letters never do).
    SteppedFnv id(fnv1a_byte('\0', fnv1a64(topic, compiled.id_seed)), payload);
    m.id = &id;

    if (payload.size() > static_cast<std::size_t>(cfg.limits.max_payload_bytes)) {
        write_dead_letter(result, m, DeadLetterReason::too_large,
                          std::to_string(payload.size()) + " bytes, limits.max_payload_bytes = " +
                              std::to_string(cfg.limits.max_payload_bytes));
        return;
    }
    Extraction& x = scratch.extraction;
    x.clear();
    if (compiled.rules.xml) {
        if (!valid_utf8(payload)) {
            write_dead_letter(result, m, DeadLetterReason::bad_utf8,
                              "the payload is not UTF-8 text (or contains NUL)");
            return;
        }
        detail::extract_xml(payload, compiled.rules, x, scratch.xml);
    } else {
        // Checks the UTF-8 itself: a payload its fast parse finds all ASCII needs no pass.
        detail::extract_json(payload, compiled.rules, x, scratch.json);
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
    TopicBytes topic_bytes = scan_topic(topic);
    m.topic_plain = topic_bytes.json_plain;
    m.captures_level_safe = topic_bytes.level_safe;
    const Found* first_success = nullptr;
    std::size_t errors = 0;
    for (const auto& found : x.codes) {
        bool success = found.code.key
                           ? std::find(compiled.success_keys.begin(), compiled.success_keys.end(),
                                       *found.code.key) != compiled.success_keys.end()
                           : std::find(compiled.success_texts.begin(), compiled.success_texts.end(),
                                       found.code.text) != compiled.success_texts.end();
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
