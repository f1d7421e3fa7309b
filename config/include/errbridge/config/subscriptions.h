#pragma once

// From route patterns to MQTT subscriptions (SPEC §4): one filter per route, filters
// covered by another dropped, partial overlaps either tagged with MQTT 5 subscription
// identifiers (handle a message only on the copy for its first route) or, on MQTT 3.1.1,
// widened into one covering filter.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace errbridge::config {

// MQTT filter algebra over `+` and `#`, with the `$` rule: a leading wildcard never
// matches a topic whose first level starts with `$`.
bool filter_covers(std::string_view wide, std::string_view narrow);
bool filters_overlap(std::string_view a, std::string_view b);
// The least general filter that covers both.
std::string widen_filters(std::string_view a, std::string_view b);
bool filter_matches(std::string_view filter, std::string_view topic);

// MQTT 5 subscription identifiers are a function of the filter, not of its position in the
// plan: the broker stamps a queued message with the identifier it was subscribed with, so a
// filter must keep its identifier across a reload or a restart with another config (a
// route added in front would otherwise shift every identifier, and messages already queued
// would be taken for another route's copy and dropped).
inline constexpr int max_subscription_identifier = 268435455;  // MQTT 5: a variable byte integer
int subscription_identifier(std::string_view filter);          // 1 .. max, FNV-1a of the filter

struct Subscription {
    std::string filter;
    int identifier = 0;               // MQTT 5 subscription identifier (see above); 0 on MQTT 3.1.1
    std::vector<std::size_t> routes;  // routes this subscription delivers
};

struct SubscriptionPlan {
    std::vector<Subscription> subscriptions;
    std::vector<std::size_t> route_subscription;  // route -> index into subscriptions
    std::vector<std::string> notes;               // what was dropped, tagged or widened, and why

    // MQTT 5: a message that arrived with `identifier` is handled for `route` only on the
    // copy of that route's subscription; without identifiers (3.1.1) always.
    bool handles(std::size_t route, int identifier) const;
    // Whether a subscription of this plan has `identifier`. A copy stamped only with
    // identifiers the plan never gave was queued under another plan (before a reload, or
    // by a version that numbered filters by position): it cannot be attributed, so it is
    // handled rather than dropped (at worst a duplicate, which consumers drop by id).
    bool knows(int identifier) const;
};

// `route_filters[i]` is route i's derived filter; `mqtt_version` is 5 or 3.
SubscriptionPlan plan_subscriptions(const std::vector<std::string>& route_filters,
                                    int mqtt_version);

}  // namespace errbridge::config
