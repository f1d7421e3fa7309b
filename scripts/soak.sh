#!/usr/bin/env bash
# On-demand soak test (not in CI): a long run through the release daemon under valgrind, then
# a long fuzz run.
#   1. builds what it needs: build/ (errbridge, loadgen) and build-san/ (fuzz_decode);
#   2. starts mosquitto on a free loopback port and `errbridge run` (production-like: QoS 1,
#      file persistence; suppression off so every message must come out) under
#      valgrind --leak-check=full;
#   3. sends SOAK_MESSAGES (default 200,000) through it with tests/bench/load/loadgen, closed
#      loop with SOAK_WINDOW (default 100) messages in flight, so the slow valgrind daemon
#      sets the pace; VmRSS of the daemon is sampled at start, every SOAK_SAMPLE_S seconds
#      (default 10) and at the end (under valgrind it includes valgrind's own memory);
#   4. stops the daemon with SIGTERM and reads valgrind's leak summary;
#   5. runs fuzz_decode for SOAK_FUZZ_S seconds (default 600) into a temporary corpus.
# Fails (non-zero) when a message is lost or duplicated, the daemon does not exit 0, valgrind
# reports a memory error or any definitely/indirectly lost bytes, or the fuzzer crashes.
#
# usage: scripts/soak.sh                                     (200,000 messages: about 10-20 min
#                                                             under valgrind on 2 cores, + 10 min)
#        SOAK_MESSAGES=20000 SOAK_FUZZ_S=60 scripts/soak.sh  (a short run)
# Other overrides: SOAK_QOS (1), SOAK_PERSISTENCE (file), SOAK_TIMEOUT_S (7200: loadgen's
# bound on the whole send), SOAK_TOOL (valgrind; `none` runs the daemon bare, for real RSS
# figures), BUILD_DIR, SAN_BUILD_DIR, SOAK_OUT (work dir, default /tmp/errbridge-soak-*/).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build}
SAN_BUILD=${SAN_BUILD_DIR:-$ROOT/build-san}
MESSAGES=${SOAK_MESSAGES:-200000}
FUZZ_S=${SOAK_FUZZ_S:-600}
WINDOW=${SOAK_WINDOW:-100}
SAMPLE_S=${SOAK_SAMPLE_S:-10}
QOS=${SOAK_QOS:-1}
PERSISTENCE=${SOAK_PERSISTENCE:-file}
TIMEOUT_S=${SOAK_TIMEOUT_S:-7200}
TOOL=${SOAK_TOOL:-valgrind}
WORK=${SOAK_OUT:-$(mktemp -d /tmp/errbridge-soak-XXXXXX)}
mkdir -p "$WORK"

log() { echo "soak: $*" >&2; }

# ---- build ------------------------------------------------------------------------------
# shellcheck source=scripts/deps.sh
source "$ROOT/scripts/deps.sh"
errbridge_install_deps >&2
[[ $TOOL != valgrind ]] || command -v valgrind >/dev/null ||
    { log "valgrind is not installed (apt-get install valgrind)"; exit 1; }
[[ -f $BUILD/build.ninja ]] || cmake --preset release -S "$ROOT" -B "$BUILD" >&2
cmake --build "$BUILD" -j2 --target errbridge loadgen >&2
[[ -f $SAN_BUILD/build.ninja ]] || cmake --preset sanitize -S "$ROOT" -B "$SAN_BUILD" >&2
cmake --build "$SAN_BUILD" -j2 --target fuzz_decode >&2
ERRBRIDGE=$BUILD/bridge/errbridge
LOADGEN=$BUILD/tests/bench/loadgen
FUZZER=$SAN_BUILD/tests/fuzz/fuzz_decode
"$ERRBRIDGE" catalog --format json >"$WORK/catalog.jsonl"

# ---- broker and daemon ------------------------------------------------------------------
# shellcheck source=scripts/bench_broker.sh
source "$ROOT/scripts/bench_broker.sh"
BROKER_PID=
BRIDGE_PID=
SAMPLER_PID=
cleanup() {
    [[ -z $SAMPLER_PID ]] || kill "$SAMPLER_PID" 2>/dev/null || true
    [[ -z $BRIDGE_PID ]] || kill -KILL "$BRIDGE_PID" 2>/dev/null || true
    [[ -z $BROKER_PID ]] || { kill "$BROKER_PID" 2>/dev/null && wait "$BROKER_PID" 2>/dev/null; }
    return 0
}
trap cleanup EXIT
start_bench_broker "$WORK"
log "mosquitto $BROKER_PID on 127.0.0.1:$PORT, work dir $WORK"

cat >"$WORK/errbridge.toml" <<EOF
site = "soak"
[broker]
uri = "tcp://127.0.0.1:$PORT"
client_id = "soak"
state_dir = "$WORK/state"
persistence = "$PERSISTENCE"
session_expiry_s = 1
[output]
qos = $QOS
[suppress]
window_s = 0   # every message must come out: the sink counts them
[metrics]
listen = ""
EOF
mkdir -p "$WORK/state"
wrapper=()
if [[ $TOOL == valgrind ]]; then
    wrapper=(valgrind --leak-check=full --show-leak-kinds=definite,indirect
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --num-callers=30
        --log-file="$WORK/valgrind.log")
fi
"${wrapper[@]}" "$ERRBRIDGE" run -c "$WORK/errbridge.toml" 2>"$WORK/errbridge.log" &
BRIDGE_PID=$!
deadline=$((SECONDS + 120))
until grep -q "session: subscribed" "$WORK/errbridge.log" 2>/dev/null; do
    kill -0 "$BRIDGE_PID" 2>/dev/null && ((SECONDS < deadline)) ||
        { log "the daemon did not subscribe:"; tail -20 "$WORK/errbridge.log" >&2; exit 1; }
    sleep 0.2
