// Topic patterns (SPEC §4) and the route table that matches all of them at once: what each
// pattern matches and captures, which default route (SPEC §5) wins for every real topic in
// FORMATS.md, the exact reasons malformed patterns are refused, agreement between the trie
// and a plain scan of the patterns, and topics built to make a matcher go quadratic.

#include <catch2/catch.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "errbridge/catalog/catalog.h"
#include "errbridge/config/load.h"
#include "errbridge/config/route_table.h"
#include "errbridge/config/topic_pattern.h"

using namespace errbridge::config;

namespace {

// Expected captures are written "name=value, name=value" so a failing row prints readably;
// `no_match` marks a row whose topic must not match.
constexpr const char* no_match = nullptr;

std::string show(const Captures& captures) {
    std::string out;
    for (const auto& [name, value] : captures) {
        if (!out.empty()) out += ", ";
        out += name + "=" + value;
    }
    return out;
}

struct MatchRow {
    const char* pattern;
    const char* topic;
    const char* captures;  // no_match, or the expected captures ("" when there are none)
};

// The first route of a linear scan over TopicPattern::match: the reference the trie must
// agree with.
std::optional<std::size_t> linear_first(const std::vector<TopicPattern>& patterns,
                                        std::string_view topic) {
    for (std::size_t i = 0; i < patterns.size(); ++i) {
        if (patterns[i].match(topic)) return i;
    }
    return std::nullopt;
}

std::string parse_error(const std::string& pattern) {
    try {
        TopicPattern::parse(pattern);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "accepted";
}

}  // namespace

TEST_CASE("patterns match level by level and capture exactly", "[pattern]") {
    const MatchRow rows[] = {
        // Literals compare whole levels, case-sensitively.
        {"a/b/c", "a/b/c", ""},
        {"a/b/c", "a/b", no_match},
        {"a/b/c", "a/b/c/d", no_match},
        {"a/b/c", "a/B/c", no_match},
        {"a/b", "a/b/", no_match},  // a trailing `/` adds an (empty) level

        // `+`: exactly one level, not captured.
        {"a/+/c", "a/b/c", ""},
        {"a/+/c", "a/b/x/c", no_match},
        {"+", "a", ""},
        {"+", "a/b", no_match},
        {"+/+", "/a", ""},  // a leading `/` is an empty first level, as in MQTT

        // `{name}` "captures one whole level".
        {"/ext/error/{product_key}/{device_name}", "/ext/error/a1pk/dev1",
         "product_key=a1pk, device_name=dev1"},
        {"{a}/{b}", "x/y", "a=x, b=y"},
        {"{a}", "x/y", no_match},
        {"a/{x}/b", "a//b", "x="},
        {"{x}", "dev-1.2_3:80", "x=dev-1.2_3:80"},

        // `{name}` "or part of one (`{service}_reply`)".
        {"thing/service/{service}_reply", "thing/service/reboot_reply", "service=reboot"},
        {"thing/service/{service}_reply", "thing/service/property_set_reply",
         "service=property_set"},
        {"thing/service/{service}_reply", "thing/service/reboot", no_match},
        {"thing/service/{service}_reply", "thing/service/reboot_reply_x", no_match},
        {"thing/service/{service}_reply", "thing/service/_reply", "service="},
        {"dev-{id}", "dev-42", "id=42"},
        {"dev-{id}", "dev-", "id="},
        {"dev-{id}", "device-42", no_match},
        // With two wildcards in a level the first takes the shortest span that still matches.
        {"{a}.{b}", "1.2.3", "a=1, b=2.3"},
        {"{a}_{b}_x", "p_q_r_x", "a=p, b=q_r"},
        {"{x}_*", "a_b_c", "x=a"},
        {"*_{x}", "a_b_c", "x=b_c"},
        {"v{major}.{minor}", "v2.0.0", "major=2, minor=0.0"},

        // `*`: "a glob inside one level (`*_reply`; never crosses `/`)".
        {"thing/*_reply", "thing/post_reply", ""},
        {"thing/*_reply", "thing/_reply", ""},
        {"thing/*_reply", "thing/event/post_reply", no_match},
        {"*_reply", "a/b_reply", no_match},
        {"*", "anything", ""},
        {"a/*", "a/", ""},
        {"a/*", "a/b/c", no_match},
        {"*_re*", "post_reply", ""},
        {"*_re*", "postreply", no_match},
        {"pre*post", "prepost", ""},
        {"pre*post", "prpost", no_match},

        // `**`: "zero or more whole levels (anywhere)".
        {"**/resp", "resp", ""},
        {"**/resp", "a/b/c/resp", ""},
        {"**/resp", "a/b/resp/x", no_match},
        {"a/**/b", "a/b", ""},
        {"a/**/b", "a/x/y/z/b", ""},
        {"a/**/b", "a/x/y/c", no_match},
        {"a/**", "a", ""},
        {"a/**", "a/x/y", ""},
        {"a/**", "b", no_match},
        {"a/**/{x}", "a/p/q/r", "x=r"},
        {"{x}/**/{y}", "p", no_match},
        {"{x}/**/{y}", "p/q", "x=p, y=q"},
        {"**/{x}/**", "p/q/r", "x=p"},  // the leading `**` takes as few levels as it can
        {"a/**/**/b", "a/b", ""},
        {"a/**/x/**/b", "a/x/b", ""},
        {"a/**/x/**/b", "a/1/x/2/3/b", ""},
        {"a/**/x/**/b", "a/1/2/b", no_match},

        // `#`: "zero or more levels, last only"; `a/#` also matches `a`, as MQTT does.
        {"a/#", "a", ""},
        {"a/#", "a/b/c", ""},
        {"a/#", "a/", ""},
        {"a/#", "ab", no_match},
        {"#", "a/b", ""},
        {"#", "/a", ""},
        {"a/+/#", "a", no_match},
        {"a/+/#", "a/b", ""},
        {"{x}/#", "p/q/r", "x=p"},

        // "Topics starting with `$` (`$oc/...`) are never matched by a leading `+` or `#`,
        // only by literal first levels."
        {"$oc/devices/{device_id}/sys/events/down", "$oc/devices/gw1/sys/events/down",
         "device_id=gw1"},
        {"+/devices/+/sys/events/down", "$oc/devices/gw1/sys/events/down", no_match},
        {"#", "$oc/devices/gw1/sys/events/down", no_match},
        {"**/down", "$oc/devices/gw1/sys/events/down", no_match},
        {"**/$oc/devices/#", "$oc/devices/gw1", no_match},
        {"{x}/devices/#", "$oc/devices/gw1", no_match},
        {"$*/devices/#", "$oc/devices/gw1", no_match},  // a glob is not a literal level
        {"#", "$", no_match},
        {"$SYS/#", "$SYS/broker/load", ""},
        {"$oc/+/#", "$oc/devices/gw1", ""},
        {"+/devices/#", "oc/devices/gw1", ""},
        {"a/$x/+", "a/$x/y", ""},  // `$` matters only in the first level
        {"a/+", "a/$x", ""},

        // Empty levels are levels.
        {"a//b", "a//b", ""},
        {"a//b", "a/b", no_match},
        {"/a", "a", no_match},
        {"a/", "a/", ""},
        {"a/+/b", "a//b", ""},
    };
    for (const auto& row : rows) {
        INFO("pattern " << row.pattern << " on topic " << row.topic);
        TopicPattern pattern = TopicPattern::parse(row.pattern);
        Captures captures{{"stale", "value"}};  // match() must clear what was there
        bool matched = pattern.match(row.topic, &captures);
        CHECK(matched == (row.captures != no_match));
        if (row.captures != no_match && matched) CHECK(show(captures) == row.captures);
        CHECK(pattern.match(row.topic) == matched);  // without captures too

        // The trie must give the same answer for a table of one.
        RouteTable table({pattern});
        auto hit = table.match(row.topic);
        CHECK(hit.has_value() == matched);
        if (hit && matched) CHECK(show(hit->captures) == show(captures));
    }
}

TEST_CASE("patterns derive their MQTT subscription filter", "[pattern]") {
    // "errbridge derives each route's subscription filter (`{x}`/globs → `+`, from the first
    // `**` on → `#`)."
    const std::pair<const char*, const char*> rows[] = {
        {"a/b/c", "a/b/c"},
        {"/ext/error/{product_key}/{device_name}", "/ext/error/+/+"},
        {"/ext/session/{product_key}/{device_name}/combine/*_reply", "/ext/session/+/+/combine/+"},
        {"/sys/{product_key}/{device_name}/thing/**/*_reply", "/sys/+/+/thing/#"},
        {"**/resp", "#"},
        {"a/#", "a/#"},
        {"a/**", "a/#"},
        {"$oc/devices/{device_id}/sys/events/down", "$oc/devices/+/sys/events/down"},
        {"a/dev-{id}/x", "a/+/x"},
    };
    for (const auto& [text, filter] : rows) {
        INFO(text);
        CHECK(TopicPattern::parse(text).subscription_filter() == filter);
    }
}

TEST_CASE("malformed patterns are refused with their reason", "[pattern]") {
    const std::pair<std::string, const char*> rows[] = {
        {"", "empty pattern"},
        {std::string("a/\0/b", 5), "NUL character in pattern"},
        {"a/#/b", "'#' must be the last level"},
        {"#/a", "'#' must be the last level"},
        {"a+", "'+' and '#' must fill a whole level (in \"a+\")"},
        {"a/b#", "'+' and '#' must fill a whole level (in \"b#\")"},
        {"a/{x}+", "'+' and '#' must fill a whole level (in \"{x}+\")"},
        {"a**", "'**' must fill a whole level (in \"a**\")"},
        {"a/***", "'**' must fill a whole level (in \"***\")"},
        {"a/{name", "unclosed '{' in \"{name\""},
        {"a/x_{name", "unclosed '{' in \"x_{name\""},
        {"a/name}", "unmatched '}' in \"name}\""},
        {"a/{Name}", "capture name \"Name\" must be lower-case letters, digits and _"},
        {"a/{}", "capture name \"\" must be lower-case letters, digits and _"},
        {"a/{1st}", "capture name \"1st\" must be lower-case letters, digits and _"},
        {"a/{device-id}", "capture name \"device-id\" must be lower-case letters, digits and _"},
        {"{a}/{a}", "capture {a} appears twice"},
        {"{a}/x/{a}_reply", "capture {a} appears twice"},
        {"{a}_{b}_*", "at most two wildcards per level (in \"{a}_{b}_*\")"},
        {"*.*.*", "at most two wildcards per level (in \"*.*.*\")"},
        {"{a}{b}",
         "two wildcards side by side in \"{a}{b}\" are ambiguous; put literal text "
         "between them"},
        {"x/*{a}",
         "two wildcards side by side in \"*{a}\" are ambiguous; put literal text "
         "between them"},
    };
    for (const auto& [text, reason] : rows) {
        INFO("pattern \"" << text << "\"");
        CHECK(parse_error(text) == reason);
    }
}

TEST_CASE("the default routes come in SPEC §5 order", "[pattern]") {
    auto defaults = default_routes(errbridge::catalog::Catalog::built_in());
    const std::pair<const char*, const char*> expected[] = {
        {"aliyun-1", "/ota/device/+/{product_key}/{device_name}"},
        {"aliyun-2", "/ext/error/{product_key}/{device_name}"},
        {"aliyun-3", "/ext/session/{product_key}/{device_name}/combine/*_reply"},
        {"aliyun-4", "/sys/{product_key}/{device_name}/thing/**/*_reply"},
        {"neuron-1", "/neuron/{app}/**/resp"},
        {"neuron-2", "/neuron/{app}/{driver}/{group}"},
        {"neuron-3", "neuron/{app}/**/resp"},
        {"tuya-link-1", "tylink/{device_id}/**/*_response"},
        {"tuya-link-2", "tylink/{device_id}/**/response"},
        {"tuya-1", "bridge/tuya/openapi/{device_id}/response"},
        {"huawei-iotedge-1", "$oc/devices/{device_id}/sys/events/down"},
        {"huawei-iotedge-2",
         "bridge/huawei-iotedge/{project_id}/edge-nodes/{edge_node_id}/**/response"},
        {"huawei-iotedge-3", "bridge/huawei-iotedge/{project_id}/**/response"},
        {"camera-1", "bridge/camera/{host}/http/{command}/response"},
        {"camera-2", "bridge/camera/{host}/http/{command}/{channel}/response"},
        {"camera-3", "bridge/camera/{host}/http/{command}/{channel}/{action}/response"},
    };
    REQUIRE(defaults.size() == std::size(expected));
    for (std::size_t i = 0; i < defaults.size(); ++i) {
        CHECK(defaults[i].first == expected[i].first);
        CHECK(defaults[i].second.topic == expected[i].second);
    }
}

TEST_CASE("every real vendor topic reaches the right default route", "[pattern]") {
    auto defaults = default_routes(errbridge::catalog::Catalog::built_in());
    std::vector<TopicPattern> patterns;
    for (const auto& [name, route] : defaults)
        patterns.push_back(TopicPattern::parse(route.topic));
    RouteTable table(patterns);

    struct Row {
        const char* topic;
        const char* route;     // nullptr: no default route takes it
        const char* captures;  // of the winning route
    };
    const char* const pk_dn = "product_key=a1pk, device_name=dev1";
    const char* const gw = "product_key=a1GwPk, device_name=gw1";
    const char* const neuron_app = "app=a1b2c3";
    const char* const tylink = "device_id=6c8e1f";
    const Row rows[] = {
        // FORMATS §3, Alibaba Alink: "/sys/{pk}/{dn}/thing/..._reply", cloud and device replies.
        {"/sys/a1pk/dev1/thing/event/property/post_reply", "aliyun-4", pk_dn},
        {"/sys/a1pk/dev1/thing/event/overheat/post_reply", "aliyun-4", pk_dn},
        {"/sys/a1GwPk/gw1/thing/event/property/pack/post_reply", "aliyun-4", gw},
        {"/sys/a1pk/dev1/thing/model/up_raw_reply", "aliyun-4", pk_dn},
        {"/sys/a1pk/dev1/thing/service/property/set_reply", "aliyun-4", pk_dn},
        {"/sys/a1pk/dev1/thing/service/reboot_reply", "aliyun-4", pk_dn},
        {"/sys/a1GwPk/gw1/thing/topo/add_reply", "aliyun-4", gw},
        {"/sys/a1GwPk/gw1/thing/topo/delete_reply", "aliyun-4", gw},
        {"/sys/a1GwPk/gw1/thing/topo/get_reply", "aliyun-4", gw},
        {"/sys/a1GwPk/gw1/thing/sub/register_reply", "aliyun-4", gw},
        {"/sys/a1GwPk/gw1/thing/list/found_reply", "aliyun-4", gw},
        {"/sys/a1pk/dev1/thing/property/desired/get_reply", "aliyun-4", pk_dn},
        {"/sys/a1pk/dev1/thing/property/desired/delete_reply", "aliyun-4", pk_dn},
        {"/sys/a1pk/dev1/thing/config/get_reply", "aliyun-4", pk_dn},
        {"/sys/a1pk/dev1/thing/deviceinfo/update_reply", "aliyun-4", pk_dn},
        {"/sys/a1pk/dev1/thing/dsltemplate/get_reply", "aliyun-4", pk_dn},
        {"/sys/a1pk/dev1/thing/event/property/post", nullptr, ""},  // the request itself
        // "/ext/session/{gw_pk}/{gw_dn}/combine/login_reply, …/logout_reply"
        {"/ext/session/a1GwPk/gw1/combine/login_reply", "aliyun-3", gw},
        {"/ext/session/a1GwPk/gw1/combine/logout_reply", "aliyun-3", gw},
        {"/ext/session/a1GwPk/gw1/combine/batch_login_reply", "aliyun-3", gw},
        // "(alias `login/batch_reply` in some SDKs)": one level deeper than the SPEC §5
        // pattern, so a site using such an SDK needs its own route.
        {"/ext/session/a1GwPk/gw1/combine/login/batch_reply", nullptr, ""},
        {"/ext/session/a1GwPk/gw1/combine/login", nullptr, ""},
        {"/ext/error/a1GwPk/gw1", "aliyun-2", gw},
        // "/ota/device/request/{pk}/{dn} (request and reply on one topic)", ".../upgrade/..."
        {"/ota/device/request/a1pk/dev1", "aliyun-1", pk_dn},
        {"/ota/device/upgrade/a1pk/dev1", "aliyun-1", pk_dn},

        // FORMATS §2, Neuron. Default upload topic "/neuron/{app}/{driver}/{group}".
        {"/neuron/mqtt-app/modbus-tcp/group-1", "neuron-2",
         "app=mqtt-app, driver=modbus-tcp, group=group-1"},
        // Legacy responses (before 2.13) also fit the upload shape; the earlier route wins.
        {"/neuron/mqtt-app/read/resp", "neuron-1", "app=mqtt-app"},
        {"/neuron/a1b2c3/write/resp", "neuron-1", neuron_app},
        {"/neuron/a1b2c3/action/resp", "neuron-1", neuron_app},
        // So does an upload for a group named "resp": first match wins, as documented.
        {"/neuron/mqtt-app/modbus-tcp/resp", "neuron-1", "app=mqtt-app"},
        // "The docs say the dashboard default is `/neuron/{MQTT driver name}`": no default.
        {"/neuron/mqtt-app", nullptr, ""},
        // Since 2.13: "neuron/${random_str}/write/resp", "neuron/{app}/read/resp",
        // "{driver_topic_prefix}/action/resp" and the flist/fup/fupdata/fdown responses.
        {"neuron/a1b2c3/write/resp", "neuron-3", neuron_app},
        {"neuron/mqtt-app/read/resp", "neuron-3", "app=mqtt-app"},
        {"neuron/a1b2c3/action/resp", "neuron-3", neuron_app},
        {"neuron/a1b2c3/flist/resp", "neuron-3", neuron_app},
        {"neuron/a1b2c3/fup/resp", "neuron-3", neuron_app},
        {"neuron/a1b2c3/fupdata/resp", "neuron-3", neuron_app},
        {"neuron/a1b2c3/fdown/resp", "neuron-3", neuron_app},
        {"neuron/a1b2c3/write/req", nullptr, ""},
        {"neuron/mqtt-app/read/req", nullptr, ""},
        {"neuron/a1b2c3/state/update", nullptr, ""},  // "Carries state, not error codes."

        // FORMATS §4, TuyaLink "tylink/${deviceId}/…" replies.
        {"tylink/6c8e1f/thing/property/report_response", "tuya-link-1", tylink},
        {"tylink/6c8e1f/thing/event/trigger_response", "tuya-link-1", tylink},
        {"tylink/6c8e1f/thing/data/batch_report_response", "tuya-link-1", tylink},
        {"tylink/6c8e1f/thing/model/get_response", "tuya-link-1", tylink},
        {"tylink/6c8e1f/device/sub/bind_response", "tuya-link-1", tylink},
        {"tylink/6c8e1f/device/topo/add_response", "tuya-link-1", tylink},
        {"tylink/6c8e1f/device/topo/delete_response", "tuya-link-1", tylink},
        {"tylink/6c8e1f/device/topo/get_response", "tuya-link-1", tylink},
        {"tylink/6c8e1f/ota/get_response", "tuya-link-1", tylink},
        {"tylink/6c8e1f/ext/config/get_response", "tuya-link-1", tylink},
        {"tylink/6c8e1f/thing/property/set_response", "tuya-link-1", tylink},
        {"tylink/6c8e1f/thing/action/execute_response", "tuya-link-1", tylink},
        // "ext/time/response", "ext/file/{upload,download}/response": no `_` before it.
        {"tylink/6c8e1f/ext/time/response", "tuya-link-2", tylink},
        {"tylink/6c8e1f/ext/file/upload/response", "tuya-link-2", tylink},
        {"tylink/6c8e1f/ext/file/download/response", "tuya-link-2", tylink},
        {"tylink/6c8e1f/thing/property/report", nullptr, ""},

        // FORMATS §1: "bridge/tuya/openapi/{device_id|project|login}/response".
        {"bridge/tuya/openapi/vdevo1234/response", "tuya-1", "device_id=vdevo1234"},
        {"bridge/tuya/openapi/login/response", "tuya-1", "device_id=login"},
        {"bridge/tuya/openapi/project/response", "tuya-1", "device_id=project"},

        // FORMATS §5, Huawei: "$oc/devices/{gw}/sys/events/down" and the REST bridge.
        {"$oc/devices/gw-01/sys/events/down", "huawei-iotedge-1", "device_id=gw-01"},
        {"$oc/devices/gw-01/sys/events/up", nullptr, ""},
        {"$oc/devices/gw-01/sys/messages/down", nullptr, ""},
        {"$hw/events/node/edge-7/update", nullptr, ""},  // IEF: "no error codes"
        {"bridge/huawei-iotedge/proj1/edge-nodes/node7/response", "huawei-iotedge-2",
         "project_id=proj1, edge_node_id=node7"},
        {"bridge/huawei-iotedge/proj1/edge-nodes/node7/devices/d1/response", "huawei-iotedge-2",
         "project_id=proj1, edge_node_id=node7"},
        {"bridge/huawei-iotedge/proj1/response", "huawei-iotedge-3", "project_id=proj1"},
        {"bridge/huawei-iotedge/proj1/edge-nodes/response", "huawei-iotedge-3", "project_id=proj1"},
        {"bridge/huawei-iotedge/proj1/apps/a1/versions/response", "huawei-iotedge-3",
         "project_id=proj1"},

        // FORMATS §6 via §1: "bridge/camera/{host}/http/{Command}[/{ch}[/{action}]]/response".
        {"bridge/camera/192.168.1.64/http/GetDeviceInfo/response", "camera-1",
         "host=192.168.1.64, command=GetDeviceInfo"},
        {"bridge/camera/nvr-lobby:8080/http/GetImageConfig/3/response", "camera-2",
         "host=nvr-lobby:8080, command=GetImageConfig, channel=3"},
        {"bridge/camera/nvr-lobby/http/PtzControl/3/Up/response", "camera-3",
         "host=nvr-lobby, command=PtzControl, channel=3, action=Up"},
        {"bridge/camera/nvr-lobby/http/A/1/B/C/response", nullptr, ""},
        {"bridge/camera/nvr-lobby/http/response", nullptr, ""},
    };
    for (const auto& row : rows) {
        INFO("topic " << row.topic);
        auto hit = table.match(row.topic);
        auto linear = linear_first(patterns, row.topic);
        CHECK(hit.has_value() == linear.has_value());
        if (hit && linear) CHECK(hit->route == *linear);
        if (!row.route) {
            CHECK_FALSE(hit.has_value());
            continue;
        }
        REQUIRE(hit.has_value());
        CHECK(defaults[hit->route].first == row.route);
        CHECK(show(hit->captures) == row.captures);
        CHECK(table.first_match(row.topic) == hit->route);
    }
}

TEST_CASE("the route table agrees with a linear scan on generated patterns", "[pattern]") {
    // Small alphabets make collisions between patterns and topics frequent, which is where
    // the trie's sharing and pruning could go wrong.
    std::mt19937 rng(20240611);
    auto pick = [&](std::size_t n) {
        return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
    };
    const char* const pattern_levels[] = {"a", "b", "", "$s", "+", "**", "*_r", "a*", "{}", "x_{}"};
    const char* const topic_levels[] = {"a", "b", "", "$s", "a_r", "ab", "x_r", "x_y"};
    auto make_pattern = [&] {
        std::string text;
        std::size_t levels = 1 + pick(4);
        int capture = 0;
        for (std::size_t i = 0; i < levels; ++i) {
            if (i) text += '/';
            if (i + 1 == levels && pick(6) == 0) {
                text += '#';
                break;
            }
            std::string level = pattern_levels[pick(std::size(pattern_levels))];
            auto brace = level.find("{}");
            if (brace != std::string::npos)
                level.insert(brace + 1, "c" + std::to_string(capture++));
            text += level;
        }
        return text.empty() ? std::string("+") : text;  // "" is not a pattern
    };
    auto make_topic = [&] {
        std::string text;
        std::size_t levels = 1 + pick(5);
        for (std::size_t i = 0; i < levels; ++i) {
            if (i) text += '/';
            text += topic_levels[pick(std::size(topic_levels))];
        }
        return text;
    };

    int combos = 0;
    int matched = 0;
    for (int round = 0; round < 40; ++round) {
        std::vector<TopicPattern> patterns;
        std::size_t count = 1 + pick(10);
        for (std::size_t i = 0; i < count; ++i)
            patterns.push_back(TopicPattern::parse(make_pattern()));
        RouteTable table(patterns);
        for (int t = 0; t < 25; ++t) {
            std::string topic = make_topic();
            auto expected = linear_first(patterns, topic);
            auto hit = table.match(topic);
            std::string listing;
            for (const auto& p : patterns)
                listing += " " + p.text();
            INFO("patterns" << listing << " topic " << topic);
            ++combos;
            REQUIRE(hit.has_value() == expected.has_value());
            if (!hit) continue;
            ++matched;
            CHECK(hit->route == *expected);
            Captures captures;
            patterns[*expected].match(topic, &captures);
            CHECK(show(hit->captures) == show(captures));
        }
    }
    // Guard against a generator that only ever produces misses (or only hits).
    CHECK(combos == 1000);
    CHECK(matched > 150);
    CHECK(matched < 850);
}

TEST_CASE("a ten-thousand-level topic does not make matching blow up", "[pattern]") {
    std::string topic;
    for (int i = 0; i < 10'000; ++i)
        topic += "a/";
    std::string hit_topic = topic + "z";
    std::string miss_topic = topic + "y";

    // One `**`: each skip is tried once.
    CHECK(TopicPattern::parse("**/z").match(hit_topic));
    CHECK_FALSE(TopicPattern::parse("**/z").match(miss_topic));
    CHECK_FALSE(TopicPattern::parse("a/**/a/b").match(miss_topic));
    // Two `**`: without memoising failures this is exponential in the number of `**`.
    Captures captures;
    CHECK(TopicPattern::parse("**/{x}/**/z").match(hit_topic, &captures));
    CHECK(show(captures) == "x=a");
    CHECK_FALSE(TopicPattern::parse("**/a/**/b").match(miss_topic));
    CHECK_FALSE(TopicPattern::parse("a/**/*_x/**/z").match(hit_topic));

    std::vector<TopicPattern> patterns;
    for (const char* text : {"**/b", "a/**/a/**/b", "**/*_x/**/q", "{x}/**/{y}_r", "a/**/z"})
        patterns.push_back(TopicPattern::parse(text));
    RouteTable table(patterns);
    CHECK_FALSE(table.match(miss_topic).has_value());
    auto hit = table.match(hit_topic);
    REQUIRE(hit.has_value());
    CHECK(hit->route == 4);
}
