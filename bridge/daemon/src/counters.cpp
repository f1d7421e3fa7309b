#include "errbridge/daemon/counters.h"

#include <algorithm>

namespace errbridge::daemon {

void LabeledCounter::add(std::string_view label, std::string_view label2, std::uint64_t n) {
    std::lock_guard lock(mutex_);
    auto outer = values_.find(label);
    if (outer == values_.end())
        outer = values_.emplace(std::string(label), decltype(outer->second){}).first;
    auto inner = outer->second.find(label2);
    if (inner == outer->second.end()) inner = outer->second.emplace(std::string(label2), 0).first;
    inner->second += n;
}

std::vector<std::pair<std::pair<std::string, std::string>, std::uint64_t>>
LabeledCounter::snapshot() const {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<std::pair<std::string, std::string>, std::uint64_t>> out;
    for (const auto& [a, inner] : values_) {
        for (const auto& [b, value] : inner)
            out.push_back({{a, b}, value});
    }
    return out;
}

std::uint64_t LabeledCounter::total() const {
    std::lock_guard lock(mutex_);
    std::uint64_t sum = 0;
    for (const auto& [a, inner] : values_) {
        for (const auto& [b, value] : inner)
            sum += value;
    }
    return sum;
}

std::string counters_summary(const Counters& c) {
    std::string out;
    auto add = [&](std::string_view name, std::uint64_t value) {
        if (!out.empty()) out += ' ';
        out += name;
        out += '=';
        out += std::to_string(value);
    };
    add("messages_received", c.messages_received.total());
    add("events_published", c.events_published.total());
    add("dead_letters", c.dead_letters.total());
    add("unknown_codes", c.unknown_codes.total());
    add("no_code", c.no_code.total());
    add("empty_payloads", c.empty_payloads);
    add("unrouted", c.unrouted);
    add("suppressed", c.suppressed.total());
    add("summaries_published", c.summaries_published);
    add("buffer_overflow", c.buffer_overflow);
    add("sessions_lost", c.sessions_lost);
    add("persist_errors", c.persist_errors);
    add("stale_reconnects", c.stale_reconnects);
    add("reconnects", c.reconnects);
    add("publish_errors", c.publish_errors);
    add("handler_errors", c.handler_errors);
    add("buffered_events",
        static_cast<std::uint64_t>(std::max<std::int64_t>(c.buffered_events, 0)));
    return out;
}

}  // namespace errbridge::daemon
