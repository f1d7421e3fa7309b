#include <system_error>

#include "errbridge/config/load.h"

#ifndef ERRBRIDGE_SYSCONFDIR
#error "ERRBRIDGE_SYSCONFDIR must come from CMake (CMAKE_INSTALL_FULL_SYSCONFDIR)"
#endif

namespace errbridge::config {

std::string_view embedded_default_config() {
    // Every key keeps its documented default: site is the host name, the broker is the
    // local one, and with no [[route]] the catalog's default routes apply (SPEC §5).
    return R"(# errbridge embedded default configuration
[broker]
uri = "tcp://127.0.0.1:1883"
)";
}

std::filesystem::path default_config_path() {
    return std::filesystem::path(ERRBRIDGE_SYSCONFDIR) / "errbridge" / "errbridge.toml";
}

LoadedConfig load_default_config(const Environment& env, std::string& description) {
    std::filesystem::path path = default_config_path();
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
        description = path.string();
        return load_config_file(path, env);
    }
    description = "embedded default (" + path.string() + " does not exist)";
    return load_config_text(embedded_default_config(), "embedded default", env);
}

}  // namespace errbridge::config
