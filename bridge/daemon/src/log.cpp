#include "errbridge/daemon/log.h"

namespace errbridge::daemon {

std::string_view to_string(LogLevel level) {
    switch (level) {
        case LogLevel::debug:
            return "debug";
        case LogLevel::info:
            return "info";
        case LogLevel::warning:
            return "warning";
        case LogLevel::error:
            return "error";
    }
    return "info";
}

std::optional<LogLevel> parse_log_level(std::string_view text) {
    for (auto level : {LogLevel::debug, LogLevel::info, LogLevel::warning, LogLevel::error}) {
        if (text == to_string(level)) return level;
    }
    if (text == "warn") return LogLevel::warning;
    return std::nullopt;
}

namespace {

bool needs_quotes(std::string_view value) {
    if (value.empty()) return true;
    for (unsigned char c : value) {
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) return true;
    }
    return false;
}

// Control characters become escapes, so one event is always exactly one line.
void append_escaped(std::string& out, std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    for (unsigned char c : text) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    out += "\\x";
                    out += hex[c >> 4];
                    out += hex[c & 0xf];
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
}

}  // namespace

std::string format_log_line(LogLevel level, std::string_view component, std::string_view message,
                            std::initializer_list<LogField> fields) {
    std::string line;
    line.reserve(64 + message.size());
    line += to_string(level);
    line += ' ';
    line += component;
    line += ": ";
    append_escaped(line, message);
    for (const auto& field : fields) {
        line += ' ';
        line += field.key;
        line += '=';
        if (needs_quotes(field.value)) {
            line += '"';
            append_escaped(line, field.value);
            line += '"';
        } else {
            line += field.value;
        }
    }
    line += '\n';
    return line;
}

void Logger::log(LogLevel level, std::string_view component, std::string_view message,
                 std::initializer_list<LogField> fields) {
    if (!enabled(level)) return;
    std::string line = format_log_line(level, component, message, fields);
    std::lock_guard lock(mutex_);
    std::fwrite(line.data(), 1, line.size(), out_);
    std::fflush(out_);
}

LogThrottle::Decision LogThrottle::admit(const std::string& key, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto [it, inserted] = slots_.try_emplace(key);
    Slot& slot = it->second;
    Decision decision;
    if (inserted || now - slot.window_start >= window_) {
        decision.dropped_before = inserted ? 0 : slot.dropped;
        slot = Slot{now, 0, 0};
    }
    if (slot.logged < burst_) {
        ++slot.logged;
        decision.log = true;
    } else {
        ++slot.dropped;
    }
    return decision;
}

}  // namespace errbridge::daemon
