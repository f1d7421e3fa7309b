// From route patterns to MQTT subscriptions (SPEC §4): the filter algebra (covers,
// overlaps, widening, matching with the `$` rule) and the plan: covered filters dropped,
// duplicates merged, partial overlaps tagged with MQTT 5 subscription identifiers or, on
// MQTT 3.1.1, widened into one covering filter.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "errbridge/catalog/catalog.h"
#include "errbridge/config/load.h"
#include "errbridge/config/subscriptions.h"
#include "errbridge/config/topic_pattern.h"

using namespace errbridge::config;

namespace {

struct FilterRow {
    const char* a;
    const char* b;
    bool expected;
};

std::vector<std::string> default_filters() {
    std::vector<std::string> filters;
    for (const auto& [name, route] : default_routes(errbridge::catalog::Catalog::built_in()))
        filters.push_back(TopicPattern::parse(route.topic).subscription_filter());
    return filters;
}

// What the daemon does with one incoming copy: find the first route whose pattern matches
// and handle the copy only if the plan says this copy is that route's.
bool copy_handled(const SubscriptionPlan& plan, const std::vector<TopicPattern>& routes,
                  const std::string& topic, int identifier) {
    for (std::size_t r = 0; r < routes.size(); ++r) {
        if (routes[r].match(topic)) return plan.handles(r, identifier);
    }
    return false;
}

// Simulates mosquitto: "one copy per matching subscription", each with its identifier.
int copies_handled(const SubscriptionPlan& plan, const std::vector<TopicPattern>& routes,
                   const std::string& topic) {
    int handled = 0;
    for (const auto& sub : plan.subscriptions) {
        if (filter_matches(sub.filter, topic) &&
            copy_handled(plan, routes, topic, sub.identifier)) {
            ++handled;
        }
    }
    return handled;
}

std::vector<TopicPattern> parse_all(const std::vector<std::string>& texts) {
    std::vector<TopicPattern> patterns;
    for (const auto& text : texts)
        patterns.push_back(TopicPattern::parse(text));
    return patterns;
}

}  // namespace

TEST_CASE("filter_covers: every topic of the narrow filter matches the wide one",
          "[subscriptions]") {
    const FilterRow rows[] = {
        {"a/b", "a/b", true},
        {"a/b", "a/b/c", false},
        {"a/b", "a/+", false},
        {"a/+", "a/b", true},
        {"a/+", "a/b/c", false},
        {"a/+", "a/#", false},
        {"a/#", "a/b", true},
        {"a/#", "a", true},  // `a/#` matches `a` itself
        {"a/#", "a/#", true},
        {"a/#", "b/#", false},
        {"a/+/#", "a", false},
        {"+/+", "a/+", true},
        {"+/#", "/a", true},
        {"#", "a/+/#", true},
        {"a/+/b", "a/x/#", false},
        {"a/x/#", "a/+/b", false},
        {"/neuron/+/#", "/neuron/+/+/+", true},
        {"bridge/huawei-iotedge/+/#", "bridge/huawei-iotedge/+/edge-nodes/+/#", true},
        // The `$` rule: a leading wildcard never reaches `$` topics.
        {"#", "$SYS/x", false},
        {"+/x", "$SYS/x", false},
        {"+/devices/+/sys/events/down", "$oc/devices/+/sys/events/down", false},
        {"$SYS/#", "$SYS/x", true},
        {"$oc/devices/+/sys/events/down", "$oc/devices/gw1/sys/events/down", true},
    };
    for (const auto& row : rows) {
        INFO(row.a << " covers " << row.b);
        CHECK(filter_covers(row.a, row.b) == row.expected);
    }
}

TEST_CASE("filters_overlap: some topic matches both", "[subscriptions]") {
    const FilterRow rows[] = {
        {"a/+/b", "a/x/#", true},  // SPEC §4's partial overlap
        {"a/+/b", "a/x/c", false},
        {"a/b", "a/c", false},
        {"a", "a/#", true},
        {"a/#", "a", true},
        {"a", "a/+", false},
        {"+/b", "a/+", true},
        {"+", "+/+", false},
        {"a/b/c", "a/b", false},
        {"/neuron/+/#", "neuron/+/#", false},  // an empty first level is not `neuron`
        {"tylink/+/#", "tylink/+/#", true},
        {"#", "$SYS/x", false},
        {"$SYS/#", "+/x", false},
        {"$SYS/#", "$SYS/x/y", true},
        {"$oc/+/#", "$oc/devices/+/sys/events/down", true},
    };
    for (const auto& row : rows) {
        INFO(row.a << " overlaps " << row.b);
        CHECK(filters_overlap(row.a, row.b) == row.expected);
        CHECK(filters_overlap(row.b, row.a) == row.expected);
    }
}