done
sleep 1  # the SUBSCRIBEs are on their way, not yet acknowledged

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$BRIDGE_PID/status" 2>/dev/null || echo 0; }
RSS_START=$(rss_kib)
log "daemon $BRIDGE_PID ($TOOL) subscribed; VmRSS $RSS_START KiB"
(
    start=$SECONDS
    while kill -0 "$BRIDGE_PID" 2>/dev/null; do
        echo "$((SECONDS - start)) $(rss_kib)"
        sleep "$SAMPLE_S"
    done
) >"$WORK/rss.txt" &
SAMPLER_PID=$!

# ---- the load ---------------------------------------------------------------------------
log "sending $MESSAGES messages, QoS $QOS, $WINDOW in flight"
load_start=$SECONDS
status=0
"$LOADGEN" --catalog "$WORK/catalog.jsonl" --port "$PORT" --qos "$QOS" --count "$MESSAGES" \
    --site soak --warmup 200 --window "$WINDOW" --timeout "$TIMEOUT_S" --drain 60 --watch "bridge=$BRIDGE_PID" \
    --label soak >"$WORK/loadgen.json" 2>"$WORK/loadgen.err" || status=$?
load_s=$((SECONDS - load_start))
((status == 0)) || { log "loadgen failed ($status):"; tail -5 "$WORK/loadgen.err" >&2; }
RSS_END=$(rss_kib)

kill "$SAMPLER_PID" 2>/dev/null || true
wait "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=
kill -TERM "$BRIDGE_PID"
bridge_status=0
wait "$BRIDGE_PID" || bridge_status=$?
BRIDGE_PID=
echo "end $RSS_END" >>"$WORK/rss.txt"

# ---- the report -------------------------------------------------------------------------
fail=0
python3 - "$WORK/loadgen.json" "$WORK/rss.txt" "$RSS_START" "$RSS_END" "$load_s" <<'PY' || fail=1
import json, sys
path, rss_path, start, end, load_s = sys.argv[1:6]
try:
    r = json.loads(open(path).read().strip().splitlines()[-1])
except Exception:
    print("soak: no loadgen result"); sys.exit(1)
samples = [int(l.split()[1]) for l in open(rss_path) if l.split()[1:] and l.split()[1] != "0"]
peak = max(samples + [int(start), int(end)])
print(f"messages: sent {r['sent']}, received {r['received']}, lost {r['lost']}, "
      f"duplicated {r['duplicated']}, wrong {r['wrong']} in {load_s} s "
      f"({r['sent'] / max(float(load_s), 1):.0f} msg/s)")
print(f"daemon VmRSS: start {int(start) / 1024:.1f} MiB, end {int(end) / 1024:.1f} MiB, "
      f"max {peak / 1024:.1f} MiB ({len(samples)} samples)")
sys.exit(0 if r["lost"] == 0 and r["duplicated"] == 0 and r["wrong"] == 0
         and r["sent"] > 0 else 1)
PY
if ((bridge_status != 0)); then
    log "the daemon exited $bridge_status after SIGTERM (99: valgrind found errors)"
    fail=1
fi
if [[ $TOOL == valgrind ]]; then
    echo "valgrind:"
    grep -E "in use at exit|All heap blocks|definitely lost:|indirectly lost:|possibly lost:|still reachable:|ERROR SUMMARY" \
        "$WORK/valgrind.log" | sed 's/^==[0-9]*== */  /'
    for kind in definitely indirectly; do
        bytes=$(sed -n "s/.*$kind lost: \([0-9,]*\) bytes.*/\1/p" "$WORK/valgrind.log" | tr -d ,)
        # No LEAK SUMMARY at all means nothing was allocated any more: 0 bytes.
        if [[ -n $bytes && $bytes != 0 ]]; then
            log "$kind lost: $bytes bytes (see $WORK/valgrind.log)"
            fail=1
        fi
    done
    grep -q "ERROR SUMMARY: 0 errors" "$WORK/valgrind.log" ||
        { log "valgrind reported errors: $WORK/valgrind.log"; fail=1; }
fi

# ---- fuzz -------------------------------------------------------------------------------
log "fuzzing $FUZZ_S s"
mkdir -p "$WORK/fuzz-corpus" "$WORK/fuzz-artifacts"
fuzz_status=0
"$FUZZER" -seed=1 -max_total_time="$FUZZ_S" -timeout=10 -print_final_stats=1 \
    -dict="$ROOT/tests/fuzz/decode.dict" -artifact_prefix="$WORK/fuzz-artifacts/" \
    "$WORK/fuzz-corpus" "$ROOT/tests/fuzz/corpus" >"$WORK/fuzz.log" 2>&1 || fuzz_status=$?
echo "fuzz ($FUZZ_S s):"
grep -E '^#[0-9]+' "$WORK/fuzz.log" | tail -1 | sed 's/^/  /' || true
grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$WORK/fuzz.log" |
    sed 's/^/  /' || true
if ((fuzz_status != 0)) || [[ -n $(find "$WORK/fuzz-artifacts" -type f) ]]; then
    log "the fuzzer failed ($fuzz_status); inputs: $(find "$WORK/fuzz-artifacts" -type f | tr '\n' ' ')"
    log "fix, then commit each as a regression case under tests/fuzz/corpus/"
    fail=1
fi
log "logs and samples in $WORK"
((fail == 0)) && log "PASS" || log "FAIL"
exit "$fail"
