#pragma once

// Reconnect delays with decorrelated jitter (AWS Architecture Blog, "Exponential Backoff
// and Jitter"): each delay is drawn from [min, 3 × previous], capped at max. Gateways that
// lost their uplink together do not reconnect in lockstep, and the delay still grows.

#include <chrono>
#include <random>

namespace errbridge::daemon {

// The pure rule: `unit` is a uniform random number in [0, 1).
double next_backoff_s(double previous_s, double min_s, double max_s, double unit);

class Backoff {
  public:
    Backoff(double min_s, double max_s, std::uint64_t seed);

    std::chrono::milliseconds next();  // the delay before the next attempt
    void reset() { previous_s_ = 0; }  // after a successful connect

  private:
    double min_s_;
    double max_s_;
    double previous_s_ = 0;
    std::mt19937_64 random_;
};

}  // namespace errbridge::daemon
