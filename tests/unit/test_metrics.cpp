// Metrics (SPEC §11): the Prometheus text of a snapshot, word for word; the exit summary
// and the sd_notify STATUS from the same snapshot; histogram buckets; the series cap.

#include <catch2/catch.hpp>
#include <chrono>

#include "errbridge/daemon/counters.h"
#include "errbridge/daemon/metrics.h"

using namespace errbridge::daemon;
using namespace std::chrono_literals;

namespace {

MetricsSnapshot sample() {
    MetricsSnapshot s;
    s.messages_received = {{{"aliyun-1", ""}, 3}};
    s.events_published = {{{"aliyun", "payload-format"}, 2}, {{"tuya", "auth"}, 1}};
    s.dead_letters = {{{"not_json", ""}, 1}};
    s.no_code = {{{"aliyun-1", ""}, 1}};
    // Never a real vendor id: the three characters exposition format 0.0.4 escapes.
    s.suppressed = {{{"we\"ird\\x\ny", ""}, 4}};
    s.empty_payloads = 5;
    s.unrouted = 6;
    s.summaries_published = 7;
    s.buffer_overflow = 8;
    s.sessions_lost = 9;
    s.persist_errors = 10;
    s.stale_reconnects = 11;
    s.reconnects = 12;
    s.publish_errors = 13;
    s.handler_errors = 14;
    s.republished = 17;
    s.broker_connected = 1;
    s.buffered_events = 15;
    s.suppression_keys = 16;
    s.decode_seconds.bounds_ns.assign(decode_bounds_ns.begin(), decode_bounds_ns.end());
    s.decode_seconds.counts = {1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3};
    s.decode_seconds.sum_ns = 123'456'789'012;
    return s;
}

}  // namespace

TEST_CASE("render_prometheus: every family, sorted, escaped, word for word", "[metrics]") {
    const std::string expected =
        R"(# HELP errbridge_broker_connected 1 while connected to the broker, else 0.
# TYPE errbridge_broker_connected gauge
errbridge_broker_connected 1
# HELP errbridge_buffer_overflow_total Events dropped because the output buffer was full.
# TYPE errbridge_buffer_overflow_total counter
errbridge_buffer_overflow_total 8
# HELP errbridge_buffered_events Events awaiting delivery (in flight, or while the broker is away).
# TYPE errbridge_buffered_events gauge
errbridge_buffered_events 15
# HELP errbridge_dead_letters_total Payloads that could not be decoded, by reason.
# TYPE errbridge_dead_letters_total counter
errbridge_dead_letters_total{reason="not_json"} 1
# HELP errbridge_decode_seconds Time to decode one message and build its events.
# TYPE errbridge_decode_seconds histogram
errbridge_decode_seconds_bucket{le="0.000001"} 1
errbridge_decode_seconds_bucket{le="0.0000025"} 3
errbridge_decode_seconds_bucket{le="0.000005"} 3
errbridge_decode_seconds_bucket{le="0.00001"} 3
errbridge_decode_seconds_bucket{le="0.000025"} 3
errbridge_decode_seconds_bucket{le="0.00005"} 3
errbridge_decode_seconds_bucket{le="0.0001"} 3
errbridge_decode_seconds_bucket{le="0.00025"} 3
errbridge_decode_seconds_bucket{le="0.001"} 3
errbridge_decode_seconds_bucket{le="0.01"} 3
errbridge_decode_seconds_bucket{le="0.1"} 3
errbridge_decode_seconds_bucket{le="+Inf"} 6
errbridge_decode_seconds_sum 123.456789012
errbridge_decode_seconds_count 6
# HELP errbridge_empty_payloads_total Messages with an empty payload.
# TYPE errbridge_empty_payloads_total counter
errbridge_empty_payloads_total 5
# HELP errbridge_events_published_total Events handed to the broker.
# TYPE errbridge_events_published_total counter
errbridge_events_published_total{vendor="aliyun",category="payload-format"} 2
errbridge_events_published_total{vendor="tuya",category="auth"} 1
# HELP errbridge_handler_errors_total Messages whose handling raised an error.
# TYPE errbridge_handler_errors_total counter
errbridge_handler_errors_total 14
# HELP errbridge_messages_received_total Messages received on a route (after subscription de-duplication).
# TYPE errbridge_messages_received_total counter
errbridge_messages_received_total{route="aliyun-1"} 3
# HELP errbridge_no_code_total Messages on a route that carried no error code.
# TYPE errbridge_no_code_total counter
errbridge_no_code_total{route="aliyun-1"} 1
# HELP errbridge_persist_errors_total Failed writes to the state directory.
# TYPE errbridge_persist_errors_total counter
errbridge_persist_errors_total 10
# HELP errbridge_publish_errors_total Events the MQTT client refused to publish (not overflow).
# TYPE errbridge_publish_errors_total counter
errbridge_publish_errors_total 13
# HELP errbridge_reconnects_total Successful connections after the first.
# TYPE errbridge_reconnects_total counter
errbridge_reconnects_total 12
# HELP errbridge_republished_total Unacknowledged events sent again because the broker kept no session.
# TYPE errbridge_republished_total counter
errbridge_republished_total 17
# HELP errbridge_sessions_lost_total Connections where the broker kept no session although one was expected.
# TYPE errbridge_sessions_lost_total counter
errbridge_sessions_lost_total 9
# HELP errbridge_stale_reconnects_total Reconnects because the probe did not come back in time.
# TYPE errbridge_stale_reconnects_total counter
errbridge_stale_reconnects_total 11
# HELP errbridge_summaries_published_total Suppression summaries published.
# TYPE errbridge_summaries_published_total counter
errbridge_summaries_published_total 7
# HELP errbridge_suppressed_total Events counted inside a suppression window.
# TYPE errbridge_suppressed_total counter
errbridge_suppressed_total{vendor="we\"ird\\x\ny"} 4
# HELP errbridge_suppression_keys Suppression keys inside their window.
# TYPE errbridge_suppression_keys gauge
errbridge_suppression_keys 16
# HELP errbridge_unknown_codes_total Events for codes the catalog does not know.
# TYPE errbridge_unknown_codes_total counter
# HELP errbridge_unrouted_total Messages on a subscribed filter that no route matched.
# TYPE errbridge_unrouted_total counter
errbridge_unrouted_total 6
)";
    CHECK(render_prometheus(sample()) == expected);
}

