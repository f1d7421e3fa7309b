// The decode path's route matcher (bridge/core/src/routes.h) against the reference it must
// equal: a plain first-match scan with TopicPattern::match, route and captures (names,
// values and order), on the default routes and on generated tables built to hit its word
// compares at every level length and position, its large literal fan-outs, `$` topics,
// `#`, and repeated `**`.

#include <catch2/catch.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "errbridge/catalog/catalog.h"
#include "errbridge/config/load.h"
#include "errbridge/config/topic_pattern.h"
#include "routes.h"

using namespace errbridge;
using config::TopicPattern;

namespace {

struct Expected {
    std::size_t route;
    config::Captures captures;
};

std::optional<Expected> linear_first(const std::vector<TopicPattern>& patterns,
                                     std::string_view topic) {
    for (std::size_t i = 0; i < patterns.size(); ++i) {
        config::Captures captures;
        if (patterns[i].match(topic, &captures)) return Expected{i, captures};
    }
    return std::nullopt;
}

std::string show(const config::Captures& captures) {
    std::string out;
    for (const auto& [name, value] : captures)
        out += name + "=" + value + ";";
    return out;
}

std::string show(const core::detail::CaptureViews& captures) {
    std::string out;
    for (const auto& [name, value] : captures)
        out += std::string(name) + "=" + std::string(value) + ";";
    return out;
}

// Checks one topic; the scratch and captures are reused as the decoder reuses them.
void agree(const std::vector<TopicPattern>& patterns, const core::detail::RouteMatcher& matcher,
           const std::string& topic, core::detail::RouteScratch& scratch,
           core::detail::CaptureViews& captures, int& matched) {
    auto expected = linear_first(patterns, topic);
    std::size_t route = SIZE_MAX;
    bool hit = matcher.match(topic, scratch, route, captures);
    std::string listing;
    for (const auto& p : patterns)
        listing += " " + p.text();
    INFO("patterns" << listing << " topic " << topic);
    REQUIRE(hit == expected.has_value());
    if (!hit) {
        CHECK(captures.empty());
        return;
    }
    ++matched;
    CHECK(route == expected->route);
    CHECK(show(captures) == show(expected->captures));
}

}  // namespace

TEST_CASE("the route matcher agrees with a linear scan on the default routes", "[routes]") {
    std::vector<TopicPattern> patterns;
    for (const auto& [name, route] : config::default_routes(catalog::Catalog::built_in()))
        patterns.push_back(TopicPattern::parse(route.topic));
    core::detail::RouteMatcher matcher(patterns);
    core::detail::RouteScratch scratch;
    core::detail::CaptureViews captures;
    int matched = 0;
    for (const char* topic : {
             "/sys/a1X2/pump-7/thing/event/property/post_reply",
             "/sys/a1X2/gw-1/thing/topo/add_reply",
             "/sys/a1X2/gw-1/thing/event/property/pack/post_reply",
             "/sys/a1X2/pump-7/thing/event/property/post",
             "/sys/a1X2/pump-7/thing/_reply",
             "/sys/a1X2/pump-7/thing/x/y/z/w/v/u/t/s/r/q_reply",
             "/sys//x/thing/event/property/post_reply",
             "/ext/session/a1X2/gw-1/combine/login_reply",
             "/ext/error/a1X2/gw-1",
             "/ext/error/a1X2/gw-1/more",
             "/ota/device/upgrade/a1X2/pump-7",
             "/neuron/app1/modbus-tcp-1/grp-1",
             "/neuron/app1/read/resp",
             "neuron/app1/write/resp",
             "neuron/drv-1/flist/resp",
             "neuron/resp",
             "tylink/dev-1/thing/property/report_response",
             "tylink/dev-1/ext/time/response",
             "tylink/dev-1/response",
             "bridge/tuya/openapi/dev-1/response",
             "bridge/tuya/openapi/login/response",
             "$oc/devices/gw-1/sys/events/down",
             "$sys/a1X2/pump-7/thing/event/property/post_reply",
             "bridge/huawei-iotedge/proj-1/edge-nodes/node-1/apps/response",
             "bridge/huawei-iotedge/proj-1/response",
             "bridge/huawei-iotedge/proj-1/edge-nodes/response",
             "bridge/camera/cam-1/http/GetDeviceInfo/response",
             "bridge/camera/cam-1/http/GetImageConfig/1/response",
             "bridge/camera/nvr-2/http/ManualAlarmOut/3/start/response",
             "bridge/camera/nvr-2/http/ManualAlarmOut/3/start/stop/response",
             "",
             "/",
             "//",
             "a",
         })
        agree(patterns, matcher, topic, scratch, captures, matched);
    CHECK(matched > 20);
}

