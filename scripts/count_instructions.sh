#!/usr/bin/env bash
# Instructions per decoded message for each bench_decode message, from callgrind: it counts
# instructions, not seconds, so the figure is the same on a busy or an idle machine (same
# binary, same CPU features). Runs build/tests/bench/count_decode at N and 2N decodes and
# prints (Ir(2N) - Ir(N)) / N, which leaves out start-up, config loading and the first decode.
# Usage: scripts/count_instructions.sh [SHAPE...]   (default: every shape; N=COUNT_N, 2000)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build}
N=${COUNT_N:-2000}
command -v valgrind >/dev/null || {
    echo "count_instructions: valgrind is not installed (apt-get install valgrind)" >&2
    exit 2
}
cmake --build "$BUILD" -j2 --target count_decode >&2
BIN=$BUILD/tests/bench/count_decode
shapes=("$@")
if ((${#shapes[@]} == 0)); then
    mapfile -t shapes < <("$BIN" --list)
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/errbridge-count-XXXXXX")
trap 'rm -rf "$work"' EXIT

# Total instructions of one run: callgrind's "Collected : N" line on stderr.
instructions() {  # shape count
    valgrind --tool=callgrind --callgrind-out-file="$work/out" "$BIN" "$1" "$2" \
        >/dev/null 2>"$work/log" || {
        cat "$work/log" >&2
        return 1
    }
    sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$work/log"
}

printf '%-20s %14s\n' shape instructions/msg
for shape in "${shapes[@]}"; do
    one=$(instructions "$shape" "$N")
    two=$(instructions "$shape" $((2 * N)))
    printf '%-20s %14d\n' "$shape" $(((two - one) / N))
done
