#pragma once

// Storm suppression at the edge (SPEC §8): the pure SuppressionTable behind one mutex, and
// the Asio timer that ends windows. Paho's callback thread offers events (and publishes
// what eviction yields right there, before the callback returns); the loop's timer
// publishes the summaries of ended windows; stop() publishes every pending summary.
//
// At-least-once is kept for what is published: a suppressed event is acknowledged to the
// broker like any other, by design, and lives on as a count in its key's summary. A kill -9
// loses pending counts (documented).

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "errbridge/config/config.h"
#include "errbridge/core/suppression.h"
#include "errbridge/daemon/counters.h"

namespace errbridge::daemon {

class Suppressor {
  public:
    // Publishes summaries; called on whichever thread produced them, never under the lock.
    using Publish = std::function<void(std::vector<core::Summary>&)>;

    Suppressor(boost::asio::io_context& io, const config::SuppressConfig& settings,
               Counters& counters, Publish publish);

    // Paho's thread. True: the event repeats its key inside the window; it is counted and
    // must not be sent. Summaries of windows that ended or were evicted meanwhile are
    // appended to `due` for the caller to publish.
    // `event` is publication `index` of what `origin` decoded to, `payload` its payload.
    bool suppress(const core::Origin& origin, std::size_t index, const core::Publication& event,
                  std::string_view payload, std::vector<core::Summary>& due);

    // The loop's thread.
    void start();                                            // arms the timer
    void configure(const config::SuppressConfig& settings);  // reload: new window or max_keys
    // SIGTERM: cancels the timer, publishes every pending summary and turns suppression off,
    // so events still arriving during the drain are sent as they are.
    void stop();

  private:
    static std::int64_t monotonic_ms();
    void arm();
    void tick();
    void publish_due(std::vector<core::Summary>& due);

    boost::asio::steady_timer timer_;
    Counters& counters_;
    Publish publish_;
    std::mutex mutex_;
    std::optional<core::SuppressionTable> table_;  // nullopt: window_s = 0, suppression off
    std::atomic<bool> on_{false};                  // lets the off path skip the lock
    bool stopped_ = false;
};

}  // namespace errbridge::daemon
