#pragma once

#include <istream>
#include <ostream>

namespace errbridge::cli {

// Exit codes shared by every command (SPEC §2).
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;   // unknown vendor or code, runtime failure
inline constexpr int exit_usage = 2;     // bad arguments or configuration
inline constexpr int exit_unrouted = 3;  // decode: no route matches the topic

// Dispatches `errbridge <command> ...`; returns the process exit code.
int run(int argc, char** argv, std::ostream& out, std::ostream& err);
// The same with standard input given (decode reads its payload there).
int run(int argc, char** argv, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace errbridge::cli
