#!/usr/bin/env bash
# End-to-end benchmark (issue 8, SPEC §13): one command, one table.
#
# Starts its own mosquitto on a free loopback port (set_tcp_nodelay, no queue or in-flight
# limits) and runs, interleaved, BENCH_REPS repetitions (default 5) of, at QoS 0 and 1:
#   broker alone        the load generator publishes straight onto the sink's topics
#   pass-through        tests/bench/load/passthrough.cpp (Paho C++, errbridge's stack),
#                       persistence file and memory: republishes every message unchanged
#   errbridge           build/bridge/errbridge run on the default routes, suppression off,
#                       persistence file and memory
#   Node-RED 4          mqtt in -> function (catalog lookup object) -> mqtt out, installed
#                       with npm into tests/bench/nodered/.node (BENCH_NODERED=0 skips it)
#   errbridge, Nagle    errbridge memory at the fixed rate with TCP_NODELAY turned into a
#                       no-op by an LD_PRELOAD shim (issue 5: is TCP_NODELAY needed?)
# Each cell: max throughput (closed loop, BENCH_WINDOW messages in flight end to end,
# BENCH_CLOSED_S seconds), latency at BENCH_RATE msg/s (open loop, BENCH_OPEN_COUNT
# messages, measured from each message's due time), the bridge's CPU per message
# (utime+stime from /proc over the closed-loop run) and its peak RSS (VmHWM). Then exec ->
# READY=1 / log lines, and the route-matching and decode micro-benchmarks.
# The sink checks every message (code, vendor, known, topic; pass-through: bytes).
#
# usage: scripts/bench.sh            (about 15 minutes on 2 cores)
#        BENCH_REPS=1 BENCH_CLOSED_S=1 BENCH_OPEN_COUNT=1000 scripts/bench.sh   (a smoke run)
# Raw results: one JSON line per run in $BENCH_OUT (default /tmp/errbridge-bench-*/).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build}
REPS=${BENCH_REPS:-5}
CLOSED_S=${BENCH_CLOSED_S:-4}
OPEN_COUNT=${BENCH_OPEN_COUNT:-5000}
RATE=${BENCH_RATE:-2000}
WINDOW=${BENCH_WINDOW:-500}
DRAIN_S=${BENCH_DRAIN_S:-5}
NODERED=${BENCH_NODERED:-1}
NODERED_VERSION=${BENCH_NODERED_VERSION:-4}
WORK=${BENCH_OUT:-$(mktemp -d /tmp/errbridge-bench-XXXXXX)}
mkdir -p "$WORK"
RESULTS=$WORK/results.jsonl
: >"$RESULTS"

log() { echo "bench: $*" >&2; }

# ---- build --------------------------------------------------------------------------
# shellcheck source=scripts/deps.sh
source "$ROOT/scripts/deps.sh"
errbridge_install_deps >&2
if [[ ! -f $BUILD/build.ninja ]]; then
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
fi
cmake --build "$BUILD" -j2 >&2
ERRBRIDGE=$BUILD/bridge/errbridge
LOADGEN=$BUILD/tests/bench/loadgen
PASSTHROUGH=$BUILD/tests/bench/passthrough
STARTUP=$BUILD/tests/bench/startup
NO_NODELAY=$BUILD/tests/bench/libbench_no_nodelay.so
CATALOG=$WORK/catalog.jsonl
"$ERRBRIDGE" catalog --format json >"$CATALOG"

# ---- Node-RED, in a folder only the benchmark uses -----------------------------------
NR_DIR=$ROOT/tests/bench/nodered
NR_RED=$NR_DIR/.node/node_modules/node-red/red.js
if [[ $NODERED == 1 && ! -f $NR_RED ]]; then
    if command -v npm >/dev/null; then
        log "installing node-red@$NODERED_VERSION into $NR_DIR/.node"
        npm install --prefix "$NR_DIR/.node" --no-audit --no-fund --loglevel=error \
            "node-red@$NODERED_VERSION" >&2 || log "npm install failed: Node-RED skipped"
    else
        log "no npm: Node-RED skipped"
    fi
fi
[[ -f $NR_RED ]] || NODERED=0
NR_VERSION=$([[ $NODERED == 1 ]] && node -p "require('$NR_DIR/.node/node_modules/node-red/package.json').version" || echo "-")

# ---- the broker -----------------------------------------------------------------------
# shellcheck source=scripts/bench_broker.sh
source "$ROOT/scripts/bench_broker.sh"
BROKER_PID=
BRIDGE_PID=
cleanup() {
    [[ -n $BRIDGE_PID ]] && kill "$BRIDGE_PID" 2>/dev/null && wait "$BRIDGE_PID" 2>/dev/null
    [[ -n $BROKER_PID ]] && kill "$BROKER_PID" 2>/dev/null && wait "$BROKER_PID" 2>/dev/null
    return 0
}
trap cleanup EXIT
start_bench_broker "$WORK"
URI=tcp://127.0.0.1:$PORT
log "mosquitto $BROKER_PID on $URI, results in $WORK"

