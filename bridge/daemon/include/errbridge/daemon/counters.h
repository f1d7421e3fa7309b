#pragma once

// The daemon's public counters and gauges (SPEC §11). Paho's callback thread updates them,
// the main loop reads them; a snapshot is plain data, so rendering it (the exit log line,
// later /metrics) is a pure function.

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "errbridge/daemon/histogram.h"

namespace errbridge::daemon {

// A counter with one or two labels. Label values are bounded by construction (route
// names, vendor ids, categories, reasons; never a code or a topic); as a safety net, series
// past `max_series` are counted under the label value "_other" so a bug cannot grow the
// map (or /metrics) without bound.
class LabeledCounter {
  public:
    static constexpr std::size_t max_series = 10000;
    static constexpr std::string_view overflow_label = "_other";

    void add(std::string_view label, std::string_view label2 = {}, std::uint64_t n = 1);
    // ("label", "label2") -> value, sorted.
    std::vector<std::pair<std::pair<std::string, std::string>, std::uint64_t>> snapshot() const;
    std::uint64_t total() const;

  private:
    mutable std::mutex mutex_;
    std::map<std::string, std::map<std::string, std::uint64_t, std::less<>>, std::less<>> values_;
    std::size_t series_ = 0;
};

struct Counters {
    LabeledCounter messages_received;  // {route}
    LabeledCounter events_published;   // {vendor, category}
    LabeledCounter dead_letters;       // {reason}
    LabeledCounter unknown_codes;      // {vendor}
    LabeledCounter no_code;            // {route}
    LabeledCounter suppressed;         // {vendor}
    std::atomic<std::uint64_t> empty_payloads{0};
    std::atomic<std::uint64_t> unrouted{0};
    std::atomic<std::uint64_t> summaries_published{0};
    std::atomic<std::uint64_t> buffer_overflow{0};
    std::atomic<std::uint64_t> sessions_lost{0};
    std::atomic<std::uint64_t> persist_errors{0};
    std::atomic<std::uint64_t> stale_reconnects{0};
    std::atomic<std::uint64_t> reconnects{0};
    std::atomic<std::uint64_t> publish_errors{0};  // Paho refused a publish (not overflow)
    std::atomic<std::uint64_t> republished{0};     // sent again after a lost session dropped them
    std::atomic<std::uint64_t> handler_errors{0};  // an exception escaped decoding
    std::atomic<int> broker_connected{0};
    std::atomic<std::int64_t> buffered_events{0};
    std::atomic<std::int64_t> buffered_bytes{0};
    std::atomic<std::int64_t> suppression_keys{0};  // keys inside their window (SPEC §8)
    LatencyHistogram decode_seconds;                // Session::on_message, around decode()
};

// `messages_received=12 events_published=10 dead_letters=1 ...`: every counter in one
// line, for the log at exit (SPEC §11); rendered from the same snapshot as /metrics.
std::string counters_summary(const Counters& counters);

}  // namespace errbridge::daemon
