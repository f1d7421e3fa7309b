#include "errbridge/core/summary.h"

namespace errbridge::core {

namespace {

// Little-endian bytes, so the id does not depend on the host.
void append_le64(std::string& out, std::uint64_t value) {
    for (int i = 0; i < 8; ++i)
        out += static_cast<char>((value >> (8 * i)) & 0xff);
}

void append_hex16(std::string& out, std::uint64_t value) {
    static constexpr char digits[] = "0123456789abcdef";
    for (int shift = 60; shift >= 0; shift -= 4)
        out += digits[(value >> shift) & 15];
}

}  // namespace

std::uint64_t summary_id(std::uint64_t key, std::int64_t window_start_ms) {
    std::string bytes;
    bytes.reserve(16);
    append_le64(bytes, key);
    append_le64(bytes, static_cast<std::uint64_t>(window_start_ms));
    return fnv1a64(bytes);
}

bool write_summary(std::string_view first_event, const Summary& summary, std::int64_t now_ms,
                   std::string& out) {
    // The event starts with constant members before any value written from input, and a
    // `"` inside a JSON string is always escaped: the first match of each marker is the
    // member itself, never text inside a value.
    static constexpr std::string_view id_marker = R"("id":")";
    static constexpr std::string_view ts_marker = R"(","ts":")";
    static constexpr std::string_view repeats_marker = R"(},"repeats":0,"raw":)";
    constexpr std::size_t id_size = 16;
    constexpr std::size_t ts_size = 24;  // 2026-11-22T10:15:02.123Z

    std::string_view event = first_event;
    std::size_t id_at = event.find(id_marker);
    std::size_t repeats_at = event.find(repeats_marker);
    if (id_at == std::string_view::npos || repeats_at == std::string_view::npos ||
        event.size() < 2 || event.back() != '}') {
        return false;
    }
    id_at += id_marker.size();
    std::size_t ts_at = id_at + id_size;
    if (event.substr(ts_at, ts_marker.size()) != ts_marker) return false;
    ts_at += ts_marker.size();
    if (ts_at + ts_size > repeats_at) return false;

    out.clear();
    out.reserve(event.size() + 80);
    out.append(event.substr(0, id_at));
    append_hex16(out, summary_id(summary.key, summary.window_start_ms));
    out.append(ts_marker);
    out.append(format_timestamp(now_ms));
    std::size_t after_ts = ts_at + ts_size;
    out.append(event.substr(after_ts, repeats_at - after_ts));
    out.append(R"(},"repeats":)");
    out.append(std::to_string(summary.repeats));
    out.append(R"(,"raw":)");
    std::size_t raw_at = repeats_at + repeats_marker.size();
    out.append(event.substr(raw_at, event.size() - 1 - raw_at));  // up to the closing brace
    out.append(R"(,"first_ts":")");
    out.append(format_timestamp(summary.first_ms));
    out.append(R"(","last_ts":")");
    out.append(format_timestamp(summary.last_ms));
    out.append("\"}");
    return true;
}

}  // namespace errbridge::core
