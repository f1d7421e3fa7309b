#!/usr/bin/env bash
# Installs dependencies, builds errbridge twice and runs every test, then fuzzes. Phases, in
# order, each timed (`phase NAME: N s`, a table at the end):
#   deps             scripts/deps.sh
#   release-build    build/: GCC RelWithDebInfo, everything (the `release` preset)
#   release-ctest    every test there, the fault suite (label fault) included
#   sanitizer-build  build-san/: clang++-14 with ASan+LeakSanitizer+UBSan (UBSan halts) and the
#                    libFuzzer target, no benchmarks (the `sanitize` preset)
#   sanitizer-ctest  unit, seed, fuzz-corpus and integration tests there, against the
#                    sanitized daemon; LeakSanitizer checks every test binary and every
#                    daemon stopped with SIGTERM (its tests require exit status 0)
#   fuzz             fuzz_decode replays tests/fuzz/corpus, then fuzzes FUZZ_S seconds
#                    (default 60, -seed=1) into a temporary corpus; any crash fails the run
# Any failing phase stops the script with a non-zero status. About 13 minutes on an idle 2-core
# machine (README "Build and test" has the measured phase times); the budget is 20.
# Usage: scripts/test.sh
# BUILD_DIR / SAN_BUILD_DIR override the build directories (default: build/, build-san/).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$repo/build}"
san_build="${SAN_BUILD_DIR:-$repo/build-san}"
fuzz_s="${FUZZ_S:-60}"
logs="$(mktemp -d "${TMPDIR:-/tmp}/errbridge-test-XXXXXX")"

phase_names=()
phase_times=()
current=""
summary() {
    local status=$?
    [[ -n $current ]] && phase_names+=("$current (FAILED)") && phase_times+=($((SECONDS - start)))
    echo
    echo "== scripts/test.sh phase times"
    local total=0
    for i in "${!phase_names[@]}"; do
        printf '  %-28s %5d s\n' "${phase_names[$i]}" "${phase_times[$i]}"
        total=$((total + phase_times[i]))
    done
    printf '  %-28s %5d s\n' "total" "$total"
    for run in release sanitizer; do
        [[ -f $logs/$run-ctest.log ]] || continue
        echo "== ctest, $run build:"
        grep -E "tests passed|tests failed|Total Test time|^\s+[0-9]+ - " "$logs/$run-ctest.log" |
            sed 's/^/  /' || true
    done
    ((status == 0)) && echo "scripts/test.sh: all phases passed" ||
        echo "scripts/test.sh: FAILED (status $status); logs in $logs"
}
trap summary EXIT

# phase NAME COMMAND...: runs COMMAND, prints and records its wall time. A failure ends the
# script (set -e) and the summary marks the phase FAILED.
phase() {
    current=$1
    shift
    start=$SECONDS
    echo "== phase $current"
    "$@"
    local elapsed=$((SECONDS - start))
    echo "phase $current: $elapsed s"
    phase_names+=("$current")
    phase_times+=("$elapsed")
    current=""
}

deps() {
    source "$repo/scripts/deps.sh"
    errbridge_install_deps
}

release_build() {
    cmake --preset release -S "$repo" -B "$build"
    cmake --build "$build" -j2
}

sanitizer_build() {
    cmake --preset sanitize -S "$repo" -B "$san_build"
    cmake --build "$san_build" -j2
}

# The packaging tests (unit exposure score, install layout, run.sh) check files and
# scripts, not code paths: the release run covers them, and run.sh would rebuild this
# build dir with its own options.
# The fault tests (label fault) push 100,000-message streams through kills and broker
# restarts for minutes: what they show is delivery, not memory safety, and ASan would slow
# them several times over; the sanitized daemon meets kill -9, a broker restart and an
# outage in the integration suite.
run_ctest() {  # build-dir name [ctest args]
    local dir=$1 name=$2
    shift 2
    ctest --test-dir "$dir" --output-on-failure -j2 "$@" 2>&1 | tee "$logs/$name-ctest.log"
}

fuzz() {
    local fuzzer="$san_build/tests/fuzz/fuzz_decode" corpus="$repo/tests/fuzz/corpus"
    local work="$logs/fuzz"
    mkdir -p "$work/corpus" "$work/artifacts"
    echo "fuzz: replaying $(find "$corpus" -type f | wc -l) committed inputs"
    find "$corpus" -type f -print0 | xargs -0 "$fuzzer" >"$work/replay.log" 2>&1 ||
        {
            tail -40 "$work/replay.log"
            echo "fuzz: a committed corpus input fails (above)"
            return 1
        }
    echo "fuzz: $fuzz_s s, -seed=1, new inputs into $work/corpus ($corpus is read, never written)"
    local status=0
    "$fuzzer" -seed=1 -max_total_time="$fuzz_s" -timeout=10 -print_final_stats=1 \
        -dict="$repo/tests/fuzz/decode.dict" -artifact_prefix="$work/artifacts/" \
        "$work/corpus" "$corpus" >"$work/fuzz.log" 2>&1 || status=$?
    # The last status line: "#EXECS DONE cov: N ft: N corp: ... exec/s: N rss: N Mb".
    grep -E '^#[0-9]+' "$work/fuzz.log" | tail -1 || true
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' \
        "$work/fuzz.log" || true
    local artifacts
    artifacts=$(find "$work/artifacts" -type f)
    if ((status != 0)) || [[ -n $artifacts ]]; then
        tail -60 "$work/fuzz.log"
        echo "fuzz: FAILED (fuzz_decode status $status). Input(s) that broke it:"
        for a in $artifacts; do echo "  $a"; done
        echo "Reproduce with: $fuzzer FILE"
        echo "Fix the bug, then commit each file as a regression case, e.g."
        echo "  cp FILE tests/fuzz/corpus/regress-<what-it-broke> && git add tests/fuzz/corpus"
        echo "(fuzz_corpus_replay replays it in every build from then on)."
        return 1
    fi
    echo "fuzz: no crash; $(find "$work/corpus" -type f | wc -l) new inputs in $work/corpus"
}

cd "$repo"
phase deps deps
phase release-build release_build
phase release-ctest run_ctest "$build" release
phase sanitizer-build sanitizer_build
phase sanitizer-ctest run_ctest "$san_build" sanitizer -LE "packaging|fault"
phase fuzz fuzz
