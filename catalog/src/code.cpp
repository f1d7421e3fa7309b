#include "errbridge/catalog/code.h"

#include <charconv>
#include <cstdio>

namespace errbridge::catalog {
namespace {

constexpr std::string_view huawei_prefix = "IoTEdge.";
constexpr std::size_t huawei_digits = 8;

std::optional<std::int64_t> parse_decimal(std::string_view text) {
    if (text.empty()) return std::nullopt;
    std::size_t start = text[0] == '-' ? 1 : 0;
    if (start == text.size()) return std::nullopt;
    for (std::size_t i = start; i < text.size(); ++i) {
        if (text[i] < '0' || text[i] > '9') return std::nullopt;
    }
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

bool all_digits(std::string_view text) {
    for (char c : text) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
        char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
        if (x != y) return false;
    }
    return true;
}

std::optional<std::int64_t> parse_huawei(std::string_view text, bool case_insensitive) {
    if (text.size() == huawei_prefix.size() + huawei_digits) {
        std::string_view prefix = text.substr(0, huawei_prefix.size());
        bool matches = case_insensitive ? iequals(prefix, huawei_prefix) : prefix == huawei_prefix;
        if (!matches) return std::nullopt;
        text.remove_prefix(huawei_prefix.size());
    }
    if (text.size() != huawei_digits || !all_digits(text)) return std::nullopt;
    return parse_decimal(text);
}

}  // namespace

std::optional<std::int64_t> parse_wire_code(CodeStyle style, std::string_view text) {
    if (style == CodeStyle::huawei) return parse_huawei(text, false);
    return parse_decimal(text);
}

std::optional<std::int64_t> parse_typed_code(CodeStyle style, std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    if (style == CodeStyle::huawei) return parse_huawei(text, true);
    // Thousands separators are a web-rendering artefact ("1,000" in Tuya's table); accept
    // them only in well-formed groups of three so "10,01" stays an error.
    std::string digits;
    std::size_t group = 0;
    bool seen_comma = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == ',') {
            if (i == 0 || (seen_comma && group != 3) || (!seen_comma && group > 3)) {
                return std::nullopt;
            }
            seen_comma = true;
            group = 0;
            continue;
        }
        if (c >= '0' && c <= '9') ++group;
        digits.push_back(c);
    }
    if (seen_comma && group != 3) return std::nullopt;
    return parse_decimal(digits);
}

std::string canonical_code(CodeStyle style, std::int64_t key) {
    if (style == CodeStyle::huawei && key >= 0 && key <= 99'999'999) {
        char buffer[16];
        std::snprintf(buffer, sizeof buffer, "%08lld", static_cast<long long>(key));
        return std::string(huawei_prefix) + buffer;
    }
    return std::to_string(key);
}

}  // namespace errbridge::catalog
