#!/usr/bin/env bash
# scripts/run.sh as a new user runs it, on a free port: it starts its own mosquitto, the
# daemon enriches one published sample, and stopping it stops both.
# Usage: run_sh_smoke.sh REPO BUILD_DIR
set -euo pipefail
repo=$1
build=$2
work="$(mktemp -d)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
metrics="127.0.0.1:$(free_port)"
pid=""
finish() {
    [[ -n $pid ]] && kill -TERM -- "-$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap finish EXIT

# Its own process group, so stopping it reaches run.sh, errbridge and mosquitto alike.
ERRBRIDGE_BROKER_PORT=$port ERRBRIDGE_METRICS_LISTEN=$metrics BUILD_DIR=$build \
    setsid "$repo/scripts/run.sh" >"$work/run.log" 2>&1 &
pid=$!
for _ in $(seq 600); do
    grep -q "session: subscribed" "$work/run.log" && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/run.log"; echo "FAIL: run.sh exited"; exit 1; }
    sleep 0.1
done
grep -q "run.sh: started mosquitto on 127.0.0.1:$port" "$work/run.log" ||
    { cat "$work/run.log"; echo "FAIL: run.sh did not start its own mosquitto"; exit 1; }
grep -q "session: subscribed" "$work/run.log" ||
    { cat "$work/run.log"; echo "FAIL: the daemon did not subscribe"; exit 1; }

mosquitto_sub -h 127.0.0.1 -p "$port" -t 'errors/#' -C 1 -W 20 >"$work/event.json" &
sub=$!
sleep 0.5
mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -t /sys/a1X2/pump-7/thing/event/property/post_reply \
    -m '{"code":6207,"id":"123","message":"request parameter error"}'
wait "$sub" || { cat "$work/run.log"; echo "FAIL: no event within 20 s"; exit 1; }
python3 - "$work/event.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
assert e["vendor"] == "aliyun" and e["code"] == "6207" and e["known"], e
assert e["device"] == {"product_key": "a1X2", "device_name": "pump-7"}, e["device"]
print("event:", e["vendor"], e["code"], e["category"], e["severity"], "-", e["message"][:60])
PY

kill -TERM -- "-$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then echo "FAIL: run.sh still running 10 s after SIGTERM"; exit 1; fi
pid=""
if timeout 2 mosquitto_pub -h 127.0.0.1 -p "$port" -t x -n 2>/dev/null; then
    echo "FAIL: the mosquitto run.sh started is still answering"; exit 1
fi
grep -q "info main: terminating" "$work/run.log" || { cat "$work/run.log"; echo "FAIL: no clean stop"; exit 1; }
echo "PASS: run.sh started mosquitto on port $port, enriched one sample, stopped both"
