#pragma once

// A minimal JSON writer for events: appends to a std::string, escapes in runs (memcpy of
// the clean stretches between characters that need escaping) and takes keys as literals.
// RapidJSON's Writer puts one character at a time, which made event writing most of the
// decode cost.

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace errbridge::core::detail {

class JsonOut {
  public:
    explicit JsonOut(std::string& out) : out_(out) {}

    void begin_object() {
        separate();
        out_ += '{';
        first_ = true;
    }
    void end_object() {
        out_ += '}';
        first_ = false;
    }
    // `name` must not need escaping (our own key names).
    void key(std::string_view name) {
        separate();
        out_ += '"';
        out_ += name;
        out_ += "\":";
        first_ = true;
    }
    // Keys from configuration (device id names): escaped like values.
    void dynamic_key(std::string_view name) {
        separate();
        append_escaped(out_, name);
        out_ += ':';
        first_ = true;
    }
    void string(std::string_view value) {
        separate();
        append_escaped(out_, value);
    }
    void optional_string(const std::optional<std::string>& value) {
        if (value) {
            string(*value);
        } else {
            null();
        }
    }
    void null() { raw("null"); }
    void boolean(bool value) { raw(value ? "true" : "false"); }
    void integer(std::int64_t value) { raw(std::to_string(value)); }
    void raw(std::string_view json) {
        separate();
        out_ += json;
    }

    // Whether any of 8 bytes is a control character, '"' or '\': most text has none, so
    // clean stretches are skipped a word at a time.
    static bool needs_escape(std::uint64_t word) {
        constexpr std::uint64_t ones = 0x0101010101010101ULL;
        constexpr std::uint64_t high = 0x8080808080808080ULL;
        auto has_zero = [](std::uint64_t x) { return (x - ones) & ~x & high; };
        std::uint64_t below_space = (word - ones * 0x20) & ~word & high;
        return (below_space | has_zero(word ^ (ones * '"')) | has_zero(word ^ (ones * '\\'))) != 0;
    }

    static void append_escaped(std::string& out, std::string_view value) {
        static constexpr char hex[] = "0123456789abcdef";
        out += '"';
        std::size_t run = 0;
        for (std::size_t i = 0; i < value.size(); ++i) {
            while (i + 8 <= value.size()) {
                std::uint64_t word;
                std::memcpy(&word, value.data() + i, 8);
                if (needs_escape(word)) break;
                i += 8;
            }
            if (i == value.size()) break;
            auto c = static_cast<unsigned char>(value[i]);
            if (c >= 0x20 && c != '"' && c != '\\') continue;
            out.append(value.data() + run, i - run);
            run = i + 1;
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
                case '\b':
                    out += "\\b";
                    break;
                case '\f':
                    out += "\\f";
                    break;
                default:
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 15];
            }
        }
        out.append(value.data() + run, value.size() - run);
        out += '"';
    }

  private:
    void separate() {
        if (!first_) out_ += ',';
        first_ = false;
    }

    std::string& out_;
    bool first_ = true;
};

}  // namespace errbridge::core::detail
