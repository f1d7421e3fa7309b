#pragma once

// `errbridge run`: the daemon's life from config to exit (SPEC §2, §10, §11), read top to
// bottom in daemon.cpp: config -> state dir -> credentials -> session -> metrics listener
// -> connect (in the background) -> READY=1 -> running -> signal -> STOPPING=1 -> drain ->
// terminating.

#include <optional>
#include <string>

#include "errbridge/daemon/log.h"

namespace errbridge::daemon {

struct RunOptions {
    std::optional<std::string> config_path;  // -c; else the installed file or the embedded one
    LogLevel log_level = LogLevel::info;
};

// Exit status: 0 after SIGTERM/SIGINT, 2 on a config error or an unusable state dir,
// 1 otherwise.
int run_daemon(const RunOptions& options, Logger& log);

}  // namespace errbridge::daemon
