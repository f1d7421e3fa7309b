#include "reader.h"

#include <algorithm>

namespace errbridge::config::detail {
namespace {

std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

}  // namespace

std::string type_name(const toml::value& value) {
    switch (value.type()) {
        case toml::value_t::boolean:
            return "a boolean";
        case toml::value_t::integer:
            return "an integer";
        case toml::value_t::floating:
            return "a float";
        case toml::value_t::string:
            return "a string";
        case toml::value_t::array:
            return "an array";
        case toml::value_t::table:
            return "a table";
        default:
            return "a date or time";
    }
}

TableReader::TableReader(const toml::value* table, std::string prefix, Problems& problems)
    : table_(table), prefix_(std::move(prefix)), problems_(problems) {}

std::size_t TableReader::line() const {
    return table_ ? table_->location().line() : 1;
}

std::string TableReader::key_name(const std::string& key) const {
    return prefix_.empty() ? key : prefix_ + "." + key;
}

const toml::value* TableReader::raw(const std::string& key) {
    read_.insert(key);
    if (!table_) return nullptr;
    const auto& t = table_->as_table();
    auto it = t.find(key);
    return it == t.end() ? nullptr : &it->second;
}

void TableReader::problem_at(std::size_t line, const std::string& key, const std::string& reason) {
    problems_.add(line, key_name(key), reason);
}

void TableReader::problem(const std::string& key, const std::string& reason) {
    const toml::value* v = nullptr;
    if (table_) {
        const auto& t = table_->as_table();
        auto it = t.find(key);
        if (it != t.end()) v = &it->second;
    }
    problem_at(v ? v->location().line() : line(), key, reason);
}

void TableReader::missing(const std::string& key, const std::string& reason) {
    problem_at(line(), key, reason);
}

std::optional<std::string> TableReader::string(const std::string& key) {
    const toml::value* v = raw(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) {
        problem(key, "expected a string, got " + type_name(*v));
        return std::nullopt;
    }
    return v->as_string().str;
}

std::optional<std::int64_t> TableReader::integer(const std::string& key, std::int64_t lo,
                                                 std::int64_t hi) {
    const toml::value* v = raw(key);
    if (!v) return std::nullopt;
    if (!v->is_integer()) {
        problem(key, "expected an integer, got " + type_name(*v));
        return std::nullopt;
    }
    std::int64_t value = v->as_integer();
    if (value < lo || value > hi) {
        problem(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                         ", got " + std::to_string(value));
        return std::nullopt;
    }
    return value;
}

std::optional<bool> TableReader::boolean(const std::string& key) {
    const toml::value* v = raw(key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) {
        problem(key, "expected true or false, got " + type_name(*v));
        return std::nullopt;
    }
    return v->as_boolean();
}

std::optional<std::vector<std::string>> TableReader::strings(const std::string& key) {
    const toml::value* v = raw(key);
    if (!v) return std::nullopt;
    if (v->is_string()) return std::vector<std::string>{v->as_string().str};
    if (!v->is_array()) {
        problem(key, "expected an array of strings, got " + type_name(*v));
        return std::nullopt;
    }
    std::vector<std::string> out;
    for (const auto& item : v->as_array()) {
        if (!item.is_string()) {
            problem(key, "expected an array of strings, found " + type_name(item));
            return std::nullopt;
        }
        out.push_back(item.as_string().str);
    }
    return out;
}

const toml::value* TableReader::table(const std::string& key) {
    const toml::value* v = raw(key);
    if (v && !v->is_table()) {
        problem(key, "expected a table, got " + type_name(*v));
        return nullptr;
    }
    return v;
}

void TableReader::reject_unknown(const std::vector<std::string>& known) const {
    if (!table_) return;
    for (const auto& [key, value] : table_->as_table()) {
        if (read_.count(key)) continue;
        std::string reason = "unknown key";
        std::string best;
        std::size_t best_distance = 3;
        for (const auto& candidate : known) {
            std::size_t d = edit_distance(key, candidate);
            bool prefix = candidate.rfind(key, 0) == 0 || key.rfind(candidate, 0) == 0;
            if (d < best_distance || (prefix && best.empty())) {
                best = candidate;
                best_distance = std::min(d, best_distance);
            }
        }
        if (!best.empty()) reason += " (did you mean " + best + "?)";
        problems_.add(value.location().line(), key_name(key), reason);
    }
}

}  // namespace errbridge::config::detail
