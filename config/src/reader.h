#pragma once

// Typed access to a toml11 table that records every problem instead of throwing, and
// remembers which keys were read so leftovers can be reported as unknown.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <toml.hpp>
#include <vector>

#include "errbridge/config/load.h"

namespace errbridge::config::detail {

class Problems {
  public:
    explicit Problems(std::string file) : file_(std::move(file)) {}
    void add(std::size_t line, std::string key, std::string reason) {
        list_.push_back({file_, line, std::move(key), std::move(reason)});
    }
    const std::string& file() const { return file_; }
    bool empty() const { return list_.empty(); }
    std::vector<Problem> take() { return std::move(list_); }

  private:
    std::string file_;
    std::vector<Problem> list_;
};

class TableReader {
  public:
    // `table` may be null (the table is absent): every getter then returns nothing.
    TableReader(const toml::value* table, std::string prefix, Problems& problems);

    bool present() const { return table_ != nullptr; }
    std::size_t line() const;
    const std::string& prefix() const { return prefix_; }
    std::string key_name(const std::string& key) const;

    const toml::value* raw(const std::string& key);
    std::optional<std::string> string(const std::string& key);
    std::optional<std::int64_t> integer(const std::string& key, std::int64_t lo, std::int64_t hi);
    std::optional<bool> boolean(const std::string& key);
    std::optional<std::vector<std::string>> strings(const std::string& key);
    // A table-valued key; returns nullptr (and records a problem) when it is not a table.
    const toml::value* table(const std::string& key);

    void missing(const std::string& key, const std::string& reason);
    void problem(const std::string& key, const std::string& reason);
    void problem_at(std::size_t line, const std::string& key, const std::string& reason);

    // Reports every key that was never read, suggesting the closest known one.
    void reject_unknown(const std::vector<std::string>& known) const;

  private:
    const toml::value* table_;
    std::string prefix_;
    Problems& problems_;
    std::set<std::string> read_;
};

std::string type_name(const toml::value& value);

}  // namespace errbridge::config::detail
