#!/usr/bin/env bash
# Local S3-compatible server for tests/CI: LocalStack (S3 only), no Docker, offline.
#
#   scripts/s3_server.sh start  [PORT] [DATADIR]   # default 4599 .s3-data
#   scripts/s3_server.sh stop   [PORT] [DATADIR]
#   scripts/s3_server.sh status [PORT] [DATADIR]
#
# boto3: endpoint_url=http://127.0.0.1:PORT, region us-east-1, any dummy
# credentials (e.g. test/test), path-style addressing.
#
# The venv (.venv-s3, override with S3_VENV) is created on first use from
# python3.12 (override with S3_PYTHON) and populated from requirements-s3.txt;
# it is re-synced whenever that file changes. Log: DATADIR/localstack.log,
# pid: DATADIR/localstack.pid. Startup timeout: S3_START_TIMEOUT (default 60 s).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQ="$ROOT/requirements-s3.txt"
VENV="${S3_VENV:-$ROOT/.venv-s3}"
CMD="${1:-}"
PORT="${2:-${S3_PORT:-4599}}"
DATADIR="${3:-${S3_DATADIR:-$ROOT/.s3-data}}"
TIMEOUT="${S3_START_TIMEOUT:-60}"

die() { echo "s3_server: ERROR: $*" >&2; exit 1; }
log() { echo "s3_server: $*" >&2; }

[[ "$PORT" =~ ^[0-9]+$ ]] || die "PORT must be a number, got '$PORT'"
[[ "$CMD" == start ]] && mkdir -p "$DATADIR"
[[ -d "$DATADIR" ]] && DATADIR="$(cd "$DATADIR" && pwd)"
PIDFILE="$DATADIR/localstack.pid"
LOGFILE="$DATADIR/localstack.log"
HEALTH_URL="http://127.0.0.1:$PORT/_localstack/health"

find_python() {
    if [[ -n "${S3_PYTHON:-}" ]]; then echo "$S3_PYTHON"; return; fi
    if command -v python3.12 >/dev/null 2>&1 && python3.12 -c 'import sys' >/dev/null 2>&1; then
        command -v python3.12; return
    fi
    local p
    for p in "$HOME"/.pyenv/versions/3.12*/bin/python3.12; do
        [[ -x "$p" ]] && { echo "$p"; return; }
    done
    return 1
}

ensure_venv() {
    [[ -f "$REQ" ]] || die "missing $REQ"
    if [[ ! -x "$VENV/bin/python" ]]; then
        local py
        py="$(find_python)" || die "Python 3.12 not found (looked for python3.12 on PATH and ~/.pyenv/versions/3.12*/bin/python3.12). Install it or set S3_PYTHON=/path/to/python3.12."
        "$py" -c 'import sys; assert sys.version_info[:2] >= (3, 12), sys.version' \
            || die "$py is not Python >= 3.12 (LocalStack S3 needs 3.12)"
        log "creating $VENV with $py"
        "$py" -m venv "$VENV" || die "venv creation failed"
    fi
    local want have=""
    want="$(sha256sum "$REQ" | cut -d' ' -f1)"
    [[ -f "$VENV/.requirements-s3.sha256" ]] && have="$(cat "$VENV/.requirements-s3.sha256")"
    if [[ "$want" != "$have" ]]; then
        log "installing $REQ into $VENV (one-off, ~1 min)"
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ" \
            || die "pip install -r $REQ failed"
        # Pre-build LocalStack's botocore service-catalog index once (else every
        # fresh DATADIR rebuilds it: ~6 s and ~350 MB extra RSS at startup).
        rm -rf "$VENV/localstack-static"; mkdir -p "$VENV/localstack-static/usr/lib/localstack"
        OVERRIDE_IN_DOCKER=0 FILESYSTEM_ROOT="$VENV/localstack-static" \
            "$VENV/bin/python" -m localstack.aws.spec >/dev/null 2>&1 \
            || log "warning: could not pre-build service catalog (startup will be slower)"
        echo "$want" > "$VENV/.requirements-s3.sha256"
    fi
}

