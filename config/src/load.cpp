// TOML -> Config: every key of SPEC §3 read with its type and range, every problem
// collected with its line, then the cross-checks that need the whole file (route names,
// vendors, placeholders, republish loops).

#include "errbridge/config/load.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "errbridge/config/topic_template.h"
#include "reader.h"

namespace errbridge::config {

using detail::Problems;
using detail::TableReader;

std::string Problem::format() const {
    return file + ":" + std::to_string(line) + ": " + key + ": " + reason;
}

namespace {

std::string join_problems(const std::vector<Problem>& problems) {
    std::string text;
    for (const auto& p : problems)
        text += (text.empty() ? "" : "\n") + p.format();
    return text;
}

}  // namespace

std::string credential_path(const Environment& env, const std::string& name) {
    std::string dir = env.getenv ? env.getenv("CREDENTIALS_DIRECTORY").value_or("") : "";
    if (!dir.empty() && !name.empty() && name[0] != '/') return dir + "/" + name;
    return name;
}

ConfigError::ConfigError(std::vector<Problem> problems)
    : std::runtime_error(join_problems(problems)), problems_(std::move(problems)) {}

Environment Environment::from_process() {
    Environment env;
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) == 0) env.hostname = name;
    env.is_root = ::geteuid() == 0;
    env.getenv = [](const std::string& key) -> std::optional<std::string> {
        const char* value = std::getenv(key.c_str());
        if (!value) return std::nullopt;
        return std::string(value);
    };
    return env;
}

namespace {

const std::vector<std::string> standard_placeholders = {"site", "vendor", "category", "severity",
                                                        "code", "route",  "device"};

// SPEC §5 table order; vendors added by site catalogs follow in catalog order.
const std::vector<std::string> default_route_vendor_order = {
    "aliyun", "neuron", "tuya-link", "tuya", "huawei-iotedge", "camera"};

bool valid_name(std::string_view name) {
    return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '.';
    });
}

std::string optional_env(const Environment& env, const std::string& key) {
    if (!env.getenv) return {};
    return env.getenv(key).value_or("");
}

std::string default_state_dir(const Environment& env) {
    std::string state = optional_env(env, "STATE_DIRECTORY");
    if (!state.empty()) return state.substr(0, state.find(':'));  // systemd may list several
    if (env.is_root) return "/var/lib/errbridge";
    std::string xdg = optional_env(env, "XDG_STATE_HOME");
    if (xdg.empty()) xdg = optional_env(env, "HOME") + "/.local/state";
    return xdg + "/errbridge";
}

// JSON Pointer (RFC 6901) with `*` segments, optionally relative (`../name`).
std::optional<std::string> pointer_problem(const std::string& pointer, bool allow_relative) {
    std::string_view p = pointer;
    if (allow_relative && p.rfind("../", 0) == 0) {
        p.remove_prefix(2);
    } else if (p.rfind("../", 0) == 0) {
        return "relative pointers (../) are not allowed here";
    }
    if (!p.empty() && p[0] != '/') return "a JSON Pointer starts with '/'";
    for (std::size_t i = 0; i < p.size(); ++i) {
        if (p[i] == '~' && (i + 1 == p.size() || (p[i + 1] != '0' && p[i + 1] != '1'))) {
            return "'~' must be followed by 0 or 1";
        }
    }
    return std::nullopt;
}

struct UriParts {
    std::string scheme;
    std::string host;
    int port = 0;
};

