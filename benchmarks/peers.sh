#!/usr/bin/env bash
# Scratch environment for the servers Haneul is compared with (moto, ministack) and for wrk.
# They live in benchmarks/.peers/venv (gitignored) and are never project dependencies.
#
#   benchmarks/peers.sh setup               install wrk (Debian) and the peers' venv
#   benchmarks/peers.sh start moto [PORT]   start a peer in the background on PORT (default:
#                                           a free one); prints "PID PORT" once it answers
#   benchmarks/peers.sh stop PID            stop a peer started with start
#   benchmarks/peers.sh versions            print the installed peers' versions
#
# Or source it and call peers_setup / peers_start / peers_wait / peers_stop yourself.

PEERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/.peers"
PEERS_VENV="$PEERS_DIR/venv"

peers_setup() {
    if ! command -v wrk >/dev/null 2>&1; then
        apt-get update -qq && apt-get install -y -qq wrk >/dev/null || return 1
    fi
    if [ ! -x "$PEERS_VENV/bin/python" ]; then
        python3 -m venv "$PEERS_VENV" || return 1
    fi
    if [ ! -x "$PEERS_VENV/bin/moto_server" ] || [ ! -x "$PEERS_VENV/bin/ministack" ]; then
        "$PEERS_VENV/bin/pip" install -q 'moto[server]' ministack || return 1
    fi
    peers_versions
}

peers_versions() {
    "$PEERS_VENV/bin/pip" list 2>/dev/null | grep -iE '^(moto|ministack) '
    wrk --version 2>&1 | head -1
}

peers_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# peers_wait PORT [SECONDS]: wait until the server on PORT answers an HTTP request.
peers_wait() {
    local port=$1 limit=${2:-30} waited=0
    until curl -s -o /dev/null "http://127.0.0.1:$port/"; do
        sleep 0.1
        waited=$((waited + 1))
        if [ "$waited" -ge $((limit * 10)) ]; then return 1; fi
    done
    return 0
}

# peers_start NAME [PORT]: start moto or ministack in its own session, logs in .peers/NAME.log.
peers_start() {
    local name=$1 port=${2:-$(peers_free_port)} pid
    case "$name" in
        moto) setsid "$PEERS_VENV/bin/moto_server" -p "$port" >"$PEERS_DIR/moto.log" 2>&1 &
              pid=$! ;;
        ministack) GATEWAY_PORT="$port" setsid "$PEERS_VENV/bin/ministack" >"$PEERS_DIR/ministack.log" 2>&1 &
              pid=$! ;;
        *) echo "unknown peer: $name (moto, ministack)" >&2; return 2 ;;
    esac
    if ! peers_wait "$port" 30; then
        echo "$name did not answer on port $port; see $PEERS_DIR/$name.log" >&2
        kill -- "-$pid" 2>/dev/null
        return 1
    fi
    echo "$pid $port"
}

peers_stop() {
    kill -- "-$1" 2>/dev/null || kill "$1" 2>/dev/null
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -u
    command=${1:-setup}
    shift || true
    case "$command" in
        setup) peers_setup ;;
        start) peers_start "$@" ;;
        stop) peers_stop "$@" ;;
        versions) peers_versions ;;
        *) sed -n '2,12p' "$0"; exit 2 ;;
    esac
fi
