#pragma once

// The environment every config-loading test uses: a fixed host name and only the variables
// a test names, so results never depend on the machine running them.

#include <map>
#include <optional>
#include <string>

#include "errbridge/config/load.h"

namespace errbridge::test {

inline config::Environment environment(std::map<std::string, std::string> vars = {}) {
    config::Environment env;
    env.hostname = "gw-01";
    env.is_root = false;
    env.getenv = [vars = std::move(vars)](const std::string& key) -> std::optional<std::string> {
        auto it = vars.find(key);
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
    return env;
}

}  // namespace errbridge::test
