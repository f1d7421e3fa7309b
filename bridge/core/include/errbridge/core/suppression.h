#pragma once

// Storm suppression bookkeeping (SPEC §8), pure: no clock, no timer, no lock, no I/O. The
// caller passes the time in and publishes what it is told to, so every rule is tested with
// explicit times.
//
// A key's window opens at its first event (published at once); repeats inside the window
// are counted; when the window ends with a count > 0 the key yields one summary and is
// dropped. All keys share one window length, so windows end in the order they opened: the
// table is a FIFO plus a hash index, and expiry and oldest-first eviction both pop the front.

#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "errbridge/core/first_event.h"

namespace errbridge::core {

// A window that ended (or was evicted, or drained at exit) with repeats: publish one summary.
struct Summary {
    std::uint64_t key = 0;
    std::int64_t window_start_ms = 0;  // wall clock of the first event (its `ts`)
    std::uint64_t repeats = 0;         // events suppressed after the first, > 0
    std::int64_t first_ms = 0;         // wall clock of the first and last suppressed event
    std::int64_t last_ms = 0;
    FirstEvent first;
};

class SuppressionTable {
  public:
    // `window_ms` > 0; `max_keys` >= 1.
    SuppressionTable(std::int64_t window_ms, std::size_t max_keys);

    enum class Verdict { publish, suppressed };

    // One event of `key` at monotonic time `now_ms` (wall clock `wall_ms`, for the
    // summary's timestamps). `publish`: the event opens a window, send it now; the table
    // keeps `make_first()` for a summary (called only then: repeats cost no copy).
    // `suppressed`: counted, do not send. Windows that ended by `now_ms`, and the oldest key
    // when the table is full, are appended to `out` when they have repeats (dropped
    // silently otherwise).
    template <class MakeFirst>
    Verdict offer(std::uint64_t key, std::int64_t now_ms, std::int64_t wall_ms,
                  MakeFirst&& make_first, std::vector<Summary>& out) {
        FirstEvent* opened = open_or_count(key, now_ms, wall_ms, out);
        if (!opened) return Verdict::suppressed;
        *opened = std::forward<MakeFirst>(make_first)();
        return Verdict::publish;
    }

    // Drops every key whose window ended by `now_ms`; the ones with repeats go to `out`.
    void expire(std::int64_t now_ms, std::vector<Summary>& out);
    // Every key, ended or not (SIGTERM, or suppression turned off by a reload).
    void drain(std::vector<Summary>& out);

    // A reload's new settings apply to open windows too; a smaller `max_keys` evicts the
    // oldest keys at once. Call `expire` afterwards for windows the new length has ended.
    void configure(std::int64_t window_ms, std::size_t max_keys, std::vector<Summary>& out);

    // When the oldest open window ends (monotonic ms); nullopt when no key is tracked.
    std::optional<std::int64_t> next_expiry() const;
    std::size_t size() const { return index_.size(); }
    std::int64_t window_ms() const { return window_ms_; }

  private:
    struct Entry {
        std::int64_t start_ms;       // monotonic: decides when the window ends
        std::int64_t start_wall_ms;  // wall clock: the summary id and the first event's ts
        std::int64_t first_ms = 0;   // wall clock of the first suppressed event
        std::int64_t last_ms = 0;    // and of the last one
        std::uint64_t repeats = 0;
        FirstEvent first;
    };
    // Counts a repeat (null), or opens a window and returns where its first event goes.
    FirstEvent* open_or_count(std::uint64_t key, std::int64_t now_ms, std::int64_t wall_ms,
                              std::vector<Summary>& out);
    // Removes the oldest key; appends its summary when it has repeats.
    void pop_front(std::vector<Summary>& out);

    std::int64_t window_ms_;
    std::size_t max_keys_;
    // std::hash of a 64-bit integer is the identity: the keys already are FNV-1a hashes.
    std::unordered_map<std::uint64_t, Entry> index_;
    std::deque<std::uint64_t> order_;  // keys by window start, oldest first
};

}  // namespace errbridge::core