TEST_CASE("widen_filters: the least general filter covering both", "[subscriptions]") {
    const char* const rows[][3] = {
        {"a/+/b", "a/x/#", "a/+/#"},  // SPEC §4's example
        {"a/b", "a/c", "a/+"},       {"a/b", "a/b", "a/b"},
        {"a/b", "a/b/c", "a/b/#"},   {"a", "a/b", "a/#"},
        {"a/b/c", "x/b/c", "+/b/c"}, {"a/+", "a/b/c", "a/+/#"},
        {"#", "a/b", "#"},           {"tylink/+/#", "tylink/x/y", "tylink/+/#"},
    };
    for (const auto& [a, b, wide] : rows) {
        INFO(a << " + " << b);
        CHECK(widen_filters(a, b) == wide);
        CHECK(widen_filters(b, a) == wide);
        CHECK(filter_covers(wide, a));
        CHECK(filter_covers(wide, b));
    }
}

TEST_CASE("filter_matches: MQTT topic matching with the $ rule", "[subscriptions]") {
    const FilterRow rows[] = {
        {"a/b", "a/b", true},
        {"a/b", "a/b/c", false},
        {"a/b/c", "a/b", false},
        {"a/#", "a", true},  // "sport/#" also matches "sport"
        {"a/#", "a/b/c", true},
        {"a/#", "ab", false},
        {"a/+", "a", false},
        {"a/+", "a/", true},
        {"+", "a/b", false},
        {"+/+", "/a", true},
        {"#", "/a", true},
        {"a/+/c", "a/$x/c", true},  // `$` matters only in the first level
        {"#", "$SYS/broker", false},
        {"+/broker", "$SYS/broker", false},
        {"$SYS/#", "$SYS/broker", true},
        {"$SYS/+", "$SYS/broker", true},
        {"$oc/devices/+/sys/events/down", "$oc/devices/gw1/sys/events/down", true},
        {"+/devices/+/sys/events/down", "$oc/devices/gw1/sys/events/down", false},
    };
    for (const auto& row : rows) {
        INFO(row.a << " on " << row.b);
        CHECK(filter_matches(row.a, row.b) == row.expected);
    }
}

TEST_CASE("plan: a covered filter is dropped with a note", "[subscriptions]") {
    for (int version : {5, 3}) {
        INFO("MQTT " << version);
        SubscriptionPlan plan = plan_subscriptions({"a/b", "a/#", "a/+"}, version);
        REQUIRE(plan.subscriptions.size() == 1);
        CHECK(plan.subscriptions[0].filter == "a/#");
        CHECK(plan.subscriptions[0].identifier ==
              (version == 5 ? subscription_identifier("a/#") : 0));
        CHECK(plan.subscriptions[0].routes == std::vector<std::size_t>{0, 1, 2});
        CHECK(plan.route_subscription == std::vector<std::size_t>{0, 0, 0});
        CHECK(plan.notes == std::vector<std::string>{"a/b dropped: covered by a/#",
                                                     "a/+ dropped: covered by a/#"});
        CHECK(plan.handles(0, plan.subscriptions[0].identifier));
    }
}

TEST_CASE("plan: routes with the same filter share one subscription", "[subscriptions]") {
    SubscriptionPlan plan = plan_subscriptions({"x/+", "y/#", "x/+"}, 5);
    REQUIRE(plan.subscriptions.size() == 2);
    CHECK(plan.subscriptions[0].filter == "x/+");
    CHECK(plan.subscriptions[0].identifier == subscription_identifier("x/+"));
    CHECK(plan.subscriptions[0].routes == std::vector<std::size_t>{0, 2});
    CHECK(plan.subscriptions[1].filter == "y/#");
    CHECK(plan.subscriptions[1].identifier == subscription_identifier("y/#"));
    CHECK(plan.subscriptions[1].routes == std::vector<std::size_t>{1});
    CHECK(plan.route_subscription == std::vector<std::size_t>{0, 1, 0});
    CHECK(plan.notes.empty());
}

