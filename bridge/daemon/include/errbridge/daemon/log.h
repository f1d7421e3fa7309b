#pragma once

// Logs: one line each to stderr — level, component, message, key=value context (SPEC §11).
// Values come from the network (topics, broker errors), so they are quoted and escaped:
// a topic with a newline must not forge a second log line.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace errbridge::daemon {

enum class LogLevel { debug, info, warning, error };

std::string_view to_string(LogLevel level);
std::optional<LogLevel> parse_log_level(std::string_view text);

struct LogField {
    std::string_view key;
    std::string value;
};

// `warning session: connection lost broker=tcp://127.0.0.1:1883 cause="Connection reset"`
std::string format_log_line(LogLevel level, std::string_view component, std::string_view message,
                            std::initializer_list<LogField> fields);

class Logger {
  public:
    explicit Logger(std::FILE* out = stderr, LogLevel threshold = LogLevel::info)
        : out_(out), threshold_(threshold) {}

    bool enabled(LogLevel level) const { return level >= threshold_; }
    void log(LogLevel level, std::string_view component, std::string_view message,
             std::initializer_list<LogField> fields = {});

    void debug(std::string_view c, std::string_view m, std::initializer_list<LogField> f = {}) {
        log(LogLevel::debug, c, m, f);
    }
    void info(std::string_view c, std::string_view m, std::initializer_list<LogField> f = {}) {
        log(LogLevel::info, c, m, f);
    }
    void warning(std::string_view c, std::string_view m, std::initializer_list<LogField> f = {}) {
        log(LogLevel::warning, c, m, f);
    }
    void error(std::string_view c, std::string_view m, std::initializer_list<LogField> f = {}) {
        log(LogLevel::error, c, m, f);
    }

  private:
    std::mutex mutex_;  // one writer at a time: Paho's callback thread and the main loop
    std::FILE* out_;
    LogLevel threshold_;
};

// Per-message problems (dead letters, overflow) can arrive thousands of times a second:
// at most `burst` lines per key and window, then one line saying how many were dropped.
// Time is passed in, so the policy is a pure, testable function.
class LogThrottle {
  public:
    using Clock = std::chrono::steady_clock;
    LogThrottle(std::size_t burst, Clock::duration window) : burst_(burst), window_(window) {}

    struct Decision {
        bool log = false;
        std::uint64_t dropped_before = 0;  // lines dropped in the previous window, to report
    };
    Decision admit(const std::string& key, Clock::time_point now);

  private:
    struct Slot {
        Clock::time_point window_start;
        std::size_t logged = 0;
        std::uint64_t dropped = 0;
    };
    std::mutex mutex_;
    std::size_t burst_;
    Clock::duration window_;
    std::map<std::string, Slot, std::less<>> slots_;  // keys are few: reasons, not topics
};

}  // namespace errbridge::daemon
