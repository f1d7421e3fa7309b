#include "errbridge/config/subscriptions.h"

#include <algorithm>
#include <cstdint>

#include "errbridge/config/topic_pattern.h"

namespace errbridge::config {
namespace {

bool is_dollar(std::string_view level) {
    return !level.empty() && level[0] == '$';
}

std::string join(const TopicLevels& levels) {
    std::string out;
    for (std::size_t i = 0; i < levels.size(); ++i) {
        if (i) out += '/';
        out += levels[i];
    }
    return out;
}

}  // namespace

bool filter_covers(std::string_view wide_text, std::string_view narrow_text) {
    auto wide = split_levels(wide_text);
    auto narrow = split_levels(narrow_text);
    for (std::size_t i = 0; i < wide.size(); ++i) {
        bool dollar_guard = i == 0 && i < narrow.size() && is_dollar(narrow[0]);
        if (wide[i] == "#") return !dollar_guard;
        if (i >= narrow.size() || narrow[i] == "#") return false;
        if (wide[i] == "+") {
            if (dollar_guard) return false;
            continue;
        }
        if (wide[i] != narrow[i]) return false;
    }
    return wide.size() == narrow.size();
}

bool filters_overlap(std::string_view a_text, std::string_view b_text) {
    auto a = split_levels(a_text);
    auto b = split_levels(b_text);
    for (std::size_t i = 0;; ++i) {
        bool a_done = i >= a.size();
        bool b_done = i >= b.size();
        if (a_done && b_done) return true;
        // `x/#` also matches `x` itself.
        if (a_done) return b[i] == "#";
        if (b_done) return a[i] == "#";
        bool a_wild = a[i] == "+" || a[i] == "#";
        bool b_wild = b[i] == "+" || b[i] == "#";
        if (i == 0 && ((a_wild && is_dollar(b[0])) || (b_wild && is_dollar(a[0])))) return false;
        if (a[i] == "#" || b[i] == "#") return true;
        if (!a_wild && !b_wild && a[i] != b[i]) return false;
    }
}

std::string widen_filters(std::string_view a_text, std::string_view b_text) {
    auto a = split_levels(a_text);
    auto b = split_levels(b_text);
    TopicLevels out;
    std::size_t common = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < common; ++i) {
        if (a[i] == "#" || b[i] == "#") {
            out.push_back("#");
            return join(out);
        }
        out.push_back(a[i] == b[i] ? a[i] : std::string_view("+"));
    }
    if (a.size() != b.size()) out.push_back("#");
    return join(out);
}

bool filter_matches(std::string_view filter, std::string_view topic) {
    auto f = split_levels(filter);
    auto t = split_levels(topic);
    for (std::size_t i = 0; i < f.size(); ++i) {
        bool dollar_guard = i == 0 && is_dollar(t[0]);
        if (f[i] == "#") return !dollar_guard;
        if (i >= t.size()) return false;
        if (f[i] == "+") {
            if (dollar_guard) return false;
            continue;
        }
        if (f[i] != t[i]) return false;
    }
    return f.size() == t.size();
}

int subscription_identifier(std::string_view filter) {
    std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a-64
    for (unsigned char c : filter) {
        hash ^= c;
        hash *= 0x100000001b3ULL;
    }
    return static_cast<int>(hash % max_subscription_identifier) + 1;
}

bool SubscriptionPlan::handles(std::size_t route, int identifier) const {
    if (route >= route_subscription.size()) return false;
    const Subscription& own = subscriptions[route_subscription[route]];
    return own.identifier == 0 || identifier == 0 || own.identifier == identifier;
}

bool SubscriptionPlan::knows(int identifier) const {
    return std::any_of(subscriptions.begin(), subscriptions.end(),
                       [&](const Subscription& s) { return s.identifier == identifier; });
}

SubscriptionPlan plan_subscriptions(const std::vector<std::string>& route_filters,
                                    int mqtt_version) {
    SubscriptionPlan plan;
    std::vector<std::string> filters;  // distinct, in route order
    for (const auto& filter : route_filters) {
        if (std::find(filters.begin(), filters.end(), filter) == filters.end()) {
            filters.push_back(filter);
        }
    }
    // Widening can make a new filter cover others, so repeat until nothing changes.
    bool changed = true;
    while (changed) {
        changed = false;
        std::vector<std::string> kept;
        for (std::size_t i = 0; i < filters.size(); ++i) {
            auto coverer = std::find_if(filters.begin(), filters.end(), [&](const std::string& f) {
                return &f != &filters[i] && filter_covers(f, filters[i]) &&
                       !(filter_covers(filters[i], f) && &f > &filters[i]);
            });
            if (coverer != filters.end()) {
                plan.notes.push_back(filters[i] + " dropped: covered by " + *coverer);
                changed = true;
                continue;
            }
            kept.push_back(filters[i]);
        }
        filters = std::move(kept);
        if (mqtt_version == 5) break;
        for (std::size_t i = 0; i < filters.size() && !changed; ++i) {
            for (std::size_t j = i + 1; j < filters.size() && !changed; ++j) {
                if (!filters_overlap(filters[i], filters[j])) continue;
                std::string wide = widen_filters(filters[i], filters[j]);
                plan.notes.push_back(filters[i] + " and " + filters[j] + " overlap; widened to " +
                                     wide + " (MQTT 3.1.1 has no subscription identifiers)");
                filters[i] = wide;
                filters.erase(filters.begin() + static_cast<std::ptrdiff_t>(j));
                changed = true;
            }
        }
    }
    for (std::size_t i = 0; i < filters.size(); ++i) {
        int id = 0;
        if (mqtt_version == 5) {
            // Two filters of one plan on the same identifier (about 1 in 10^6 for 20
            // filters): the later one takes the next free value.
            id = subscription_identifier(filters[i]);
            auto taken = [&](int value) {
                return std::any_of(plan.subscriptions.begin(), plan.subscriptions.end(),
                                   [&](const Subscription& s) { return s.identifier == value; });
            };
            while (taken(id))
                id = id % max_subscription_identifier + 1;
        }
        plan.subscriptions.push_back({filters[i], id, {}});
    }
    if (mqtt_version == 5) {
        for (std::size_t i = 0; i < filters.size(); ++i) {
            for (std::size_t j = i + 1; j < filters.size(); ++j) {
                if (filters_overlap(filters[i], filters[j])) {
                    plan.notes.push_back(filters[i] + " (id " +
                                         std::to_string(plan.subscriptions[i].identifier) +
                                         ") and " + filters[j] + " (id " +
                                         std::to_string(plan.subscriptions[j].identifier) +
                                         ") overlap: a message is handled only on the copy for "
                                         "its first matching route");
                }
            }
        }
    }
    for (std::size_t route = 0; route < route_filters.size(); ++route) {
        std::size_t chosen = 0;
        for (std::size_t s = 0; s < plan.subscriptions.size(); ++s) {
            if (filter_covers(plan.subscriptions[s].filter, route_filters[route])) {
                chosen = s;
                break;
            }
        }
        plan.route_subscription.push_back(chosen);
        plan.subscriptions[chosen].routes.push_back(route);
    }
    return plan;
}

}  // namespace errbridge::config