TEST_CASE("plan on MQTT 5: a partial overlap keeps both filters with identifiers",
          "[subscriptions]") {
    // "For partial overlaps (`a/+/b` and `a/x/#`) mosquitto delivers one copy per matching
    // subscription: on MQTT 5 give each filter a subscription identifier and handle a
    // message only on the copy for the first route that matches it."
    std::vector<std::string> filters = {"a/+/b", "a/x/#"};
    SubscriptionPlan plan = plan_subscriptions(filters, 5);
    REQUIRE(plan.subscriptions.size() == 2);
    const int id1 = subscription_identifier("a/+/b");
    const int id2 = subscription_identifier("a/x/#");
    CHECK(plan.subscriptions[0].filter == "a/+/b");
    CHECK(plan.subscriptions[0].identifier == id1);
    CHECK(plan.subscriptions[1].filter == "a/x/#");
    CHECK(plan.subscriptions[1].identifier == id2);
    CHECK(plan.route_subscription == std::vector<std::size_t>{0, 1});
    CHECK(plan.notes ==
          std::vector<std::string>{"a/+/b (id " + std::to_string(id1) + ") and a/x/# (id " +
                                   std::to_string(id2) +
                                   ") overlap: a message is handled only on the copy for its first "
                                   "matching route"});

    CHECK(plan.handles(0, id1));
    CHECK_FALSE(plan.handles(0, id2));
    CHECK(plan.handles(1, id2));
    CHECK_FALSE(plan.handles(1, id1));
    CHECK(plan.handles(0, 0));          // a copy without an identifier is always ours
    CHECK_FALSE(plan.handles(2, id1));  // no such route

    auto routes = parse_all(filters);
    // a/x/b arrives twice (ids 1 and 2) and is route 0's; a/x/c arrives once, route 1's.
    CHECK(copy_handled(plan, routes, "a/x/b", id1));
    CHECK_FALSE(copy_handled(plan, routes, "a/x/b", id2));
    const std::pair<const char*, int> topics[] = {
        {"a/x/b", 1}, {"a/y/b", 1}, {"a/x/c", 1}, {"a/x", 1}, {"a/x/b/c", 1}, {"a/y/c", 0},
    };
    for (const auto& [topic, handled] : topics) {
        INFO(topic);
        CHECK(copies_handled(plan, routes, topic) == handled);
    }
}

TEST_CASE("plan on MQTT 3.1.1: a partial overlap is widened, with a note", "[subscriptions]") {
    SubscriptionPlan plan = plan_subscriptions({"a/+/b", "a/x/#"}, 3);
    REQUIRE(plan.subscriptions.size() == 1);
    CHECK(plan.subscriptions[0].filter == "a/+/#");
    CHECK(plan.subscriptions[0].identifier == 0);
    CHECK(plan.subscriptions[0].routes == std::vector<std::size_t>{0, 1});
    CHECK(plan.route_subscription == std::vector<std::size_t>{0, 0});
    CHECK(plan.notes ==
          std::vector<std::string>{"a/+/b and a/x/# overlap; widened to a/+/# (MQTT 3.1.1 has no "
                                   "subscription identifiers)"});
    CHECK(plan.handles(0, 0));
    CHECK(plan.handles(1, 0));
}

TEST_CASE("plan on MQTT 3.1.1: a widened filter can cover another", "[subscriptions]") {
    SubscriptionPlan plan = plan_subscriptions({"a/+/b", "a/x/#", "a/y/c", "z"}, 3);
    REQUIRE(plan.subscriptions.size() == 2);
    CHECK(plan.subscriptions[0].filter == "a/+/#");
    CHECK(plan.subscriptions[0].routes == std::vector<std::size_t>{0, 1, 2});
    CHECK(plan.subscriptions[1].filter == "z");
    CHECK(plan.notes ==
          std::vector<std::string>{"a/+/b and a/x/# overlap; widened to a/+/# (MQTT 3.1.1 has "
                                   "no subscription identifiers)",
                                   "a/y/c dropped: covered by a/+/#"});
}

