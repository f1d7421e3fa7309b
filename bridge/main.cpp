#include <iostream>

#include "errbridge/cli/cli.h"

int main(int argc, char** argv) {
    return errbridge::cli::run(argc, argv, std::cout, std::cerr);
}
