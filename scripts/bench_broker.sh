# Sourced by scripts/bench.sh and scripts/soak.sh: a throwaway mosquitto on a free loopback
# port, tuned for load (no Nagle delay, no queue or in-flight limits, no persistence), so the
# broker is never what a load run measures.

# A TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_bench_broker WORK: writes WORK/mosquitto.conf, starts mosquitto (its log in
# WORK/mosquitto.log) and waits until that process listens. Sets PORT and BROKER_PID; the
# caller's EXIT trap stops it. Exits 1 with the broker's log when it does not come up.
start_bench_broker() {
    local work=$1
    PORT=$(free_port)
    cat >"$work/mosquitto.conf" <<CONF
listener $PORT 127.0.0.1
allow_anonymous true
set_tcp_nodelay true
max_queued_messages 0
max_inflight_messages 0
persistence false
CONF
    [[ $(id -u) -ne 0 ]] || echo "user root" >>"$work/mosquitto.conf"
    /usr/sbin/mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
    BROKER_PID=$!
    # The listener must be this mosquitto's: another process may have taken the port since.
    for _ in $(seq 100); do
        ss -ltnp 2>/dev/null | grep -q "127.0.0.1:$PORT .*pid=$BROKER_PID," && return 0
        kill -0 "$BROKER_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "mosquitto is not listening on 127.0.0.1:$PORT" >&2
    cat "$work/mosquitto.log" >&2
    exit 1
}
