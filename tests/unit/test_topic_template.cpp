// Output topic templates (SPEC §4): rendering with sanitised values, completeness (device
// templates), the exact reasons bad templates are refused, and the pattern that stands for
// every topic a template can produce (used to refuse output topics that feed our own routes).

#include <catch2/catch.hpp>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "errbridge/config/topic_pattern.h"
#include "errbridge/config/topic_template.h"

using namespace errbridge::config;
using namespace std::string_literals;

namespace {

using Values = std::map<std::string, std::string>;

TopicTemplate::Lookup lookup_in(const Values& values) {
    return [&values](std::string_view name) -> std::optional<std::string_view> {
        auto it = values.find(std::string(name));
        if (it == values.end()) return std::nullopt;
        return std::string_view(it->second);
    };
}

std::string parse_error(const std::string& text) {
    try {
        TopicTemplate::parse(text);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "accepted";
}

const char* const output_topic = "errors/{site}/{vendor}/{device}";  // the SPEC §3 default

}  // namespace

TEST_CASE("templates render sanitised values", "[template]") {
    struct Row {
        const char* text;
        Values values;
        std::string expected;
    };
    const Values base = {{"site", "plant-a"}, {"vendor", "aliyun"}, {"device", "a1pk/dev1"}};
    auto with = [&base](const std::string& name, const std::string& value) {
        Values v = base;
        v[name] = value;
        return v;
    };
    auto without = [&base](const std::string& name) {
        Values v = base;
        v.erase(name);
        return v;
    };
    const Row rows[] = {
        {output_topic, base, "errors/plant-a/aliyun/a1pk/dev1"},
        // "Values are sanitised (`+`, `#`, NUL → `_`; `/` → `_` except in `{device}`)"
        {output_topic, with("site", "plant/a"), "errors/plant_a/aliyun/a1pk/dev1"},
        {output_topic, with("site", "a+b#c"), "errors/a_b_c/aliyun/a1pk/dev1"},
        {output_topic, with("site", "a\0b"s), "errors/a_b/aliyun/a1pk/dev1"},
        {output_topic, with("site", "工厂-1"), "errors/工厂-1/aliyun/a1pk/dev1"},
        {output_topic, with("device", "gw1"), "errors/plant-a/aliyun/gw1"},
        {output_topic, with("device", "a1pk/dev1/extra"), "errors/plant-a/aliyun/a1pk/dev1/extra"},
        {output_topic, with("device", "+/#"), "errors/plant-a/aliyun/_/_"},
        {output_topic, with("device", "a\0/b"s), "errors/plant-a/aliyun/a_/b"},
        // "no template may produce an empty level (an empty value renders `_`)", and the
        // parts of {device} are levels too.
        {output_topic, with("site", ""), "errors/_/aliyun/a1pk/dev1"},
        {output_topic, with("device", ""), "errors/plant-a/aliyun/_"},
        {output_topic, with("device", "a//b"), "errors/plant-a/aliyun/a/_/b"},
        {output_topic, with("device", "/dev1"), "errors/plant-a/aliyun/_/dev1"},
        {output_topic, with("device", "a1pk/"), "errors/plant-a/aliyun/a1pk/_"},
        {output_topic, with("device", "/"), "errors/plant-a/aliyun/_/_"},
        // An unknown placeholder renders `_` like an empty value.
        {output_topic, without("site"), "errors/_/aliyun/a1pk/dev1"},
        {"errors/{nonsense}", base, "errors/_"},
        // Several placeholders in one level; captures are sanitised like any value.
        {"errors/{vendor}-{code}", with("code", "6813"), "errors/aliyun-6813"},
        {"errors/{product_key}", with("product_key", "a/b"), "errors/a_b"},
        {"{site}/{route}/{category}/{severity}",
         Values{{"site", "s"}, {"route", "aliyun-1"}, {"category", "auth"}, {"severity", "error"}},
         "s/aliyun-1/auth/error"},
        {"errors/{site}/_invalid", base, "errors/plant-a/_invalid"},
        {"fixed/topic", base, "fixed/topic"},
    };
    for (const auto& row : rows) {
        INFO(row.text << " with device \""
                      << (row.values.count("device") ? row.values.at("device") : "(none)")
                      << "\", site \""
                      << (row.values.count("site") ? row.values.at("site") : "(none)") << "\"");
        CHECK(TopicTemplate::parse(row.text).render(lookup_in(row.values)) == row.expected);
    }
}

TEST_CASE("which placeholder keeps its slashes is the caller's choice", "[template]") {
    const Values values = {{"site", "a/b"}, {"vendor", "v"}, {"device", "p/d"}};
    auto t = TopicTemplate::parse(output_topic);
    CHECK(t.render(lookup_in(values)) == "errors/a_b/v/p/d");
    CHECK(t.render(lookup_in(values), "") == "errors/a_b/v/p_d");
    CHECK(t.render(lookup_in(values), "site") == "errors/a/b/v/p_d");
}

TEST_CASE("append_sanitised", "[template]") {
    const std::tuple<std::string, bool, const char*> rows[] = {
        {"plain", false, "plain"}, {"", false, "_"},      {"", true, "_"},
        {"a/b", false, "a_b"},     {"a/b", true, "a/b"},  {"a+#b", true, "a__b"},
        {"a\0b"s, false, "a_b"},   {"//", true, "_/_/_"}, {"x/", true, "x/_"},
    };
    for (const auto& [value, keep, expected] : rows) {
        INFO("\"" << value << "\" keep_slashes " << keep);
        std::string out = "pre/";
        append_sanitised(out, value, keep);
        CHECK(out == "pre/"s + expected);
    }
}

TEST_CASE("complete: every placeholder has a non-empty value", "[template]") {
    // Device templates: "`{node}` if known, else `{app}`" - the first complete one wins.
    struct Row {
        const char* text;
        Values values;
        bool complete;
    };
    const Row rows[] = {
        {"{product_key}/{device_name}", {{"product_key", "a1pk"}, {"device_name", "dev1"}}, true},
        {"{product_key}/{device_name}", {{"product_key", "a1pk"}}, false},
        {"{product_key}/{device_name}", {{"product_key", "a1pk"}, {"device_name", ""}}, false},
        {"{node}", {{"app", "mqtt"}}, false},
        {"{app}", {{"app", "mqtt"}}, true},
        {"{device_id}", {{"device_id", "+"}}, true},  // sanitised later, but present
        {"fixed", {}, true},
    };
    for (const auto& row : rows) {
        INFO(row.text);
        CHECK(TopicTemplate::parse(row.text).complete(lookup_in(row.values)) == row.complete);
    }
}

TEST_CASE("placeholders are listed in order", "[template]") {
    CHECK(TopicTemplate::parse(output_topic).placeholders() ==
          std::vector<std::string>{"site", "vendor", "device"});
    CHECK(TopicTemplate::parse("x/{a}-{b}/y").placeholders() == std::vector<std::string>{"a", "b"});
    CHECK(TopicTemplate::parse("fixed").placeholders().empty());
}

TEST_CASE("malformed templates are refused with their reason", "[template]") {
    const std::pair<std::string, const char*> rows[] = {
        {"", "empty template"},
        {"errors/{site", "unclosed '{'"},
        {"errors/{site}/{vendor", "unclosed '{'"},
        {"errors/site}", "unmatched '}'"},
        {"errors/}{site}", "unmatched '}'"},
        {"errors/+/x", "'+' and '#' are not allowed in a published topic"},
        {"errors/#", "'+' and '#' are not allowed in a published topic"},
        {"errors/{site}+{vendor}", "'+' and '#' are not allowed in a published topic"},
        {"a//b", "empty topic level"},
        {"{site}//{vendor}", "empty topic level"},
        {"/errors/{site}", "empty topic level"},
        {"errors/{site}/", "empty topic level"},
        {"/", "empty topic level"},
        {"errors/{Site}", "placeholder {Site} must be lower-case letters, digits and _"},
        {"errors/{}", "placeholder {} must be lower-case letters, digits and _"},
        {"errors/{device-id}", "placeholder {device-id} must be lower-case letters, digits and _"},
        {"errors/{a{b}", "placeholder {a{b} must be lower-case letters, digits and _"},
        {"a\0b"s, "NUL character in template"},
    };
    for (const auto& [text, reason] : rows) {
        INFO("template \"" << text << "\"");
        CHECK(parse_error(text) == reason);
    }
}

TEST_CASE("as_pattern stands for every topic the template can produce", "[template]") {
    const std::pair<const char*, const char*> rows[] = {
        {output_topic, "errors/+/+/**"},
        {"errors/{site}/_invalid", "errors/+/_invalid"},
        {"errors/{site}/{route}/{vendor}", "errors/+/+/+"},
        {"errors/{site}-{vendor}/x", "errors/+/x"},
        {"errors/dev-{device}/x", "errors/**/x"},
        {"{device}", "**"},
        {"plain/topic", "plain/topic"},
    };
    for (const auto& [text, pattern] : rows) {
        INFO(text);
        CHECK(TopicTemplate::parse(text).as_pattern() == pattern);
    }
    CHECK(TopicTemplate::parse(output_topic).as_pattern("") == "errors/+/+/+");

    // The pattern must match whatever the template renders, hostile values included.
    const Values hostile[] = {
        {{"site", "s"}, {"vendor", "v"}, {"device", "d"}},
        {{"site", "a/b"}, {"vendor", "#"}, {"device", "p/q/r"}},
        {{"site", ""}, {"device", "//"}},
        {{"device", "/x/"}},
    };
    for (const char* text : {output_topic, "errors/{site}/_invalid", "errors/{site}-{vendor}/x",
                             "{device}", "errors/dev-{device}/x"}) {
        auto t = TopicTemplate::parse(text);
        auto pattern = TopicPattern::parse(t.as_pattern());
        for (const auto& values : hostile) {
            std::string topic = t.render(lookup_in(values));
            INFO(text << " rendered " << topic);
            CHECK(pattern.match(topic));
        }
    }
}