TEST_CASE("render_prometheus: a fresh daemon shows every family at zero", "[metrics]") {
    Counters counters;
    std::string text = render_prometheus(take_snapshot(counters));
    for (const char* line :
         {"errbridge_broker_connected 0\n", "errbridge_unrouted_total 0\n",
          "errbridge_suppression_keys 0\n", "errbridge_decode_seconds_bucket{le=\"+Inf\"} 0\n",
          "errbridge_decode_seconds_sum 0\n", "errbridge_decode_seconds_count 0\n",
          "# TYPE errbridge_messages_received_total counter\n"}) {
        INFO(line);
        CHECK(text.find(line) != std::string::npos);
    }
    // 21 families, each with exactly one HELP and one TYPE line.
    std::size_t types = 0;
    for (auto at = text.find("# TYPE "); at != std::string::npos; at = text.find("# TYPE ", at + 1))
        ++types;
    CHECK(types == 21);
}

TEST_CASE("take_snapshot reads what the session counted", "[metrics]") {
    Counters counters;
    counters.messages_received.add("tuya-1");
    counters.messages_received.add("tuya-1");
    counters.events_published.add("tuya", "auth");
    counters.suppression_keys = 3;
    counters.broker_connected = 1;
    counters.decode_seconds.observe(3us);
    std::string text = render_prometheus(take_snapshot(counters));
    CHECK(text.find("errbridge_messages_received_total{route=\"tuya-1\"} 2\n") !=
          std::string::npos);
    CHECK(text.find("errbridge_events_published_total{vendor=\"tuya\",category=\"auth\"} 1\n") !=
          std::string::npos);
    CHECK(text.find("errbridge_suppression_keys 3\n") != std::string::npos);
    CHECK(text.find("errbridge_decode_seconds_bucket{le=\"0.0000025\"} 0\n") != std::string::npos);
    CHECK(text.find("errbridge_decode_seconds_bucket{le=\"0.000005\"} 1\n") != std::string::npos);
    CHECK(text.find("errbridge_decode_seconds_sum 0.000003\n") != std::string::npos);
}