TEST_CASE("plan for the default routes", "[subscriptions]") {
    auto filters = default_filters();
    REQUIRE(filters.size() == 16);
    auto routes = parse_all([] {
        std::vector<std::string> topics;
        for (const auto& [name, route] : default_routes(errbridge::catalog::Catalog::built_in()))
            topics.push_back(route.topic);
        return topics;
    }());

    for (int version : {5, 3}) {
        INFO("MQTT " << version);
        SubscriptionPlan plan = plan_subscriptions(filters, version);
        // 16 routes: tuya-link's two share `tylink/+/#`, neuron-2 is covered by neuron-1's
        // `/neuron/+/#` and huawei-iotedge-2 by huawei-iotedge-3's filter.
        REQUIRE(plan.subscriptions.size() == 13);
        const char* const expected[] = {
            "/ota/device/+/+/+",
            "/ext/error/+/+",
            "/ext/session/+/+/combine/+",
            "/sys/+/+/thing/#",
            "/neuron/+/#",
            "neuron/+/#",
            "tylink/+/#",
            "bridge/tuya/openapi/+/response",
            "$oc/devices/+/sys/events/down",
            "bridge/huawei-iotedge/+/#",
            "bridge/camera/+/http/+/response",
            "bridge/camera/+/http/+/+/response",
            "bridge/camera/+/http/+/+/+/response",
        };
        for (std::size_t i = 0; i < plan.subscriptions.size(); ++i) {
            CHECK(plan.subscriptions[i].filter == expected[i]);
            CHECK(plan.subscriptions[i].identifier ==
                  (version == 5 ? subscription_identifier(expected[i]) : 0));
        }
        CHECK(plan.subscriptions[4].routes == std::vector<std::size_t>{4, 5});
        CHECK(plan.subscriptions[6].routes == std::vector<std::size_t>{7, 8});
        CHECK(plan.subscriptions[8].routes == std::vector<std::size_t>{10});
        CHECK(plan.subscriptions[9].routes == std::vector<std::size_t>{11, 12});
        CHECK(plan.route_subscription ==
              std::vector<std::size_t>{0, 1, 2, 3, 4, 4, 5, 6, 6, 7, 8, 9, 9, 10, 11, 12});
        // The defaults have no partial overlaps, so nothing is tagged or widened.
        CHECK(plan.notes ==
              std::vector<std::string>{"/neuron/+/+/+ dropped: covered by /neuron/+/#",
                                       "bridge/huawei-iotedge/+/edge-nodes/+/# dropped: covered by "
                                       "bridge/huawei-iotedge/+/#"});

        for (const char* topic :
             {"/sys/a1pk/dev1/thing/event/property/post_reply", "/neuron/app/driver/group",
              "tylink/d1/ext/time/response", "$oc/devices/gw1/sys/events/down",
              "bridge/huawei-iotedge/p/edge-nodes/n/response"}) {
            INFO(topic);
            CHECK(copies_handled(plan, routes, topic) == 1);
        }
    }
}

TEST_CASE("plan on MQTT 5: a filter keeps its identifier whatever else the plan holds",
          "[subscriptions]") {
    // The broker stamps queued messages with the identifier of their subscription: after a
    // reload or a restart with a route added in front, the same filter must carry the same
    // identifier or those messages would be taken for another route's copy and dropped.
    SubscriptionPlan before = plan_subscriptions({"plant/a/+", "plant/b/+"}, 5);
    SubscriptionPlan after = plan_subscriptions({"new/+", "plant/b/+", "plant/a/+"}, 5);
    REQUIRE(after.subscriptions.size() == 3);
    CHECK(after.subscriptions[1].identifier == before.subscriptions[1].identifier);
    CHECK(after.subscriptions[2].identifier == before.subscriptions[0].identifier);
    for (const auto& s : after.subscriptions) {
        CHECK(s.identifier >= 1);
        CHECK(s.identifier <= max_subscription_identifier);
        CHECK(s.identifier == subscription_identifier(s.filter));
    }
    CHECK(after.handles(2, before.subscriptions[0].identifier));

    // Identifiers numbered by position (before this scheme) or of a filter a reload
    // removed are unknown: such a copy is handled, not dropped as another route's.
    CHECK(after.knows(after.subscriptions[0].identifier));
    CHECK_FALSE(after.knows(1));
    CHECK_FALSE(after.knows(2));
    CHECK_FALSE(after.knows(0));
}
