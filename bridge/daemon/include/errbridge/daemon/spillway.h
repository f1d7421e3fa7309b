#pragma once

// Events waiting outside Paho, in order, on disk when persistence is "file".
//
// Why: Paho C's async client spends time proportional to its backlog on every publish
// (each new message id is checked against every queued command and every message in
// flight). A restart with 20,000 messages queued in the broker put 20,000 events into
// Paho and slowed the daemon to about 250 events/s. So the session hands Paho at most a
// bounded number of events and keeps the rest here, each written (all or nothing) before
// the broker gets our acknowledgement of the input that produced it, and deleted only
// after Paho has taken it over (and persisted it). A kill in between duplicates an event,
// never loses one.
//
// Not thread-safe: the session serialises access.

#include <atomic>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace errbridge::daemon {

struct SpilledEvent {
    std::string topic;
    std::string payload;
    int qos = 1;
    bool retain = false;
    // What the MQTT 5 user properties are made of.
    std::string vendor;
    std::string code;
    std::string severity;
    bool dead_letter = false;
};

// An event as views into the decoder's output: what the session hands straight to Paho,
// copied into a SpilledEvent only when it has to wait.
struct EventView {
    std::string_view topic;
    std::string_view payload;
    int qos = 1;
    bool retain = false;
    std::string_view vendor;
    std::string_view code;
    std::string_view severity;
    bool dead_letter = false;
};

inline EventView view_of(const SpilledEvent& e) {
    return {e.topic, e.payload, e.qos, e.retain, e.vendor, e.code, e.severity, e.dead_letter};
}

inline SpilledEvent copy_of(const EventView& e) {
    return {std::string(e.topic),
            std::string(e.payload),
            e.qos,
            e.retain,
            std::string(e.vendor),
            std::string(e.code),
            std::string(e.severity),
            e.dead_letter};
}

std::string encode(const SpilledEvent& event);
// Nothing when `bytes` is not a whole encoded event.
std::optional<SpilledEvent> decode_spilled(std::string_view bytes);

class Spillway {
  public:
    // `dir`: where events are kept (created); none keeps them in memory only.
    // `write_errors` counts failed writes and deletes.
    Spillway(std::optional<std::filesystem::path> dir, std::atomic<std::uint64_t>& write_errors);

    // Reads what a previous process left, oldest first; returns how many. Unreadable
    // files are counted as write errors and left in place for a human to look at.
    std::size_t load();

    bool empty() const { return events_.empty(); }
    std::size_t size() const { return events_.size(); }
    std::int64_t bytes() const { return bytes_; }

    // Stores `event` last. Throws std::runtime_error when it cannot be written: the caller
    // must not acknowledge the input then.
    void push(SpilledEvent event);
    const SpilledEvent& front() const { return events_.front().event; }
    // Forgets the first event (deleting its file).
    void pop();

  private:
    struct Entry {
        std::uint64_t seq;
        SpilledEvent event;
    };
    std::filesystem::path file(std::uint64_t seq) const;

    std::optional<std::filesystem::path> dir_;
    std::atomic<std::uint64_t>& write_errors_;
    std::deque<Entry> events_;
    std::int64_t bytes_ = 0;
    std::uint64_t next_seq_ = 1;
};

}  // namespace errbridge::daemon