TEST_CASE("format_seconds: nanoseconds as an exact decimal", "[metrics]") {
    struct Row {
        std::uint64_t ns;
        const char* text;
    };
    const Row rows[] = {
        {0, "0"},
        {1, "0.000000001"},
        {1'000, "0.000001"},
        {1'500, "0.0000015"},
        {2'500, "0.0000025"},
        {100'000'000, "0.1"},
        {1'000'000'000, "1"},
        {1'000'000'001, "1.000000001"},
        {123'456'789'012, "123.456789012"},
    };
    for (const auto& row : rows) {
        INFO(row.ns);
        CHECK(format_seconds(row.ns) == row.text);
    }
}

TEST_CASE("LatencyHistogram: a bound is inclusive (le), above the last is +Inf", "[metrics]") {
    struct Row {
        std::chrono::nanoseconds elapsed;
        std::size_t bucket;
    };
    const Row rows[] = {
        {0ns, 0},    {-5ns, 0},  // a clock that stepped back counts as zero
        {1000ns, 0}, {1001ns, 1}, {2500ns, 1},       {2501ns, 2}, {1ms, 8},
        {10ms, 9},   {100ms, 10}, {100ms + 1ns, 11}, {1s, 11},
    };
    for (const auto& row : rows) {
        INFO(row.elapsed.count() << " ns");
        LatencyHistogram h;
        h.observe(row.elapsed);
        HistogramSnapshot s = h.snapshot();
        REQUIRE(s.counts.size() == decode_bounds_ns.size() + 1);
        for (std::size_t i = 0; i < s.counts.size(); ++i)
            CHECK(s.counts[i] == (i == row.bucket ? 1u : 0u));
        CHECK(s.sum_ns ==
              static_cast<std::uint64_t>(std::max<std::int64_t>(row.elapsed.count(), 0)));
    }
}

TEST_CASE("render_summary: the exit line, totals over labels", "[metrics]") {
    CHECK(render_summary(sample()) ==
          "messages_received=3 events_published=3 dead_letters=1 unknown_codes=0 no_code=1 "
          "empty_payloads=5 unrouted=6 suppressed=4 summaries_published=7 buffer_overflow=8 "
          "sessions_lost=9 persist_errors=10 stale_reconnects=11 reconnects=12 "
          "publish_errors=13 republished=17 handler_errors=14 buffered_events=15 "
          "suppression_keys=16");
    Counters counters;
    counters.buffered_events = -2;  // a lost session can drop publishes without callbacks
    CHECK(counters_summary(counters).find("buffered_events=0 ") != std::string::npos);
}

TEST_CASE("render_status: connection state and counts for systemctl status", "[metrics]") {
    MetricsSnapshot s = sample();
    CHECK(render_status(s, "tcp://10.0.0.2:1883") ==
          "connected to tcp://10.0.0.2:1883; received 3, published 3, dead letters 1, "
          "suppressed 4, buffered 15");
    s.broker_connected = 0;
    CHECK(render_status(s, "tcp://10.0.0.2:1883") ==
          "not connected to tcp://10.0.0.2:1883 (retrying); received 3, published 3, dead "
          "letters 1, suppressed 4, buffered 15");
}

TEST_CASE("LabeledCounter: series past the cap are counted under _other", "[metrics]") {
    LabeledCounter c;
    for (std::size_t i = 0; i < LabeledCounter::max_series; ++i)
        c.add("r" + std::to_string(i), "x");
    c.add("r0", "x");      // a known series still counts as itself
    c.add("late-1", "x");  // new ones past the cap fold into one series
    c.add("late-2", "y", 5);
    c.add("r1", "new-category");  // a new second label is a new series too
    auto series = c.snapshot();
    CHECK(series.size() == LabeledCounter::max_series + 1);
    std::uint64_t other = 0, r0 = 0;
    for (const auto& [labels, value] : series) {
        if (labels == std::pair<std::string, std::string>{"_other", "_other"}) other = value;
        if (labels.first == "r0") r0 = value;
    }
    CHECK(other == 7);
    CHECK(r0 == 2);
    CHECK(c.total() == LabeledCounter::max_series + 8);
}