# ---- bridges --------------------------------------------------------------------------
SUBS=(--sub '/sys/+/+/thing/#' --sub '/neuron/+/#' --sub 'bridge/camera/+/http/+/+/response')

errbridge_config() {  # persistence qos client_id
    cat <<EOF
site = "bench"
[broker]
uri = "$URI"
client_id = "$3"
state_dir = "$WORK/state"
persistence = "$1"
session_expiry_s = 1   # persistent session as in production, gone 1 s after each run
[output]
qos = $2
[suppress]
window_s = 0           # SPEC §8: benchmarks run with suppression off
[metrics]
listen = ""
EOF
}

wait_log() {  # file text seconds
    local deadline=$((SECONDS + $3))
    while ((SECONDS < deadline)); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        kill -0 "$BRIDGE_PID" 2>/dev/null || break
        sleep 0.05
    done
    log "no '$2' in $1:"
    tail -20 "$1" >&2
    return 1
}

RUN=0
start_bridge() {  # kind persistence qos
    RUN=$((RUN + 1))
    local id="bench-$1-$2-q$3-$RUN" blog="$WORK/logs/$1-$2-q$3-$RUN.log"
    mkdir -p "$WORK/logs" "$WORK/state"
    BRIDGE_LOG=$blog
    case $1 in
        broker) BRIDGE_PID= ;;
        pass)
            "$PASSTHROUGH" --uri "$URI" "${SUBS[@]}" --qos "$3" --persistence "$2" \
                --state-dir "$WORK/state/$id" --client-id "$id" 2>"$blog" &
            BRIDGE_PID=$!
            wait_log "$blog" "passthrough: running" 10
            ;;
        errbridge | nagle)
            errbridge_config "$2" "$3" "$id" >"$WORK/$id.toml"
            if [[ $1 == nagle ]]; then
                LD_PRELOAD=$NO_NODELAY "$ERRBRIDGE" run -c "$WORK/$id.toml" 2>"$blog" &
            else
                "$ERRBRIDGE" run -c "$WORK/$id.toml" 2>"$blog" &
            fi
            BRIDGE_PID=$!
            wait_log "$blog" "session: subscribed" 10
            sleep 0.3  # the SUBSCRIBEs are on their way, not yet acknowledged
            ;;
        nodered)
            mkdir -p "$WORK/nodered-q$3"
            node "$NR_DIR/make_flow.js" "$CATALOG" "$PORT" "$3" bench 5 >"$WORK/nodered-q$3/flows.json"
            NODE_RED_PORT=$(free_port) node "$NR_RED" -u "$WORK/nodered-q$3" \
                -s "$NR_DIR/settings.js" flows.json >"$blog" 2>&1 &
            BRIDGE_PID=$!
            wait_log "$blog" "Connected to broker" 30
            sleep 1
            ;;
    esac
}

stop_bridge() {
    if [[ -n $BRIDGE_PID ]]; then
        kill -TERM "$BRIDGE_PID" 2>/dev/null || true
        wait "$BRIDGE_PID" 2>/dev/null || true
        BRIDGE_PID=
        sleep 1.2  # the session expires (session_expiry_s = 1)
    fi
}

loadgen() {  # kind persistence qos rep mode [extra loadgen args]
    local kind=$1 pers=$2 qos=$3 rep=$4 mode=$5
    shift 5
    local args=(--catalog "$CATALOG" --port "$PORT" --qos "$qos" --window "$WINDOW"
        --watch "broker=$BROKER_PID")
    [[ -n $BRIDGE_PID ]] && args+=(--watch "bridge=$BRIDGE_PID")
    case $kind in
        broker) args+=(--direct) ;;
        pass) args+=(--expect raw) ;;
    esac
    if [[ $mode == closed ]]; then
        args+=(--count 2000000 --timeout "$CLOSED_S" --drain "$DRAIN_S")
    else
        args+=(--count "$OPEN_COUNT" --rate "$RATE" --drain "$DRAIN_S")
    fi
    local line
    line=$("$LOADGEN" "${args[@]}" "$@" --label "$kind/$pers/q$qos/$rep/$mode" 2>>"$WORK/loadgen.err") ||
        { log "loadgen failed: $kind $pers q$qos $mode"; tail -5 "$WORK/loadgen.err" >&2; return 0; }
    echo "$line" >>"$RESULTS"
    log "$(echo "$line" | cut -c1-220)"
}

