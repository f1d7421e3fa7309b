#include "suppressor.h"

#include <chrono>

namespace errbridge::daemon {

Suppressor::Suppressor(boost::asio::io_context& io, const config::SuppressConfig& settings,
                       Counters& counters, Publish publish)
    : timer_(io), counters_(counters), publish_(std::move(publish)) {
    if (settings.window_s > 0) {
        table_.emplace(settings.window_s * 1000, static_cast<std::size_t>(settings.max_keys));
        on_ = true;
    }
}

std::int64_t Suppressor::monotonic_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

bool Suppressor::suppress(const core::Origin& origin, std::size_t index,
                          const core::Publication& event, std::string_view payload,
                          std::vector<core::Summary>& due) {
    if (!on_.load(std::memory_order_relaxed)) return false;
    if (event.kind == core::Publication::Kind::dead_letter) return false;
    bool suppressed = false;
    {
        std::lock_guard lock(mutex_);
        if (!table_) return false;
        auto first = [&] { return core::FirstEvent(origin, index, event, payload); };
        suppressed = table_->offer(event.suppression_key, monotonic_ms(), origin.now_ms, first,
                                   due) == core::SuppressionTable::Verdict::suppressed;
        counters_.suppression_keys = static_cast<std::int64_t>(table_->size());
    }
    if (suppressed) counters_.suppressed.add(event.vendor);
    return suppressed;
}

void Suppressor::start() {
    arm();
}

void Suppressor::configure(const config::SuppressConfig& settings) {
    std::vector<core::Summary> due;
    {
        std::lock_guard lock(mutex_);
        if (stopped_) return;
        if (settings.window_s <= 0) {
            if (table_) table_->drain(due);
            table_.reset();
        } else if (table_) {
            table_->configure(settings.window_s * 1000, static_cast<std::size_t>(settings.max_keys),
                              due);
            table_->expire(monotonic_ms(), due);
        } else {
            table_.emplace(settings.window_s * 1000, static_cast<std::size_t>(settings.max_keys));
        }
        on_ = table_.has_value();
        counters_.suppression_keys = table_ ? static_cast<std::int64_t>(table_->size()) : 0;
    }
    publish_due(due);
    arm();
}

void Suppressor::stop() {
    std::vector<core::Summary> due;
    {
        std::lock_guard lock(mutex_);
        stopped_ = true;
        timer_.cancel();
        if (table_) table_->drain(due);
        table_.reset();
        on_ = false;
        counters_.suppression_keys = 0;
    }
    publish_due(due);
}

// Sleeps until the oldest window ends; with no key, for one window length: a key opened
// later ends later than that, and the next wake-up finds it.
void Suppressor::arm() {
    std::int64_t wake_ms = 0;
    {
        std::lock_guard lock(mutex_);
        if (stopped_ || !table_) {
            timer_.cancel();
            return;
        }
        wake_ms = table_->next_expiry().value_or(monotonic_ms() + table_->window_ms());
    }
    timer_.expires_at(std::chrono::steady_clock::time_point(std::chrono::milliseconds(wake_ms)));
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) tick();
    });
}

void Suppressor::tick() {
    std::vector<core::Summary> due;
    {
        std::lock_guard lock(mutex_);
        if (stopped_ || !table_) return;
        table_->expire(monotonic_ms(), due);
        counters_.suppression_keys = static_cast<std::int64_t>(table_->size());
    }
    publish_due(due);
    arm();
}

void Suppressor::publish_due(std::vector<core::Summary>& due) {
    if (!due.empty()) publish_(due);
}

}  // namespace errbridge::daemon
