// The default test runner (what CATCH_CONFIG_MAIN would define), in errbridge_catch: a
// binary that defines its own main (seed_test) never pulls this object from the library.
#include "catch_run.h"

int main(int argc, char* argv[]) {
    return errbridge::test::run_catch(argc, argv);
}
