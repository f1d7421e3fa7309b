#pragma once

namespace errbridge::test {

// Catch::Session().run(argc, argv). Catch2 declares Session only where its implementation is
// compiled (catch_impl.cpp), so mains elsewhere call it through here.
int run_catch(int argc, char* argv[]);

}  // namespace errbridge::test
