#!/usr/bin/env bash
# Installs dependencies, builds errbridge and runs the daemon on its default config against
# the broker at 127.0.0.1:1883, starting a local mosquitto there if none answers (and
# stopping it again on exit). Usage: scripts/run.sh [errbridge run options, e.g. -c FILE]
# BUILD_DIR overrides the build directory (default: build/ in the repo).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$repo/build}"

source "$repo/scripts/deps.sh"
errbridge_install_deps

cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 --target errbridge

port="${ERRBRIDGE_BROKER_PORT:-1883}"
broker_answers() {
    timeout 3 mosquitto_pub -h 127.0.0.1 -p "$port" -t errbridge/run-sh/ping -n -q 0 2>/dev/null
}

mosquitto_pid=""
conf=""
config=""
cleanup() {
    [[ -n $mosquitto_pid ]] && kill "$mosquitto_pid" 2>/dev/null
    rm -f "$conf" "$config"
}
trap cleanup EXIT
if broker_answers; then
    echo "run.sh: a broker answers on 127.0.0.1:$port; using it"
else
    conf="$(mktemp --suffix=.conf)"
    printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$port" >"$conf"
    if [[ $(id -u) -eq 0 ]]; then echo "user root" >>"$conf"; fi
    broker_log="${TMPDIR:-/tmp}/errbridge-run-mosquitto.log"
    mosquitto -c "$conf" >"$broker_log" 2>&1 &
    mosquitto_pid=$!
    for _ in $(seq 50); do broker_answers && break; sleep 0.1; done
    broker_answers || { echo "run.sh: mosquitto did not start" >&2; exit 1; }
    echo "run.sh: started mosquitto on 127.0.0.1:$port (pid $mosquitto_pid, log $broker_log)"
fi

args=("$@")
if [[ $port != 1883 && ! " $* " =~ " -c " ]]; then
    # The default config with the broker address changed (no [[route]]: the default routes).
    config="$(mktemp --suffix=.toml)"
    printf '[broker]\nuri = "tcp://127.0.0.1:%s"\n[metrics]\nlisten = "%s"\n' \
        "$port" "${ERRBRIDGE_METRICS_LISTEN:-127.0.0.1:9102}" >"$config"
    args=(-c "$config" "$@")
fi

echo "run.sh: watch the events with:  mosquitto_sub -h 127.0.0.1 -p $port -t 'errors/#' -v"
# Not exec: the trap must stop our mosquitto when errbridge exits (Ctrl-C stops both).
"$build/bridge/errbridge" run "${args[@]}"
