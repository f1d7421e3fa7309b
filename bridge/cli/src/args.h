#pragma once

// A small argument reader: `--flag`, `--option value`, `--option=value`, positionals.
// Commands declare what they accept, so an unknown option is a usage error, not ignored.

#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace errbridge::cli {

class UsageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct ParsedArgs {
    std::vector<std::string> positionals;
    std::map<std::string, std::string> options;
    std::set<std::string> flags;

    bool flag(const std::string& name) const { return flags.count(name) > 0; }
    std::optional<std::string> option(const std::string& name) const;
};

// `options` take a value, `flags` do not; short aliases map to long names ("-c" -> "--config").
ParsedArgs parse_args(const std::vector<std::string>& args, const std::set<std::string>& options,
                      const std::set<std::string>& flags,
                      const std::map<std::string, std::string>& aliases = {});

}  // namespace errbridge::cli