std::optional<std::string> uri_problem(const std::string& uri, UriParts& parts) {
    auto sep = uri.find("://");
    if (sep == std::string::npos) return "expected scheme://host[:port], got \"" + uri + "\"";
    parts.scheme = uri.substr(0, sep);
    static const std::vector<std::string> schemes = {"tcp", "ssl", "mqtts", "ws", "wss"};
    if (std::find(schemes.begin(), schemes.end(), parts.scheme) == schemes.end()) {
        return "scheme must be tcp, ssl, mqtts, ws or wss, got \"" + parts.scheme + "\"";
    }
    std::string rest = uri.substr(sep + 3);
    std::string authority = rest.substr(0, rest.find('/'));
    if (rest.find('/') != std::string::npos && parts.scheme != "ws" && parts.scheme != "wss") {
        return "only ws:// and wss:// URIs may have a path";
    }
    if (authority.find('@') != std::string::npos) {
        return "credentials do not belong in the URI; use username and password_file";
    }
    std::string port_text;
    if (!authority.empty() && authority[0] == '[') {
        auto close = authority.find(']');
        if (close == std::string::npos) return "unclosed '[' in IPv6 address";
        parts.host = authority.substr(1, close - 1);
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') return "expected ':' after the IPv6 address";
            port_text = authority.substr(close + 2);
        }
    } else {
        auto colon = authority.rfind(':');
        parts.host = authority.substr(0, colon);
        if (colon != std::string::npos) port_text = authority.substr(colon + 1);
    }
    if (parts.host.empty()) return "missing host in \"" + uri + "\"";
    if (!port_text.empty() || authority.back() == ':') {
        bool digits = !port_text.empty() && port_text.size() <= 5 &&
                      std::all_of(port_text.begin(), port_text.end(),
                                  [](char c) { return c >= '0' && c <= '9'; });
        int port = digits ? std::stoi(port_text) : 0;
        if (port < 1 || port > 65535) return "port must be 1-65535, got \"" + port_text + "\"";
        parts.port = port;
    }
    return std::nullopt;
}

std::optional<std::string> listen_problem(const std::string& listen) {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos || colon == 0)
        return "expected host:port, got \"" + listen + "\"";
    std::string port_text = listen.substr(colon + 1);
    bool digits = !port_text.empty() && port_text.size() <= 5 &&
                  std::all_of(port_text.begin(), port_text.end(),
                              [](char c) { return c >= '0' && c <= '9'; });
    int port = digits ? std::stoi(port_text) : 0;
    if (port < 1 || port > 65535) return "port must be 1-65535, got \"" + port_text + "\"";
    std::string host = listen.substr(0, colon);
    if (host.front() == '[' && host.back() != ']') return "unclosed '[' in IPv6 address";
    return std::nullopt;
}

void check_readable(TableReader& reader, const std::string& key, const std::string& name,
                    const Environment& env) {
    if (name.empty()) return;
    std::string path = credential_path(env, name);
    std::ifstream file(path);
    if (!file) {
        reader.problem(key, "cannot read " + path + ": " + std::strerror(errno));
    }
}