# 0 if a LocalStack with S3 answers on PORT
healthy() {
    "$VENV/bin/python" - "$HEALTH_URL" <<'EOF' 2>/dev/null
import json, sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
        s = json.load(r)["services"]["s3"]
except Exception:
    sys.exit(1)
sys.exit(0 if s in ("running", "available") else 1)
EOF
}

port_in_use() {
    "$VENV/bin/python" -c "import socket,sys; s=socket.socket(); sys.exit(0 if s.connect_ex(('127.0.0.1', $PORT))==0 else 1)"
}

# pid from PIDFILE if it is alive and really our localstack process
our_pid() {
    [[ -f "$PIDFILE" ]] || return 1
    local pid; pid="$(cat "$PIDFILE")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "localstack.runtime.main" || return 1
    echo "$pid"
}

start() {
    ensure_venv
    if healthy; then
        log "already running on 127.0.0.1:$PORT"
        return 0
    fi
    if port_in_use; then
        die "port $PORT is in use by something that is not a healthy LocalStack S3"
    fi
    mkdir -p "$DATADIR/fs/usr/lib/localstack"
    cp -n "$VENV"/localstack-static/usr/lib/localstack/service-catalog-*.dill \
        "$DATADIR/fs/usr/lib/localstack/" 2>/dev/null || true
    : > "$LOGFILE"
    local t0; t0=$(date +%s%N)
    # Offline + quiet: no analytics events, no cert download, no persistence,
    # host (non-docker) directory layout confined to DATADIR.
    env \
        GATEWAY_SERVER=hypercorn \
        GATEWAY_LISTEN="127.0.0.1:$PORT" \
        LOCALSTACK_HOST="127.0.0.1:$PORT" \
        SERVICES=s3 \
        EAGER_SERVICE_LOADING=1 \
        DNS_ADDRESS=0 \
        DISABLE_EVENTS=1 \
        SKIP_SSL_CERT_DOWNLOAD=1 \
        PERSISTENCE=0 \
        OVERRIDE_IN_DOCKER=0 \
        FILESYSTEM_ROOT="$DATADIR/fs" \
        LOCALSTACK_VOLUME_DIR="$DATADIR/fs/volume" \
        LS_LOG="${S3_LOG_LEVEL:-info}" \
        nohup "$VENV/bin/python" -m localstack.runtime.main >>"$LOGFILE" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" > "$PIDFILE"
    local deadline=$(( $(date +%s) + TIMEOUT ))
    until healthy; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 40 "$LOGFILE" >&2 || true
            rm -f "$PIDFILE"
            die "LocalStack exited during startup (log: $LOGFILE)"
        fi
        if (( $(date +%s) >= deadline )); then
            tail -n 40 "$LOGFILE" >&2 || true
            kill "$pid" 2>/dev/null || true
            rm -f "$PIDFILE"
            die "LocalStack not healthy on port $PORT after ${TIMEOUT}s (log: $LOGFILE)"
        fi
        sleep 0.2
    done
    log "up on http://127.0.0.1:$PORT (pid $pid, $(( ($(date +%s%N) - t0) / 1000000 )) ms, log $LOGFILE)"
}

stop() {
    local pid
    if ! pid="$(our_pid)"; then
        rm -f "$PIDFILE"
        if [[ -x "$VENV/bin/python" ]] && healthy; then
            die "a LocalStack answers on port $PORT but it was not started with DATADIR=$DATADIR; not touching it"
        fi
        log "not running (DATADIR=$DATADIR)"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid did not exit after SIGTERM, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
    log "stopped (pid $pid)"
}

status() {
    [[ -x "$VENV/bin/python" ]] || { echo "not installed"; return 1; }
    if healthy; then echo "running on http://127.0.0.1:$PORT"; else echo "not running on port $PORT"; return 1; fi
}

case "$CMD" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status [PORT] [DATADIR]" >&2; exit 2 ;;
esac
