#include "errbridge/config/reload.h"

#include <algorithm>

namespace errbridge::config {

namespace {

template <class T>
void compare(std::vector<std::string>& out, const char* key, const T& was, const T& now) {
    if (!(was == now)) out.emplace_back(key);
}

// Every key of SPEC §3 but the routes, in file order. `restart` gets the ones that need one.
void compare_keys(const Config& a, const Config& b, std::vector<std::string>& applied,
                  std::vector<std::string>& restart) {
    compare(applied, "site", a.site, b.site);
    compare(applied, "lang", a.lang, b.lang);
    const BrokerConfig& x = a.broker;
    const BrokerConfig& y = b.broker;
    compare(restart, "broker.uri", x.uri, y.uri);
    compare(restart, "broker.client_id", x.client_id, y.client_id);  // derived from site too
    compare(restart, "broker.mqtt_version", x.mqtt_version, y.mqtt_version);
    compare(restart, "broker.username", x.username, y.username);
    compare(restart, "broker.password_file", x.password_file, y.password_file);
    compare(restart, "broker.ca_file", x.ca_file, y.ca_file);
    compare(restart, "broker.cert_file", x.cert_file, y.cert_file);
    compare(restart, "broker.key_file", x.key_file, y.key_file);
    compare(restart, "broker.keepalive_s", x.keepalive_s, y.keepalive_s);
    compare(restart, "broker.session_expiry_s", x.session_expiry_s, y.session_expiry_s);
    compare(restart, "broker.shared_group", x.shared_group, y.shared_group);
    compare(restart, "broker.state_dir", x.state_dir, y.state_dir);
    compare(restart, "broker.persistence", x.persistence, y.persistence);
    compare(restart, "broker.max_buffered", x.max_buffered, y.max_buffered);
    compare(restart, "broker.max_buffered_bytes", x.max_buffered_bytes, y.max_buffered_bytes);
    compare(restart, "broker.reconnect_min_s", x.reconnect_min_s, y.reconnect_min_s);
    compare(restart, "broker.reconnect_max_s", x.reconnect_max_s, y.reconnect_max_s);
    const OutputConfig& o = a.output;
    const OutputConfig& p = b.output;
    compare(applied, "output.topic", o.topic, p.topic);
    compare(applied, "output.qos", o.qos, p.qos);
    compare(applied, "output.retain", o.retain, p.retain);
    compare(applied, "output.emit_success", o.emit_success, p.emit_success);
    compare(applied, "output.include_raw", o.include_raw, p.include_raw);
    compare(applied, "output.raw_max_bytes", o.raw_max_bytes, p.raw_max_bytes);
    compare(applied, "output.invalid_topic", o.invalid_topic, p.invalid_topic);
    compare(applied, "suppress.window_s", a.suppress.window_s, b.suppress.window_s);
    compare(applied, "suppress.max_keys", a.suppress.max_keys, b.suppress.max_keys);
    compare(applied, "limits.max_payload_bytes", a.limits.max_payload_bytes,
            b.limits.max_payload_bytes);
    compare(applied, "limits.max_depth", a.limits.max_depth, b.limits.max_depth);
    // The listener is bound once at start (a port change is not trivial to get right
    // while scrapes are in flight).
    compare(restart, "metrics.listen", a.metrics.listen, b.metrics.listen);
    compare(applied, "catalog.paths", a.catalog_paths, b.catalog_paths);
}

void compare_routes(const Config& a, const Config& b, ConfigChanges& c) {
    auto find = [](const Config& config, const std::string& name) -> const RouteConfig* {
        for (const auto& r : config.routes) {
            if (r.name == name) return &r;
        }
        return nullptr;
    };
    for (const auto& route : b.routes) {
        const RouteConfig* old = find(a, route.name);
        if (!old) {
            c.routes_added.push_back(route.name);
        } else if (old->vendor != route.vendor || old->topic != route.topic ||
                   !(old->rules == route.rules)) {
            c.routes_changed.push_back(route.name);
        }
    }
    for (const auto& route : a.routes) {
        if (!find(b, route.name)) c.routes_removed.push_back(route.name);
    }
}

void compare_filters(const SubscriptionPlan& a, const SubscriptionPlan& b, ConfigChanges& c) {
    auto has = [](const SubscriptionPlan& plan, const std::string& filter) {
        return std::any_of(plan.subscriptions.begin(), plan.subscriptions.end(),
                           [&](const Subscription& s) { return s.filter == filter; });
    };
    for (const auto& s : b.subscriptions) {
        if (!has(a, s.filter)) c.filters_added.push_back(s.filter);
    }
    for (const auto& s : a.subscriptions) {
        if (!has(b, s.filter)) c.filters_removed.push_back(s.filter);
    }
}

}  // namespace

bool ConfigChanges::any() const {
    return !routes_added.empty() || !routes_removed.empty() || !routes_changed.empty() ||
           !filters_added.empty() || !filters_removed.empty() || !keys_changed.empty() ||
           !restart_keys.empty();
}

ReloadPlan prepare_reload(const LoadedConfig& running, LoadedConfig fresh) {
    ReloadPlan plan{std::move(fresh), {}};
    LoadedConfig& next = plan.next;
    ConfigChanges& c = plan.changes;
    compare_keys(running.config, next.config, c.keys_changed, c.restart_keys);
    compare_routes(running.config, next.config, c);

    const int fresh_version = next.config.broker.mqtt_version;
    next.config.broker = running.config.broker;
    next.config.metrics.listen = running.config.metrics.listen;
    if (next.config.broker.mqtt_version != fresh_version) {
        // The plan was made for a protocol the session does not speak (identifiers on
        // 5, widened filters on 3.1.1): make it again for the one it does.
        std::vector<std::string> filters;
        for (const auto& route : next.config.routes)
            filters.push_back(route.pattern.subscription_filter());
        next.subscriptions = plan_subscriptions(filters, next.config.broker.mqtt_version);
    }
    compare_filters(running.subscriptions, next.subscriptions, c);
    return plan;
}

}  // namespace errbridge::config
