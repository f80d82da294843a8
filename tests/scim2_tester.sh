#!/usr/bin/env bash
# Run the independent SCIM compliance checker scim2-tester against scimulator.
#
#   tests/scim2_tester.sh [extra args for tests/scim2_tester.py, e.g. --verbose --trace]
#
# Creates (or reuses) a venv with the pinned packages of
# tests/scim2-tester-requirements.txt, builds the release binary, starts
# `scimulator serve` on a free loopback port, runs tests/scim2_tester.py
# against it and exits with its status. Prints "N passed, N failed".
#
# Environment:
#   SCIM2_VENV     venv directory (default: target/scim2-venv)
#   SCIM2_PYTHON   interpreter used to create the venv (default: python3, needs >= 3.11)
#   SCIM2_TOKEN    bearer token for the server (default: a random one)
#   SCIM2_SKIP_BUILD=1  do not run `cargo build --release`
#   SCIMULATOR_BIN path of the server binary (default: target/release/scimulator)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="${SCIM2_VENV:-target/scim2-venv}"
PYTHON="${SCIM2_PYTHON:-python3}"
REQS="tests/scim2-tester-requirements.txt"
BIN="${SCIMULATOR_BIN:-${CARGO_TARGET_DIR:-target}/release/scimulator}"
STARTUP_TIMEOUT_S=30

log() { echo "scim2_tester.sh: $*" >&2; }

# --- venv with pinned scim2-tester -------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    log "creating venv $VENV"
    mkdir -p "$(dirname "$VENV")"
    "$PYTHON" -m venv "$VENV"
fi
REQS_HASH="$(sha256sum "$REQS" | cut -d' ' -f1)"
STAMP="$VENV/.scim2-requirements.sha256"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$REQS_HASH" ]; then
    log "installing $REQS into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS"
    echo "$REQS_HASH" > "$STAMP"
fi

# --- build ----------------------------------------------------------------------
if [ "${SCIM2_SKIP_BUILD:-0}" != "1" ]; then
    log "cargo build --release"
    cargo build --release
fi
if [ ! -x "$BIN" ]; then
    log "missing $BIN"
    exit 1
fi

# --- start the server -------------------------------------------------------------
TOKEN="${SCIM2_TOKEN:-scim2-tester-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')}"
WORKDIR="$(mktemp -d "${TMPDIR:-/tmp}/scim2-tester.XXXXXX")"
SERVER_OUT="$WORKDIR/server.stdout"
SERVER_ERR="$WORKDIR/server.stderr"
SERVER_PID=""

cleanup() {
    local status=$?
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        # Give it a moment to exit cleanly, then force.
        for _ in $(seq 1 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORKDIR"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$BIN" serve --listen 127.0.0.1:0 --token "$TOKEN" >"$SERVER_OUT" 2>"$SERVER_ERR" &
SERVER_PID=$!

# Wait for the first stdout line, which carries the base URL.
BASE_URL=""
deadline=$((SECONDS + STARTUP_TIMEOUT_S))
while [ "$SECONDS" -lt "$deadline" ]; do
    if [ -s "$SERVER_OUT" ]; then
        BASE_URL="$(head -n 1 "$SERVER_OUT" | grep -o 'http://[^ ]*' | head -n 1 || true)"
        [ -n "$BASE_URL" ] && break
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        log "server exited before printing its URL"
        cat "$SERVER_OUT" "$SERVER_ERR" >&2 || true
        exit 1
    fi
    sleep 0.1
done
if [ -z "$BASE_URL" ]; then
    log "no base URL on the server's stdout after ${STARTUP_TIMEOUT_S}s"
    cat "$SERVER_OUT" "$SERVER_ERR" >&2 || true
    exit 1
fi
log "server pid $SERVER_PID at $BASE_URL"

# --- run the checks -------------------------------------------------------------------
set +e
"$VENV/bin/python" tests/scim2_tester.py --url "$BASE_URL" --token "$TOKEN" "$@"
STATUS=$?
set -e
if [ "$STATUS" -ne 0 ] && [ -s "$SERVER_ERR" ]; then
    log "server stderr (last 50 lines):"
    tail -n 50 "$SERVER_ERR" >&2 || true
fi
exit "$STATUS"
