// Catch2's implementation, compiled once for every test binary (errbridge_catch in
// tests/CMakeLists.txt): it is the slowest file of each build, and was compiled four times.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "catch_run.h"

namespace errbridge::test {

int run_catch(int argc, char* argv[]) {
    return Catch::Session().run(argc, argv);
}

}  // namespace errbridge::test
