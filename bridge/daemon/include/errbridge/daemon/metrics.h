#pragma once

// The counters as plain data, and the three ways they are shown: /metrics (Prometheus text
// exposition 0.0.4), the one-line summary `run` logs at exit, and the sd_notify STATUS.
// Taking the snapshot reads atomics; everything else here is a pure function of it.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "errbridge/daemon/histogram.h"

namespace errbridge::daemon {

struct Counters;

// (label, label2) -> value, sorted by labels; label2 is empty for one-label counters.
using LabeledValues = std::vector<std::pair<std::pair<std::string, std::string>, std::uint64_t>>;

struct MetricsSnapshot {
    LabeledValues messages_received;  // {route}
    LabeledValues events_published;   // {vendor, category}
    LabeledValues dead_letters;       // {reason}
    LabeledValues unknown_codes;      // {vendor}
    LabeledValues no_code;            // {route}
    LabeledValues suppressed;         // {vendor}
    std::uint64_t empty_payloads = 0;
    std::uint64_t unrouted = 0;
    std::uint64_t summaries_published = 0;
    std::uint64_t buffer_overflow = 0;
    std::uint64_t sessions_lost = 0;
    std::uint64_t persist_errors = 0;
    std::uint64_t stale_reconnects = 0;
    std::uint64_t reconnects = 0;
    std::uint64_t publish_errors = 0;
    std::uint64_t republished = 0;
    std::uint64_t handler_errors = 0;
    std::int64_t broker_connected = 0;
    std::int64_t buffered_events = 0;
    std::int64_t suppression_keys = 0;
    HistogramSnapshot decode_seconds;
};

MetricsSnapshot take_snapshot(const Counters& counters);

inline constexpr std::string_view prometheus_content_type =
    "text/plain; version=0.0.4; charset=utf-8";

// Text exposition format 0.0.4: every family with # HELP and # TYPE, families sorted by
// name, series by label values; label values escaped (\\ \" \n). Families with labels and
// no series yet show only their HELP and TYPE lines.
std::string render_prometheus(const MetricsSnapshot& snapshot);

// `messages_received=12 events_published=10 dead_letters=1 ...`: totals over labels.
std::string render_summary(const MetricsSnapshot& snapshot);

// sd_notify STATUS: `connected to tcp://..., received 12, published 10, ...`.
std::string render_status(const MetricsSnapshot& snapshot, std::string_view broker_uri);

// `1500` ns -> "0.0000015": seconds as an exact decimal, no float rounding.
std::string format_seconds(std::uint64_t ns);

}  // namespace errbridge::daemon
