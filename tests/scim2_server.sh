#!/usr/bin/env bash
# Runs every bundled scenario against an independent SCIM server, scim2-server (PyPI), and
# compares the outcome and findings with the ones pinned in tests/scim2-server-expected.txt.
#
#   tests/scim2_server.sh [--update]     (--update rewrites the pinned file)
#
# Environment: SCIM2_SERVER_VENV (default target/scim2-server-venv), SCIM2_PYTHON (python3),
# SCIMULATOR_BIN (default target/release/scimulator), SCIM2_SKIP_BUILD=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${SCIM2_SERVER_VENV:-target/scim2-server-venv}"
PYTHON="${SCIM2_PYTHON:-python3}"
REQS="tests/scim2-server-requirements.txt"
BIN="${SCIMULATOR_BIN:-${CARGO_TARGET_DIR:-target}/release/scimulator}"
log() { echo "scim2_server.sh: $*" >&2; }

if [ ! -x "$VENV/bin/python" ]; then
    log "creating venv $VENV"
    mkdir -p "$(dirname "$VENV")"
    "$PYTHON" -m venv "$VENV"
fi
STAMP="$VENV/.requirements.sha256"
HASH="$(sha256sum "$REQS" | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$HASH" ]; then
    log "installing $REQS"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS"
    echo "$HASH" > "$STAMP"
fi
if [ "${SCIM2_SKIP_BUILD:-0}" != "1" ]; then
    cargo build --release
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/scim2-server.XXXXXX")"
TOKEN="scim2-server-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
PORT="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
SERVER_PID=""
cleanup() {
    status=$?
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT

"$VENV/bin/scim2-server" --hostname 127.0.0.1 --port "$PORT" --bearer-token "$TOKEN" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
URL="http://127.0.0.1:$PORT"
# Wait (bounded) until it answers.
for _ in $(seq 1 150); do
    if "$VENV/bin/python" -c "import urllib.request,sys; urllib.request.urlopen(urllib.request.Request('$URL/ServiceProviderConfig', headers={'Authorization':'Bearer $TOKEN'}), timeout=1)" 2>/dev/null; then
        break
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { log "scim2-server died:"; cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.2
done

set +e
SCIM_TOKEN="$TOKEN" "$BIN" run --target "$URL" --report "$WORK/report" --no-color > "$WORK/run.out" 2>&1
CODE=$?
set -e
# Failing scenarios are expected here (exit 1); 2 or 3 mean the run itself could not happen.
if [ "$CODE" -ne 0 ] && [ "$CODE" -ne 1 ]; then
    log "scimulator run exited $CODE"; cat "$WORK/run.out" >&2; exit 1
fi
"$PYTHON" tests/scim2_server.py "$WORK/report/report.json" tests/scim2-server-expected.txt "$@"
