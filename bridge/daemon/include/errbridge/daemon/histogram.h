#pragma once

// A fixed-bucket latency histogram for errbridge_decode_seconds (SPEC §11). Paho's thread
// observes inside the message callback, so an observation is two relaxed atomic adds and
// no lock; /metrics snapshots from the loop. Bounds are integer nanoseconds: the hot path
// compares integers and the rendered `le` values are exact decimals.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

namespace errbridge::daemon {

// Decoding a typical reply takes a few microseconds; hostile payloads (SPEC §10) are
// bounded in size and depth but may take milliseconds.
inline constexpr std::array<std::uint64_t, 11> decode_bounds_ns{
    1'000,   2'500,   5'000,     10'000,     25'000,     50'000,
    100'000, 250'000, 1'000'000, 10'000'000, 100'000'000};

struct HistogramSnapshot {
    std::vector<std::uint64_t> bounds_ns;  // upper bounds, ascending; +Inf is implied
    std::vector<std::uint64_t> counts;     // per bucket, not cumulative: bounds_ns.size() + 1
    std::uint64_t sum_ns = 0;
};

class LatencyHistogram {
  public:
    void observe(std::chrono::nanoseconds elapsed) noexcept;
    // Each bucket is read once: the count is their sum, so count and +Inf always agree.
    HistogramSnapshot snapshot() const;

  private:
    std::array<std::atomic<std::uint64_t>, decode_bounds_ns.size() + 1> counts_{};
    std::atomic<std::uint64_t> sum_ns_{0};
};

}  // namespace errbridge::daemon
