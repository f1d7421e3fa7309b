#include "errbridge/daemon/histogram.h"

#include <algorithm>

namespace errbridge::daemon {

void LatencyHistogram::observe(std::chrono::nanoseconds elapsed) noexcept {
    const auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(elapsed.count(), 0));
    std::size_t bucket = 0;
    while (bucket < decode_bounds_ns.size() && ns > decode_bounds_ns[bucket])
        ++bucket;
    // Relaxed: a scrape needs each value eventually, not an order between them.
    counts_[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(ns, std::memory_order_relaxed);
}

HistogramSnapshot LatencyHistogram::snapshot() const {
    HistogramSnapshot s;
    s.bounds_ns.assign(decode_bounds_ns.begin(), decode_bounds_ns.end());
    for (const auto& count : counts_)
        s.counts.push_back(count.load(std::memory_order_relaxed));
    s.sum_ns = sum_ns_.load(std::memory_order_relaxed);
    return s;
}

}  // namespace errbridge::daemon