cell() {  # kind persistence qos rep [open-only]
    start_bridge "$1" "$2" "$3" || { stop_bridge; return 0; }
    [[ ${5:-} == open-only ]] || loadgen "$1" "$2" "$3" "$4" closed
    local ss_pid=
    if [[ $1 == errbridge && $2 == memory && $4 == 1 ]]; then
        # issue 5: the daemon's socket to the broker while under the fixed-rate load
        (sleep 1; ss -tinp 2>/dev/null | grep -A1 "pid=$BRIDGE_PID," >"$WORK/ss-errbridge-q$3.txt") &
        ss_pid=$!
    fi
    loadgen "$1" "$2" "$3" "$4" open
    [[ -z $ss_pid ]] || wait "$ss_pid" || true
    stop_bridge
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
CONFIGS=("broker -" "pass file" "pass memory" "errbridge file" "errbridge memory")
[[ $NODERED == 1 ]] && CONFIGS+=("nodered -")
for rep in $(seq "$REPS"); do
    for qos in 0 1; do
        for c in "${CONFIGS[@]}"; do
            read -r kind pers <<<"$c"
            log "rep $rep/$REPS qos $qos: $kind $pers"
            cell "$kind" "$pers" "$qos" "$rep"
        done
        log "rep $rep/$REPS qos $qos: errbridge memory without TCP_NODELAY"
        cell nagle memory "$qos" "$rep" open-only
    done
done

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
echo "$LOAD_BEFORE" >"$WORK/loadavg"
echo "$LOAD_AFTER" >>"$WORK/loadavg"

# ---- start-up, route matching, decode --------------------------------------------------
STARTUP_OUT=$WORK/startup.jsonl
: >"$STARTUP_OUT"
errbridge_config memory 1 "bench-startup" >"$WORK/startup.toml"
for _ in $(seq "$REPS"); do
    "$STARTUP" --line "main: running" --line "session: subscribed" -- \
        "$ERRBRIDGE" run -c "$WORK/startup.toml" >>"$STARTUP_OUT"
    sleep 1.2
done
"$BUILD/tests/bench/bench_routes" --benchmark_min_time=0.05 --benchmark_filter='trie' \
    --benchmark_format=json >"$WORK/routes.json" 2>/dev/null || true
"$BUILD/tests/bench/bench_decode" --benchmark_min_time=0.2 --benchmark_format=json \
    >"$WORK/decode.json" 2>/dev/null || true

# ---- the table --------------------------------------------------------------------------
python3 - "$RESULTS" "$STARTUP_OUT" "$WORK" "$NR_VERSION" "$RATE" <<'PY'
import json, os, statistics, sys
results, startup, work, nr_version, rate = sys.argv[1:6]
rows = [json.loads(l) for l in open(results) if l.strip()]
cells = {}
for r in rows:
    kind, pers, q, rep, mode = r["label"].split("/")
    cells.setdefault((kind, pers, int(q[1:])), {}).setdefault(mode, []).append(r)

def med(values, fmt="{:.0f}"):
    values = [v for v in values if v is not None]
    if not values:
        return "—", None
    m = statistics.median(values)
    text = fmt.format(m)
    if len(values) > 1:
        text += " (" + fmt.format(min(values)) + "–" + fmt.format(max(values)) + ")"
    return text, m

names = {("broker", "-"): "broker alone", ("pass", "file"): "pass-through, file",
         ("pass", "memory"): "pass-through, memory", ("errbridge", "file"): "errbridge, file",
         ("errbridge", "memory"): "errbridge, memory",
         ("nodered", "-"): f"Node-RED {nr_version}",
         ("nagle", "memory"): "errbridge, memory, no TCP_NODELAY"}
order = list(names)
print()
print(f"| setup | QoS | max msg/s | p50 µs @{rate}/s | p99 µs @{rate}/s | max µs @{rate}/s "
      f"| >40 ms | bridge CPU µs/msg at max | bridge CPU µs/msg @{rate}/s | peak RSS MiB "
      f"| broker CPU µs/msg at max | lost/dup/wrong |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
summary = {}
for qos in (0, 1):
    for key in order:
        c = cells.get(key + (qos,))
        if not c:
            continue
        closed, open_ = c.get("closed", []), c.get("open", [])
        tp, tp_m = med([r["throughput"] for r in closed])
        p50, p50_m = med([r["p50_us"] for r in open_])
        p99, p99_m = med([r["p99_us"] for r in open_])
        mx, mx_m = med([r["max_us"] for r in open_])
        over = sum(r["over_40ms"] for r in open_)
        cpu, cpu_m = med([r["bridge"]["cpu_us_per_msg"] for r in closed if r.get("bridge")],
                         "{:.1f}")
        cpu2k, _ = med([r["bridge"]["cpu_us_per_msg"] for r in open_ if r.get("bridge")],
                       "{:.1f}")
        peak = {}  # VmHWM is the process's peak so far: the larger of its two runs
        for r in closed + open_:
            if r.get("bridge"):
                rep = r["label"].split("/")[3]
                peak[rep] = max(peak.get(rep, 0), r["bridge"]["vmhwm_kib"] / 1024)
        rss, rss_m = med(list(peak.values()), "{:.1f}")
        bcpu, _ = med([r["broker"]["cpu_us_per_msg"] for r in closed if r.get("broker")],
                      "{:.1f}")
        lost = sum(r["lost"] for r in closed + open_)
        dup = sum(r["duplicated"] for r in closed + open_)
        wrong = sum(r["wrong"] for r in closed + open_)
        print(f"| {names[key]} | {qos} | {tp} | {p50} | {p99} | {mx} | {over} | {cpu} | {cpu2k} "
              f"| {rss} | {bcpu} | {lost}/{dup}/{wrong} |")
        summary[key + (qos,)] = dict(tp=tp_m, p50=p50_m, p99=p99_m, max=mx_m, over=over,
                                     cpu=cpu_m, rss=rss_m)

print()
loads = open(os.path.join(work, "loadavg")).read().split("\n")
print(f"Machine: {os.cpu_count()} CPUs; load average (1/5/15 min) before the runs {loads[0]}, "
      f"after {loads[1]}. Message counts: see {results}.")
print()
print("Targets (SPEC §13), medians of this run:")
def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b
for qos in (0, 1):
    for pers in ("file", "memory"):
        e, p = summary.get(("errbridge", pers, qos)), summary.get(("pass", pers, qos))
        if not e or not p:
            continue
        t, c = ratio(e["tp"], p["tp"]), ratio(e["cpu"], p["cpu"])
        print(f"- QoS {qos} {pers}: throughput {t:.2f}x the pass-through (target >= 0.9: "
              f"{'met' if t >= 0.9 else 'NOT met'}); CPU/msg {c:.2f}x (target <= 1.25: "
              f"{'met' if c <= 1.25 else 'NOT met'})")
    e, n = summary.get(("errbridge", "memory", qos)), summary.get(("nodered", "-", qos))
    if e and n:
        c = ratio(e["cpu"], n["cpu"])
        print(f"- QoS {qos}: CPU/msg {c:.2f}x Node-RED's (target <= 0.4: "
              f"{'met' if c <= 0.4 else 'NOT met'})")
    elif e:
        print(f"- QoS {qos}: no Node-RED run: the Node-RED CPU target counts as NOT met")
    for pers in ("file", "memory"):
        e = summary.get(("errbridge", pers, qos))
        if e:
            ok = (e["p50"] or 1e12) < 300 and (e["p99"] or 1e12) < 1000 and e["over"] == 0
            print(f"- QoS {qos} {pers} at {rate}/s: p50 {e['p50']:.0f} µs (< 300), p99 "
                  f"{e['p99']:.0f} µs (< 1000), {e['over']} over 40 ms (0): "
                  f"{'met' if ok else 'NOT met'}; peak RSS {e['rss']:.1f} MiB (< 16: "
                  f"{'met' if e['rss'] < 16 else 'NOT met'})")

st = [json.loads(l) for l in open(startup) if l.strip()]
if st:
    def col(key):
        return [s["lines"].get(key) for s in st]
    ready = [s["ready_ms"] for s in st]
    print()
    print("Start-up of errbridge run (exec -> ...), ms, median (min–max) of", len(st), "runs:")
    print("- READY=1:", med(ready, "{:.1f}")[0] if any(v is not None for v in ready)
          else "never sent (errbridge does not call sd_notify yet)")
    print("- log line 'main: running':", med(col("main: running"), "{:.1f}")[0])
    print("- log line 'session: subscribed' (connected to the broker):",
          med(col("session: subscribed"), "{:.1f}")[0])

def bench_lines(path, title):
    try:
        data = json.load(open(path))
    except Exception:
        return
    print()
    print(title)
    for b in data.get("benchmarks", []):
        extra = ""
        if "routes" in b:
            extra = f" ({b['routes']:.0f} routes)"
        if "allocs_per_msg" in b:
            extra += f", {b['allocs_per_msg']:.2f} allocations/msg"
        print(f"- {b['name']}: {b['real_time']:.0f} {b['time_unit']}{extra}")
bench_lines(os.path.join(work, "routes.json"), "Route matching (bench_routes, trie):")
bench_lines(os.path.join(work, "decode.json"), "Decode + lookup + event JSON (bench_decode):")
for q in (0, 1):
    path = os.path.join(work, f"ss-errbridge-q{q}.txt")
    if os.path.exists(path) and os.path.getsize(path):
        print()
        print(f"ss -tinp of errbridge's sockets under the {rate}/s load, QoS {q}:")
        print("```")
        print(open(path).read().rstrip())
        print("```")
PY
log "raw results: $RESULTS"
