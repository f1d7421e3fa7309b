#!/usr/bin/env bash
# Installs dependencies, builds errbridge and runs every test. Usage: scripts/test.sh
# BUILD_DIR overrides the build directory (default: build/ in the repo).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$repo/build}"

source "$repo/scripts/deps.sh"
errbridge_install_deps

cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j2
cd "$build"
ctest --output-on-failure -j2
