#pragma once

// systemd's notify protocol (SPEC §11) on libsystemd: READY=1 once started, STATUS with the
// connection state and counts, WATCHDOG=1 from a timer on the main loop (a stuck loop stops
// the pings and systemd restarts us), STOPPING=1 on SIGTERM. Without NOTIFY_SOCKET (not
// under systemd, or Type=simple) every call is a no-op and no timer runs.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "errbridge/daemon/log.h"

namespace errbridge::daemon {

class Notifier {
  public:
    // How often STATUS is refreshed when nothing else triggers it.
    static constexpr std::chrono::seconds status_period{5};

    // `status` renders the current STATUS text; it runs on the loop's thread.
    Notifier(boost::asio::io_context& io, Logger& log, std::function<std::string()> status);
    Notifier(const Notifier&) = delete;
    Notifier& operator=(const Notifier&) = delete;

    bool enabled() const { return enabled_; }
    // READY=1 and the first STATUS; starts the STATUS / WATCHDOG timer.
    void ready();
    // Sends STATUS now if it changed (connect, disconnect).
    void status();
    // STOPPING=1; stops the timer.
    void stopping();

  private:
    void tick();
    void send(const std::string& message);

    boost::asio::steady_timer timer_;
    Logger& log_;
    std::function<std::string()> status_;
    bool enabled_ = false;
    bool failed_ = false;                    // a send failed: said once, not per tick
    std::chrono::microseconds watchdog_{0};  // WATCHDOG_USEC, 0 when off
    std::chrono::steady_clock::duration period_{status_period};
    std::string last_status_;
};

}  // namespace errbridge::daemon
