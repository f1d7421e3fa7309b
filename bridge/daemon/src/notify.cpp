#include "notify.h"

#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace errbridge::daemon {

namespace {

constexpr const char* component = "systemd";

}  // namespace

Notifier::Notifier(boost::asio::io_context& io, Logger& log, std::function<std::string()> status)
    : timer_(io), log_(log), status_(std::move(status)) {
    const char* socket = std::getenv("NOTIFY_SOCKET");
    enabled_ = socket && *socket;
    if (!enabled_) return;
    std::uint64_t usec = 0;
    // > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID (if set) is us.
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        watchdog_ = std::chrono::microseconds(usec);
        // Half the interval, as sd_watchdog_enabled(3) recommends: one late tick is not fatal.
        period_ = std::min<std::chrono::steady_clock::duration>(status_period, watchdog_ / 2);
    }
    log_.info(component, "notify socket found",
              {{"socket", socket},
               {"watchdog_ms",
                std::to_string(
                    std::chrono::duration_cast<std::chrono::milliseconds>(watchdog_).count())}});
}

void Notifier::ready() {
    if (!enabled_) return;
    last_status_ = status_();
    send("READY=1\nSTATUS=" + last_status_ + (watchdog_.count() > 0 ? "\nWATCHDOG=1" : ""));
    timer_.expires_after(period_);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) tick();
    });
}

void Notifier::status() {
    if (!enabled_) return;
    std::string now = status_();
    if (now == last_status_) return;
    last_status_ = std::move(now);
    send("STATUS=" + last_status_);
}

void Notifier::stopping() {
    if (!enabled_) return;
    timer_.cancel();
    send("STOPPING=1\nSTATUS=stopping: draining in-flight events");
}

void Notifier::tick() {
    if (watchdog_.count() > 0) send("WATCHDOG=1");
    status();
    timer_.expires_after(period_);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) tick();
    });
}

void Notifier::send(const std::string& message) {
    int r = sd_notify(0, message.c_str());
    if (r < 0 && !failed_) {
        failed_ = true;
        log_.warning(component, "sd_notify failed", {{"error", std::strerror(-r)}});
    }
}

}  // namespace errbridge::daemon
