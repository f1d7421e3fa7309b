#pragma once

#include <ostream>

namespace errbridge::cli {

// Exit codes shared by every command (SPEC §2).
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;  // unknown vendor or code, runtime failure
inline constexpr int exit_usage = 2;    // bad arguments or configuration

// Dispatches `errbridge <command> ...`; returns the process exit code.
int run(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace errbridge::cli
