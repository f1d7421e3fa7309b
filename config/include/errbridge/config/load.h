#pragma once

// Reading a config file: TOML -> validated, immutable Config. Every problem is collected
// (not just the first), each as `file:line: key: reason`, sorted by line.

#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "errbridge/catalog/catalog.h"
#include "errbridge/config/config.h"
#include "errbridge/config/route_table.h"
#include "errbridge/config/subscriptions.h"

namespace errbridge::config {

struct Problem {
    std::string file;
    std::size_t line = 0;
    std::string key;
    std::string reason;

    std::string format() const;  // "file:line: key: reason"
};

class ConfigError : public std::runtime_error {
  public:
    explicit ConfigError(std::vector<Problem> problems);
    const std::vector<Problem>& problems() const { return problems_; }

  private:
    std::vector<Problem> problems_;
};

// What the config's defaults depend on, injectable for tests.
struct Environment {
    std::string hostname;
    bool is_root = false;
    std::function<std::optional<std::string>(const std::string&)> getenv;

    static Environment from_process();
};

// The config with everything derived from it: the catalog it names, its route table and
// its subscriptions. Immutable once built; reload builds a new one.
struct LoadedConfig {
    Config config;
    catalog::Catalog catalog;
    RouteTable route_table;
    SubscriptionPlan subscriptions;
};

LoadedConfig load_config_file(const std::filesystem::path& path, const Environment& env);
LoadedConfig load_config_text(std::string_view toml, const std::string& source,
                              const Environment& env);

// Where a credential file named in the config really is: relative names live in
// $CREDENTIALS_DIRECTORY when systemd's LoadCredential= provides one.
std::string credential_path(const Environment& env, const std::string& name);

// The compiled-in default config (no routes: the catalog's default routes apply).
std::string_view embedded_default_config();
// `<sysconfdir>/errbridge/errbridge.toml`, from CMake's CMAKE_INSTALL_FULL_SYSCONFDIR.
std::filesystem::path default_config_path();

// What `run`, `check` and `decode` use without -c: the installed file if it exists, else
// the embedded default. `description` says which, for the log.
LoadedConfig load_default_config(const Environment& env, std::string& description);

// `path` when given (`-c`; unreadable is a ConfigError), else load_default_config.
// `source` says what was read, for the log.
LoadedConfig load_config(const std::optional<std::string>& path, const Environment& env,
                         std::string& source);

// The routes a config without [[route]] gets, in SPEC §5 order.
std::vector<std::pair<std::string, catalog::DefaultRoute>> default_routes(
    const catalog::Catalog& catalog);

}  // namespace errbridge::config
