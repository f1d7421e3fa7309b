// Route matching cost against the number of routes (SPEC §13: "route matching nearly flat
// from 10 to 1,000 routes"). The trie (RouteTable::match) and a naive first-match scan over
// TopicPattern::match run side by side on the same tables, for a topic that hits the last
// route and one that matches nothing, with the decode path's matcher (core::detail::
// RouteMatcher, the trie the decoder runs per message) beside them.
// Run: build/tests/bench/bench_routes --benchmark_min_time=0.1
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "errbridge/catalog/catalog.h"
#include "errbridge/config/load.h"
#include "errbridge/config/route_table.h"
#include "errbridge/config/topic_pattern.h"
#include "routes.h"

using namespace errbridge::config;

namespace {

// The 16 default routes first (vendor traffic every site has), then `site_routes` per-site
// routes in five shapes seen in real configs: literal site prefixes, captures, a capture as
// the first level, `**` in the middle and a `**` right after a shared prefix with a glob.
std::vector<TopicPattern> make_routes(std::size_t site_routes) {
    std::vector<TopicPattern> patterns;
    for (const auto& [name, route] : default_routes(errbridge::catalog::Catalog::built_in()))
        patterns.push_back(TopicPattern::parse(route.topic));
    for (std::size_t i = 0; i < site_routes; ++i) {
        std::string n = std::to_string(i);
        std::string text;
        switch (i % 5) {
            case 0:
                text = "site" + n + "/sys/{product_key}/{device_name}/thing/**/*_reply";
                break;
            case 1:
                text = "plant" + n + "/neuron/{app}/{driver}/{group}";
                break;
            case 2:
                text = "{site}/line" + n + "/+/alarm/{code}_err";
                break;
            case 3:
                text = "bridge/camera-" + n + "/{host}/http/{command}/**/response";
                break;
            default:
                text = "fleet/**/gw" + n + "/*_response";
                break;
        }
        patterns.push_back(TopicPattern::parse(text));
    }
    return patterns;
}

// Hits the last route: site route counts are 10, 100 and 1,000, so the last one is of the
// `fleet/**/gw<n>/*_response` shape.
std::string hit_topic(std::size_t site_routes) {
    return "fleet/eu-west/hall3/gw" + std::to_string(site_routes - 1) + "/get_response";
}

// Walks deep into the trie (past `/sys/+/+/thing/**`) before failing.
const std::string miss_topic = "/sys/a1pk/dev1/thing/event/property/post";

struct Case {
    std::vector<TopicPattern> patterns;
    RouteTable table;
    std::string topic;
};

Case make_case(benchmark::State& state, bool hit) {
    auto site_routes = static_cast<std::size_t>(state.range(0));
    auto patterns = make_routes(site_routes);
    Case c{patterns, RouteTable(patterns), hit ? hit_topic(site_routes) : miss_topic};
    // A benchmark of the wrong answer is worthless: check the setup before timing it.
    auto result = c.table.match(c.topic);
    bool right = hit ? (result && result->route == patterns.size() - 1) : !result;
    if (!right) {
        std::fprintf(stderr, "bench_routes: unexpected match for %s\n", c.topic.c_str());
        std::abort();
    }
    state.counters["routes"] = static_cast<double>(patterns.size());
    return c;
}

void trie(benchmark::State& state, bool hit) {
    Case c = make_case(state, hit);
    for (auto _ : state)
        benchmark::DoNotOptimize(c.table.match(c.topic));
}

void matcher(benchmark::State& state, bool hit) {
    Case c = make_case(state, hit);
    errbridge::core::detail::RouteMatcher m(c.patterns);
    errbridge::core::detail::RouteScratch scratch;
    errbridge::core::detail::CaptureViews captures;
    std::size_t route = 0;
    for (auto _ : state) {
        bool found = m.match(c.topic, scratch, route, captures);
        benchmark::DoNotOptimize(found);
        benchmark::DoNotOptimize(captures.data());
    }
}

void linear(benchmark::State& state, bool hit) {
    Case c = make_case(state, hit);
    for (auto _ : state) {
        std::optional<RouteMatch> result;
        Captures captures;
        for (std::size_t i = 0; i < c.patterns.size(); ++i) {
            if (c.patterns[i].match(c.topic, &captures)) {
                result = RouteMatch{i, std::move(captures)};
                break;
            }
        }
        benchmark::DoNotOptimize(result);
    }
}

}  // namespace

BENCHMARK_CAPTURE(trie, hit_last, true)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK_CAPTURE(matcher, hit_last, true)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK_CAPTURE(linear, hit_last, true)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK_CAPTURE(trie, miss, false)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK_CAPTURE(matcher, miss, false)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK_CAPTURE(linear, miss, false)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK_MAIN();
