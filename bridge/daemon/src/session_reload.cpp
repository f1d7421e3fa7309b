// Session, the reload side (SPEC §3, §10): run a new config without reconnecting, and
// keep the broker's subscriptions equal to what the running config needs, changing only
// the difference.

#include <algorithm>

#include "session.h"

namespace errbridge::daemon {

namespace {
constexpr const char* component = "session";
}  // namespace

std::vector<std::string> Session::filters_for(const config::SubscriptionPlan& plan) const {
    const std::string& group = config_.broker.shared_group;
    std::vector<std::string> filters;
    for (const auto& s : plan.subscriptions)
        filters.push_back(group.empty() ? s.filter : "$share/" + group + "/" + s.filter);
    filters.push_back(probe_topic_);  // never shared: each instance checks its own link
    return filters;
}

void Session::apply(std::shared_ptr<const config::LoadedConfig> next) {
    // Compiled first: if this throws, nothing has changed.
    auto decoder = std::make_shared<const core::Decoder>(next);
    // Messages decoded from here on use the new routes, output and catalog; one already
    // being decoded on Paho's thread finishes with the snapshot it loaded.
    decoder_.store(std::move(decoder));
    filters_ = filters_for(next->subscriptions);
    suppressor_.configure(next->config.suppress);
    // Disconnected: the next connect subscribes everything (no session kept) or syncs.
    if (connected_) sync_subscriptions();
}

void Session::sync_subscriptions() {
    std::shared_ptr<const core::Decoder> decoder = decoder_.load();
    const auto& plan = decoder->config().subscriptions;
    std::vector<std::pair<std::string, int>> wanted;
    for (std::size_t i = 0; i < plan.subscriptions.size(); ++i)
        wanted.emplace_back(filters_[i], plan.subscriptions[i].identifier);
    wanted.emplace_back(probe_topic_, 0);
    if (wanted == subscribed_) return;

    bool changed = false;
    // Subscribe before unsubscribing: a topic moving from one filter to a wider one is
    // covered throughout. A filter whose identifier changed is subscribed again (MQTT 5
    // replaces the subscription, and with it the identifier).
    for (std::size_t i = 0; i + 1 < wanted.size(); ++i) {
        if (std::find(subscribed_.begin(), subscribed_.end(), wanted[i]) != subscribed_.end())
            continue;
        try {
            subscribe_one(wanted[i].first, wanted[i].second);
            changed = true;
            log_.info(component, "subscribing",
                      {{"filter", wanted[i].first}, {"id", std::to_string(wanted[i].second)}});
        } catch (const mqtt::exception& e) {
            log_.error(component, "subscribe failed",
                       {{"filter", wanted[i].first}, {"error", e.what()}});
        }
    }
    for (const auto& subscription : subscribed_) {
        // Not a structured binding: clang 14 cannot capture one in the lambda below.
        const std::string& filter = subscription.first;
        bool kept = std::any_of(wanted.begin(), wanted.end(),
                                [&](const auto& w) { return w.first == filter; });
        if (kept) continue;
        // Unsubscribing is right here, unlike at SIGTERM: no route derives this filter any
        // more, so its queue in the session is nobody's.
        try {
            client_->unsubscribe(filter);
            changed = true;
            log_.info(component, "unsubscribed a filter no route needs any more",
                      {{"filter", filter}});
        } catch (const mqtt::exception& e) {
            log_.warning(component, "unsubscribe failed",
                         {{"filter", filter}, {"error", e.what()}});
        }
    }
    subscribed_ = std::move(wanted);
    if (!changed) return;
    // Stored after sending: at the next start, the filters the broker may still hold are
    // the ones unsubscribe_stale compares against.
    try {
        state_.store_subscriptions(filters_);
    } catch (const StateDirError& e) {
        ++counters_.persist_errors;
        log_.warning(component, "cannot store the subscription set", {{"error", e.what()}});
    }
}

}  // namespace errbridge::daemon
