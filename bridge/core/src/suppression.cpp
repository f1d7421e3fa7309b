#include "errbridge/core/suppression.h"

#include <algorithm>

namespace errbridge::core {

SuppressionTable::SuppressionTable(std::int64_t window_ms, std::size_t max_keys)
    : window_ms_(window_ms), max_keys_(std::max<std::size_t>(max_keys, 1)) {}

FirstEvent* SuppressionTable::open_or_count(std::uint64_t key, std::int64_t now_ms,
                                            std::int64_t wall_ms, std::vector<Summary>& out) {
    // Windows end in FIFO order, so after this every key left is inside its window: a
    // repeat of a key whose window just ended opens a new one instead of being counted.
    expire(now_ms, out);
    if (auto it = index_.find(key); it != index_.end()) {
        Entry& e = it->second;
        if (e.repeats == 0) e.first_ms = wall_ms;
        e.last_ms = wall_ms;
        ++e.repeats;
        return nullptr;
    }
    while (index_.size() >= max_keys_)
        pop_front(out);
    auto it = index_.emplace(key, Entry{now_ms, wall_ms, 0, 0, 0, {}}).first;
    order_.push_back(key);
    return &it->second.first;
}

void SuppressionTable::expire(std::int64_t now_ms, std::vector<Summary>& out) {
    while (!order_.empty() && index_.at(order_.front()).start_ms + window_ms_ <= now_ms)
        pop_front(out);
}

void SuppressionTable::drain(std::vector<Summary>& out) {
    while (!order_.empty())
        pop_front(out);
}

void SuppressionTable::configure(std::int64_t window_ms, std::size_t max_keys,
                                 std::vector<Summary>& out) {
    window_ms_ = window_ms;
    max_keys_ = std::max<std::size_t>(max_keys, 1);
    while (index_.size() > max_keys_)
        pop_front(out);
}

std::optional<std::int64_t> SuppressionTable::next_expiry() const {
    if (order_.empty()) return std::nullopt;
    return index_.at(order_.front()).start_ms + window_ms_;
}

void SuppressionTable::pop_front(std::vector<Summary>& out) {
    auto it = index_.find(order_.front());
    order_.pop_front();
    Entry& e = it->second;
    if (e.repeats > 0) {
        out.push_back(Summary{it->first, e.start_wall_ms, e.repeats, e.first_ms, e.last_ms,
                              std::move(e.first)});
    }
    index_.erase(it);
}

}  // namespace errbridge::core
