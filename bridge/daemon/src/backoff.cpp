#include "errbridge/daemon/backoff.h"

#include <algorithm>

namespace errbridge::daemon {

double next_backoff_s(double previous_s, double min_s, double max_s, double unit) {
    min_s = std::max(min_s, 0.0);
    max_s = std::max(max_s, min_s);
    double upper = std::max(previous_s, min_s) * 3;
    double delay = min_s + (upper - min_s) * std::clamp(unit, 0.0, 1.0);
    return std::clamp(delay, min_s, max_s);
}

Backoff::Backoff(double min_s, double max_s, std::uint64_t seed)
    : min_s_(min_s), max_s_(max_s), random_(seed) {}

std::chrono::milliseconds Backoff::next() {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    previous_s_ = next_backoff_s(previous_s_, min_s_, max_s_, unit(random_));
    return std::chrono::milliseconds(static_cast<std::int64_t>(previous_s_ * 1000));
}

}  // namespace errbridge::daemon
