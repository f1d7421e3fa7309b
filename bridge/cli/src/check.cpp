#include "check.h"

#include <algorithm>

namespace errbridge::cli {
namespace {

std::string pad(std::string text, std::size_t width) {
    if (text.size() < width) text.append(width - text.size(), ' ');
    return text;
}

}  // namespace

std::string describe_config(const config::LoadedConfig& loaded, const std::string& source) {
    const config::Config& c = loaded.config;
    const config::SubscriptionPlan& plan = loaded.subscriptions;
    std::string out = "OK " + source + "\n";
    out += "site " + c.site + ", broker " + c.broker.uri + ", client id " + c.broker.client_id +
           ", MQTT " + (c.broker.mqtt_version == 5 ? "5" : "3.1.1") + ", state " +
           c.broker.state_dir + "/" + c.broker.client_id + " (" + c.broker.persistence + ")\n";

    std::size_t name_width = 4;
    for (const auto& route : c.routes)
        name_width = std::max(name_width, route.name.size());
    out += "\nroutes (" + std::to_string(c.routes.size()) +
           (c.default_routes ? ", the catalog's default routes" : ", first match wins") + "):\n";
    for (std::size_t i = 0; i < c.routes.size(); ++i) {
        const auto& route = c.routes[i];
        const auto& sub = plan.subscriptions[plan.route_subscription[i]];
        out += "  " + pad(route.name, name_width) + "  " + pad(route.vendor, 14) + "  " +
               route.topic + "  -> " + sub.filter + "\n";
    }

    out += "\nsubscriptions (" + std::to_string(plan.subscriptions.size()) + ", QoS 1";
    if (!c.broker.shared_group.empty()) out += ", shared as $share/" + c.broker.shared_group + "/…";
    out += "):\n";
    for (const auto& sub : plan.subscriptions) {
        out += "  ";
        if (sub.identifier) out += "[id " + std::to_string(sub.identifier) + "] ";
        out += sub.filter + "  (";
        for (std::size_t i = 0; i < sub.routes.size(); ++i) {
            out += (i ? ", " : "") + c.routes[sub.routes[i]].name;
        }
        out += ")\n";
    }
    out += "  " + c.probe_topic() + "  (connection probe, never routed)\n";
    if (!plan.notes.empty()) {
        out += "\nnotes:\n";
        for (const auto& note : plan.notes)
            out += "  " + note + "\n";
    }

    out += "\noutput:\n";
    out += "  events        " + c.output.topic + " (QoS " + std::to_string(c.output.qos) +
           (c.output.retain ? ", retained" : "") + ")\n";
    out += "  dead letters  " +
           (c.output.invalid_topic.empty() ? std::string("disabled") : c.output.invalid_topic) +
           "\n";
    out += "  metrics       " +
           (c.metrics.listen.empty() ? std::string("disabled")
                                     : "http://" + c.metrics.listen + "/metrics") +
           "\n";
    return out;
}

}  // namespace errbridge::cli