TEST_CASE("the route matcher agrees with a linear scan on generated patterns", "[routes]") {
    // Small alphabets make patterns and topics collide often. The literals straddle the
    // matcher's 8- and 16-byte word compares (and differ only in their middle bytes), the
    // `l<n>` levels give nodes more children than a linear scan is used for, and short
    // topics put levels at the very start and end of the topic text.
    std::mt19937 rng(20250611);
    auto pick = [&](std::size_t n) {
        return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
    };
    const std::vector<std::string> shared = {
        "a",
        "b",
        "",
        "$s",
        "abcdefgh",
        "abcdefgX",
        "abcdefghi",
        "abcdefghij",
        "abcdefghijklmnop",
        "abcdefghijklmnopqrs",
        "abcdefghiXklmnopqrs",
    };
    std::vector<std::string> pattern_levels = shared;
    for (const char* level : {"+", "+", "**", "**", "*_r", "a*", "{}", "x_{}", "{}_long_suffix",
                              "pre{}*", "*{}", "{}ab{}", "ab*gh", "abcdefghij*", "*ijklmnopqrs"})
        pattern_levels.emplace_back(level);
    std::vector<std::string> topic_levels = shared;
    for (const char* level : {"a_r", "ab", "x_r", "x_y", "q_long_suffix", "pre_x", "pre", "xxabyy",
                              "abgh", "ab_gh", "$", "abcdefghijabcdefghij"})
        topic_levels.emplace_back(level);
    for (int i = 0; i < 24; ++i) {
        pattern_levels.push_back("l" + std::to_string(i));
        topic_levels.push_back("l" + std::to_string(i));
    }

    auto make_pattern = [&] {
        std::string text;
        std::size_t levels = 1 + pick(5);
        int capture = 0;
        for (std::size_t i = 0; i < levels; ++i) {
            if (i) text += '/';
            if (i + 1 == levels && pick(8) == 0) {
                text += '#';
                break;
            }
            std::string level = pattern_levels[pick(pattern_levels.size())];
            for (auto brace = level.find("{}"); brace != std::string::npos;
                 brace = level.find("{}", brace + 1))
                level.insert(brace + 1, "c" + std::to_string(capture++));
            text += level;
        }
        return text.empty() ? std::string("+") : text;
    };
    auto make_topic = [&] {
        std::string text;
        std::size_t levels = 1 + pick(6);
        for (std::size_t i = 0; i < levels; ++i) {
            if (i) text += '/';
            text += topic_levels[pick(topic_levels.size())];
        }
        return text;
    };

    int combos = 0;
    int matched = 0;
    core::detail::RouteScratch scratch;
    core::detail::CaptureViews captures;
    for (int round = 0; round < 400; ++round) {
        std::vector<TopicPattern> patterns;
        std::size_t count = 1 + pick(round % 4 == 0 ? 120 : 12);
        for (std::size_t i = 0; i < count; ++i) {
            try {
                patterns.push_back(TopicPattern::parse(make_pattern()));
            } catch (const std::invalid_argument&) {
                // `{}ab{}` next to `**` and the like: refused patterns are not routes.
            }
        }
        if (patterns.empty()) continue;
        core::detail::RouteMatcher matcher(patterns);
        for (int t = 0; t < 60; ++t) {
            ++combos;
            agree(patterns, matcher, make_topic(), scratch, captures, matched);
        }
    }
    CHECK(combos > 20'000);
    CHECK(matched > combos / 10);
    CHECK(matched < combos * 9 / 10);
}

TEST_CASE("the route matcher handles ten-thousand-level topics and repeated **", "[routes]") {
    std::string topic;
    for (int i = 0; i < 10'000; ++i)
        topic += "a/";
    std::vector<TopicPattern> patterns;
    for (const char* text :
         {"**/b", "a/**/a/**/b", "**/*_x/**/q", "{x}/**/{y}_r", "a/**/{z}", "**/{w}/**/z"})
        patterns.push_back(TopicPattern::parse(text));
    core::detail::RouteMatcher matcher(patterns);
    core::detail::RouteScratch scratch;
    core::detail::CaptureViews captures;
    int matched = 0;
    for (const std::string& t : {topic + "z", topic + "y", topic + "b", topic + "q_r", topic})
        agree(patterns, matcher, t, scratch, captures, matched);
    CHECK(matched == 5);
}