void read_broker(TableReader r, Config& config, const Environment& env) {
    BrokerConfig& b = config.broker;
    UriParts uri;
    if (auto v = r.string("uri")) {
        if (auto why = uri_problem(*v, uri)) {
            r.problem("uri", *why);
        } else {
            b.uri = *v;
        }
    } else {
        uri_problem(b.uri, uri);
    }
    if (auto v = r.string("client_id")) {
        if (v->empty() || v->size() > 128 || v->find_first_of("/\\") != std::string::npos ||
            *v == "." || *v == ".." || v->find('\0') != std::string::npos) {
            r.problem("client_id",
                      "must be 1-128 characters without / or \\ (it names the "
                      "state directory)");
        } else {
            b.client_id = *v;
        }
    }
    if (auto v = r.integer("mqtt_version", 3, 5)) {
        if (*v == 4) {
            r.problem("mqtt_version", "must be 5 or 3 (MQTT 3.1.1), got 4");
        } else {
            b.mqtt_version = static_cast<int>(*v);
        }
    }
    if (auto v = r.string("username")) b.username = *v;
    const std::pair<const char*, std::string*> files[] = {{"password_file", &b.password_file},
                                                          {"ca_file", &b.ca_file},
                                                          {"cert_file", &b.cert_file},
                                                          {"key_file", &b.key_file}};
    bool tls = uri.scheme == "ssl" || uri.scheme == "mqtts" || uri.scheme == "wss";
    for (const auto& [key, field] : files) {
        auto v = r.string(key);
        if (!v) continue;
        *field = *v;
        check_readable(r, key, *v, env);
        if (!tls && field != &b.password_file && !v->empty()) {
            r.problem(key, "TLS files need an ssl://, mqtts:// or wss:// uri (the uri is " +
                               uri.scheme + "://)");
        }
    }
    if (!b.key_file.empty() && b.cert_file.empty()) {
        r.problem("key_file", "a client key needs cert_file too");
    }
    if (auto v = r.integer("keepalive_s", 5, 65535)) b.keepalive_s = static_cast<int>(*v);
    if (auto v = r.integer("session_expiry_s", 0, 4294967295LL)) b.session_expiry_s = *v;
    if (auto v = r.string("shared_group")) {
        if (!v->empty() && (v->find_first_of("/+#") != std::string::npos)) {
            r.problem("shared_group", "must not contain /, + or #");
        } else {
            b.shared_group = *v;
        }
    }
    if (auto v = r.string("state_dir")) b.state_dir = *v;
    if (auto v = r.string("persistence")) {
        if (*v != "file" && *v != "memory") {
            r.problem("persistence", "must be \"file\" or \"memory\", got \"" + *v + "\"");
        } else {
            b.persistence = *v;
        }
    }
    if (auto v = r.integer("max_buffered", 1, 100'000'000)) b.max_buffered = *v;
    if (auto v = r.integer("max_buffered_bytes", 65536, 4'294'967'296LL)) b.max_buffered_bytes = *v;
    auto min_s = r.integer("reconnect_min_s", 1, 3600);
    auto max_s = r.integer("reconnect_max_s", 1, 3600);
    if (min_s) b.reconnect_min_s = static_cast<int>(*min_s);
    if (max_s) b.reconnect_max_s = static_cast<int>(*max_s);
    if (b.reconnect_max_s < b.reconnect_min_s) {
        r.problem(max_s ? "reconnect_max_s" : "reconnect_min_s",
                  "reconnect_max_s (" + std::to_string(b.reconnect_max_s) +
                      ") must not be below reconnect_min_s (" + std::to_string(b.reconnect_min_s) +
                      ")");
    }
    r.reject_unknown({"uri", "client_id", "mqtt_version", "username", "password_file", "ca_file",
                      "cert_file", "key_file", "keepalive_s", "session_expiry_s", "shared_group",
                      "state_dir", "persistence", "max_buffered", "max_buffered_bytes",
                      "reconnect_min_s", "reconnect_max_s"});
}

struct TemplateCheck {
    std::optional<TopicTemplate> parsed;
    std::size_t line = 0;
};

TemplateCheck read_template(TableReader& r, const std::string& key, std::string& target,
                            bool may_be_empty) {
    TemplateCheck check;
    auto v = r.string(key);
    if (!v) {
        if (!target.empty()) check.parsed = TopicTemplate::parse(target);
        check.line = r.line();
        return check;
    }
    const toml::value* raw = r.raw(key);
    check.line = raw->location().line();
    target = *v;
    if (v->empty()) {
        if (!may_be_empty) r.problem(key, "must not be empty");
        return check;
    }
    try {
        check.parsed = TopicTemplate::parse(*v);
    } catch (const std::invalid_argument& e) {
        r.problem(key, std::string("bad template: ") + e.what());
    }
    return check;
}

void read_output(TableReader r, Config& config, TemplateCheck& topic, TemplateCheck& invalid) {
    OutputConfig& o = config.output;
    topic = read_template(r, "topic", o.topic, false);
    if (auto v = r.integer("qos", 0, 2)) o.qos = static_cast<int>(*v);
    if (auto v = r.boolean("retain")) o.retain = *v;
    if (auto v = r.boolean("emit_success")) o.emit_success = *v;
    if (auto v = r.boolean("include_raw")) o.include_raw = *v;
    if (auto v = r.integer("raw_max_bytes", 0, 268435455)) o.raw_max_bytes = *v;
    invalid = read_template(r, "invalid_topic", o.invalid_topic, true);
    if (invalid.parsed) {
        for (const auto& name : invalid.parsed->placeholders()) {
            if (name != "site" && name != "route" && name != "vendor") {
                r.problem("invalid_topic", "placeholder {" + name +
                                               "} is not available for dead letters (use site, "
                                               "route or vendor)");
            }
        }
    }
    r.reject_unknown({"topic", "qos", "retain", "emit_success", "include_raw", "raw_max_bytes",
                      "invalid_topic"});
}

std::optional<catalog::SuccessFlag> read_success_when(TableReader& route, Problems& problems) {
    const toml::value* raw = route.raw("success_when");
    if (!raw) return std::nullopt;
    if (!raw->is_table()) {
        route.problem("success_when",
                      "expected a table such as { pointer = \"/success\", equals "
                      "= true }, got " +
                          detail::type_name(*raw));
        return std::nullopt;
    }
    TableReader r(raw, route.key_name("success_when"), problems);
    catalog::SuccessFlag flag;
    auto pointer = r.string("pointer");
    if (!pointer) {
        if (!r.raw("pointer")) r.missing("pointer", "required key is missing");
        return std::nullopt;
    }
    if (auto why = pointer_problem(*pointer, false)) r.problem("pointer", *why);
    flag.pointer = *pointer;
    const toml::value* equals = r.raw("equals");
    const toml::value* not_equals = r.raw("not_equals");
    if ((equals == nullptr) == (not_equals == nullptr)) {
        r.missing("equals", "needs exactly one of equals, not_equals");
        return std::nullopt;
    }
    const toml::value& expected = equals ? *equals : *not_equals;
    flag.op = equals ? catalog::SuccessFlag::Op::equals : catalog::SuccessFlag::Op::not_equals;
    if (expected.is_boolean()) {
        flag.value_json = expected.as_boolean() ? "true" : "false";
    } else if (expected.is_string()) {
        flag.value_json = "\"" + expected.as_string().str + "\"";
    } else if (expected.is_integer()) {
        flag.value_json = std::to_string(expected.as_integer());
    } else {
        r.problem(equals ? "equals" : "not_equals",
                  "expected a boolean, string or integer, got " + detail::type_name(expected));
        return std::nullopt;
    }
    r.reject_unknown({"pointer", "equals", "not_equals"});
    return flag;
}

struct RouteDraft {
    RouteConfig route;
    std::size_t line = 0;
    std::size_t name_line = 0;
    bool named = false;
    bool ok = true;
    std::string key;  // "route[N]"
    std::optional<TopicTemplate> device_template;
    std::size_t device_line = 0;
};

RouteDraft read_route(const toml::value& value, std::size_t index, const catalog::Catalog& catalog,
                      Problems& problems) {
    RouteDraft draft;
    draft.key = "route[" + std::to_string(index + 1) + "]";
    draft.line = value.location().line();
    draft.route.line = static_cast<int>(draft.line);
    if (!value.is_table()) {
        problems.add(draft.line, draft.key, "expected a table");
        draft.ok = false;
        return draft;
    }
    TableReader r(&value, draft.key, problems);
    if (auto name = r.string("name")) {
        draft.name_line = r.raw("name")->location().line();
        if (!valid_name(*name)) {
            r.problem("name", "use 1-64 letters, digits, _, - or . (it is a metrics label)");
        } else {
            draft.route.name = *name;
            draft.named = true;
        }
    }
    auto vendor = r.string("vendor");
    const catalog::Vendor* vendor_catalog = nullptr;
    if (!vendor) {
        if (!r.raw("vendor")) r.missing("vendor", "required key is missing");
        draft.ok = false;
    } else {
        vendor_catalog = catalog.vendor(*vendor);
        if (!vendor_catalog) {
            std::string known;
            for (const auto& v : catalog.vendors())
                known += (known.empty() ? "" : ", ") + v.id;
            r.problem("vendor", "unknown vendor \"" + *vendor + "\" (catalogs: " + known + ")");
            draft.ok = false;
        } else {
            draft.route.vendor = *vendor;
        }
    }
    auto topic = r.string("topic");
    if (!topic) {
        if (!r.raw("topic")) r.missing("topic", "required key is missing");
        draft.ok = false;
    } else {
        try {
            draft.route.pattern = TopicPattern::parse(*topic);
            draft.route.topic = *topic;
        } catch (const std::invalid_argument& e) {
            r.problem("topic", std::string("bad pattern: ") + e.what());
            draft.ok = false;
        }
    }
    catalog::DecodeRules overrides;
    if (auto format = r.string("format")) {
        if (*format != "json" && *format != "xml") {
            r.problem("format", "must be \"json\" or \"xml\", got \"" + *format + "\"");
        } else {
            overrides.format = *format;
        }
    }
    auto read_pointers = [&](const std::string& key, bool relative, bool single) {
        std::optional<std::vector<std::string>> pointers;
        if (single) {
            if (auto v = r.string(key)) pointers = std::vector<std::string>{*v};
        } else {
            pointers = r.strings(key);
        }
        if (!pointers) return pointers;
        if (pointers->empty()) {
            r.problem(key, "needs at least one pointer");
            return std::optional<std::vector<std::string>>{};
        }
        for (const auto& p : *pointers) {
            if (auto why = pointer_problem(p, relative)) {
                r.problem(key, "bad pointer \"" + p + "\": " + *why);
                return std::optional<std::vector<std::string>>{};
            }
        }
        return pointers;
    };
    overrides.code = read_pointers("code", false, false);
    overrides.message = read_pointers("message", true, true);
    if (auto tag = read_pointers("tag", true, true)) overrides.tag = tag->front();
    if (auto id = read_pointers("request_id", true, true)) overrides.request_id = id->front();
    if (const toml::value* success = r.raw("success")) {
        std::vector<std::string> codes;
        bool good = success->is_array();
        if (good) {
            for (const auto& item : success->as_array()) {
                if (item.is_string()) {
                    codes.push_back(item.as_string().str);
                } else if (item.is_integer()) {
                    codes.push_back(std::to_string(item.as_integer()));
                } else {
                    good = false;
                }
            }
        }
        if (!good) {
            r.problem("success", "expected an array of codes such as [\"200\"] or [0]");
        } else {
            overrides.success = codes;
        }
    }
    overrides.success_when = read_success_when(r, problems);
    if (const toml::value* ids = r.table("ids")) {
        TableReader ids_reader(ids, r.key_name("ids"), problems);
        std::vector<catalog::IdSource> sources;
        for (const auto& [key, item] : ids->as_table()) {
            auto pointer = ids_reader.string(key);
            if (!pointer) continue;
            if (auto why = pointer_problem(*pointer, true)) {
                ids_reader.problem(key, "bad pointer \"" + *pointer + "\": " + *why);
                continue;
            }
            sources.push_back({key, {*pointer}});
        }
        std::sort(sources.begin(), sources.end(),
                  [](const auto& a, const auto& b) { return a.key < b.key; });
        overrides.ids = sources;
    }
    if (auto firmware = r.string("firmware")) {
        if (*firmware != "v1.9" && *firmware != "v2.0") {
            r.problem("firmware", "must be \"v1.9\" or \"v2.0\", got \"" + *firmware + "\"");
        } else {
            overrides.firmware = *firmware;
        }
    }
    if (auto device = r.string("device")) {
        try {
            draft.device_template = TopicTemplate::parse(*device);
            draft.device_line = r.raw("device")->location().line();
            overrides.device = std::vector<std::string>{*device};
        } catch (const std::invalid_argument& e) {
            r.problem("device", std::string("bad template: ") + e.what());
        }
    }
    r.reject_unknown({"name", "vendor", "topic", "device", "format", "code", "message", "tag",
                      "request_id", "success", "success_when", "ids", "firmware"});
    if (vendor_catalog) draft.route.rules = overrides.merged_over(vendor_catalog->decode);
    return draft;
}

// Names the placeholders a route's `{device}` template may use.
std::vector<std::string> device_names(const RouteConfig& route) {
    std::vector<std::string> names = route.pattern.capture_names();
    if (route.rules.device_keys) {
        names.insert(names.end(), route.rules.device_keys->begin(), route.rules.device_keys->end());
    }
    if (route.rules.ids) {
        for (const auto& id : *route.rules.ids)
            names.push_back(id.key);
    }
    return names;
}

void assign_default_names(std::vector<RouteConfig>& routes, const std::vector<bool>& named) {
    std::map<std::string, int> counts;
    for (std::size_t i = 0; i < routes.size(); ++i) {
        int n = ++counts[routes[i].vendor];
        if (!named[i]) routes[i].name = routes[i].vendor + "-" + std::to_string(n);
    }
}

void check_loops(const Config& config, const TemplateCheck& topic, const TemplateCheck& invalid,
                 Problems& problems) {
    auto check = [&](const std::string& key, const std::string& text, std::size_t line,
                     const std::string& pattern_text) {
        TopicPattern produced;
        try {
            produced = TopicPattern::parse(pattern_text);
        } catch (const std::invalid_argument&) {
            return;
        }
        for (const auto& route : config.routes) {
            if (route.topic.empty()) continue;
            if (patterns_may_overlap(produced, route.pattern)) {
                problems.add(line, key,
                             text + " could match route \"" + route.name + "\" (" + route.topic +
                                 "): publishing there would feed our own input");
                return;
            }
        }
    };
    if (topic.parsed)
        check("output.topic", config.output.topic, topic.line, topic.parsed->as_pattern());
    if (invalid.parsed) {
        check("output.invalid_topic", config.output.invalid_topic, invalid.line,
              invalid.parsed->as_pattern());
    }
    if (!config.broker.client_id.empty()) {
        // The probe topic is literal, so a pattern of it is exact.
        std::string probe = config.probe_topic();
        for (const auto& route : config.routes) {
            if (!route.topic.empty() && route.pattern.match(probe)) {
                problems.add(route.line > 0 ? static_cast<std::size_t>(route.line) : 1,
                             "route " + route.name,
                             "topic " + route.topic + " matches the probe topic " + probe +
                                 ": probes would be decoded as errors");
                break;
            }
        }
    }
}

std::string syntax_reason(const std::string& what) {
    // toml11: "[error] toml::parse_xxx: reason\n --> file\n ..." -> "reason".
    std::string first = what.substr(0, what.find('\n'));
    if (first.rfind("[error] ", 0) == 0) first = first.substr(8);
    auto colon = first.find(": ");
    if (first.rfind("toml::", 0) == 0 && colon != std::string::npos)
        first = first.substr(colon + 2);
    return first;
}

LoadedConfig build(const toml::value& root, const std::string& source, const Environment& env) {
    Problems problems(source);
    Config config;
    config.source = source;
    TableReader r(&root, "", problems);

    if (auto site = r.string("site")) {
        if (!valid_name(*site)) {
            r.problem("site",
                      "use 1-64 letters, digits, _, - or . (it appears in topics, client "
                      "ids and file names)");
        } else {
            config.site = *site;
        }
    }
    if (config.site.empty()) {
        config.site = valid_name(env.hostname) ? env.hostname : "errbridge";
    }
    if (auto lang = r.string("lang")) {
        if (*lang == "en") {
            config.lang = catalog::Lang::en;
        } else if (*lang == "zh") {
            config.lang = catalog::Lang::zh;
        } else {
            r.problem("lang", "must be \"en\" or \"zh\", got \"" + *lang + "\"");
        }
    }
    read_broker(TableReader(r.table("broker"), "broker", problems), config, env);
    TemplateCheck topic_check;
    TemplateCheck invalid_check;
    read_output(TableReader(r.table("output"), "output", problems), config, topic_check,
                invalid_check);
    {
        TableReader s(r.table("suppress"), "suppress", problems);
        if (auto v = s.integer("window_s", 0, 86400)) config.suppress.window_s = *v;
        if (auto v = s.integer("max_keys", 1, 10'000'000)) config.suppress.max_keys = *v;
        s.reject_unknown({"window_s", "max_keys"});
    }
    {
        TableReader l(r.table("limits"), "limits", problems);
        if (auto v = l.integer("max_payload_bytes", 1, 268435455))
            config.limits.max_payload_bytes = *v;
        if (auto v = l.integer("max_depth", 1, 1000))
            config.limits.max_depth = static_cast<int>(*v);
        l.reject_unknown({"max_payload_bytes", "max_depth"});
    }
    {
        TableReader m(r.table("metrics"), "metrics", problems);
        if (auto v = m.string("listen")) {
            if (!v->empty()) {
                if (auto why = listen_problem(*v)) m.problem("listen", *why);
            }
            config.metrics.listen = *v;
        }
        m.reject_unknown({"listen"});
    }
    catalog::Catalog catalog = catalog::Catalog::built_in();
    {
        TableReader c(r.table("catalog"), "catalog", problems);
        if (auto paths = c.strings("paths")) {
            config.catalog_paths = *paths;
            std::vector<std::filesystem::path> files(paths->begin(), paths->end());
            try {
                catalog.merge_paths(files);
            } catch (const catalog::CatalogError& e) {
                c.problem("paths", e.what());
            }
        }
        c.reject_unknown({"paths"});
    }

    std::vector<bool> named;
    std::vector<RouteDraft> drafts;
    if (const toml::value* routes = r.raw("route")) {
        if (!routes->is_array()) {
            r.problem("route", "expected [[route]] tables, got " + detail::type_name(*routes));
        } else {
            const auto& array = routes->as_array();
            for (std::size_t i = 0; i < array.size(); ++i) {
                drafts.push_back(read_route(array[i], i, catalog, problems));
            }
        }
    }
    r.reject_unknown(
        {"site", "lang", "broker", "output", "suppress", "limits", "metrics", "catalog", "route"});

    if (drafts.empty() && !r.raw("route")) {
        config.default_routes = true;
        for (auto& [name, defaults] : default_routes(catalog)) {
            RouteConfig route;
            route.name = name;
            route.vendor = name.substr(0, name.rfind('-'));
            route.topic = defaults.topic;
            route.pattern = TopicPattern::parse(defaults.topic);
            route.rules = defaults.overrides.merged_over(catalog.vendor(route.vendor)->decode);
            config.routes.push_back(std::move(route));
            named.push_back(true);
        }
    }
    for (auto& draft : drafts) {
        config.routes.push_back(draft.route);
        named.push_back(draft.named);
    }
    assign_default_names(config.routes, named);

    std::map<std::string, std::size_t> names;
    for (std::size_t i = 0; i < drafts.size(); ++i) {
        const RouteConfig& route = config.routes[i];
        auto [it, fresh] = names.emplace(route.name, i);
        if (!fresh) {
            problems.add(
                drafts[i].named ? drafts[i].name_line : drafts[i].line, drafts[i].key + ".name",
                "duplicate route name \"" + route.name + "\" (also " + drafts[it->second].key +
                    " at line " + std::to_string(drafts[it->second].line) + ")");
        }
    }
    // Device template placeholders: captures, vendor device keys or ids of the route.
    for (std::size_t i = 0; i < drafts.size(); ++i) {
        if (!drafts[i].device_template || !drafts[i].ok) continue;
        auto allowed = device_names(config.routes[i]);
        for (const auto& placeholder : drafts[i].device_template->placeholders()) {
            if (std::find(allowed.begin(), allowed.end(), placeholder) != allowed.end()) continue;
            std::string list;
            for (const auto& a : allowed)
                list += (list.empty() ? "" : ", ") + a;
            problems.add(
                drafts[i].device_line, drafts[i].key + ".device",
                "unknown placeholder {" + placeholder + "} (this route has: " + list + ")");
        }
    }
    // Output placeholders: standard names or a capture of at least one route.
    if (topic_check.parsed) {
        for (const auto& placeholder : topic_check.parsed->placeholders()) {
            bool known = std::find(standard_placeholders.begin(), standard_placeholders.end(),
                                   placeholder) != standard_placeholders.end();
            for (const auto& route : config.routes) {
                const auto& captures = route.pattern.capture_names();
                if (std::find(captures.begin(), captures.end(), placeholder) != captures.end()) {
                    known = true;
                }
            }
            if (!known) {
                problems.add(topic_check.line, "output.topic",
                             "unknown placeholder {" + placeholder +
                                 "} (use site, vendor, category, severity, code, route, device "
                                 "or a capture of a route)");
            }
        }
    }

    BrokerConfig& b = config.broker;
    if (b.client_id.empty()) {
        b.client_id = "errbridge-" + config.site;
        if (!b.shared_group.empty()) {
            b.client_id += "-" + (valid_name(env.hostname) ? env.hostname : std::string("host"));
        }
    }
    if (b.state_dir.empty()) b.state_dir = default_state_dir(env);
    check_loops(config, topic_check, invalid_check, problems);

    if (!problems.empty()) {
        auto list = problems.take();
        std::stable_sort(list.begin(), list.end(),
                         [](const Problem& a, const Problem& c) { return a.line < c.line; });
        throw ConfigError(std::move(list));
    }

    LoadedConfig loaded{std::move(config), std::move(catalog), {}, {}};
    std::vector<TopicPattern> patterns;
    std::vector<std::string> filters;
    for (const auto& route : loaded.config.routes) {
        patterns.push_back(route.pattern);
        filters.push_back(route.pattern.subscription_filter());
    }
    loaded.route_table = RouteTable(std::move(patterns));
    loaded.subscriptions = plan_subscriptions(filters, loaded.config.broker.mqtt_version);
    return loaded;
}

}  // namespace

std::vector<std::pair<std::string, catalog::DefaultRoute>> default_routes(
    const catalog::Catalog& catalog) {
    std::vector<std::string> order = default_route_vendor_order;
    for (const auto& vendor : catalog.vendors()) {
        if (std::find(order.begin(), order.end(), vendor.id) == order.end())
            order.push_back(vendor.id);
    }
    std::vector<std::pair<std::string, catalog::DefaultRoute>> routes;
    for (const auto& id : order) {
        const catalog::Vendor* vendor = catalog.vendor(id);
        if (!vendor) continue;
        int n = 0;
        for (const auto& route : vendor->routes) {
            routes.emplace_back(id + "-" + std::to_string(++n), route);
        }
    }
    return routes;
}

LoadedConfig load_config_text(std::string_view text, const std::string& source,
                              const Environment& env) {
    toml::value root;
    try {
        std::istringstream stream{std::string(text)};
        root = toml::parse(stream, source);
    } catch (const toml::syntax_error& e) {
        throw ConfigError({{source, e.location().line(), "toml", syntax_reason(e.what())}});
    }
    return build(root, source, env);
}

LoadedConfig load_config_file(const std::filesystem::path& path, const Environment& env) {
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        throw ConfigError(
            {{path.string(), 0, "file", std::string("cannot read: ") + std::strerror(errno)}});
    }
    std::ostringstream text;
    text << file.rdbuf();
    return load_config_text(text.str(), path.string(), env);
}

LoadedConfig load_config(const std::optional<std::string>& path, const Environment& env,
                         std::string& source) {
    if (!path) return load_default_config(env, source);
    source = *path;
    return load_config_file(*path, env);
}

}  // namespace errbridge::config
