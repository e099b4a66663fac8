#!/usr/bin/env bash
# Instructions per keep-alive HTTP request through the server (machine and driver together),
# ours beside hyper 1.x (current-thread tokio, as in benches/e2e.sh), under callgrind: free of
# the noise that wall times have on a shared machine.
#
#   bash benches/instructions.sh [BINARY_DIR]      (default: a release build of this tree)
#
# Runs BINARY_DIR/examples/hello, BINARY_DIR/tokio-hello (sansnet-tokio, current-thread) and
# BINARY_DIR/hyper-hello under `valgrind --tool=callgrind`
# twice each, serving one keep-alive connection that sends FEW and then MANY `GET /` requests
# (a Python http.client loop), and prints the difference in instructions divided by
# MANY - FEW: the cost of one request with start-up and the connection's set-up cancelled out.
# The line before the last is `instructions per keep-alive request on tokio's current-thread
# runtime: sansnet-tokio=T hyper=B sansnet-tokio/hyper=R`; the last line is
# `instructions per keep-alive request: sansnet=A hyper=B sansnet/hyper=R` (the mio driver).
# Settings (environment): FEW (500), MANY (2500). Installs valgrind from Debian if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
FEW=${FEW:-500}
MANY=${MANY:-2500}
command -v valgrind >/dev/null 2>&1 || { apt-get update && apt-get install -y valgrind; }
if [ -n "${1:-}" ]; then
  BIN=$1
else
  cargo build --release -p sansnet-mio --example hello -p sansnet-benches --bin hyper-hello \
    --bin tokio-hello >&2
  BIN=${CARGO_TARGET_DIR:-target}/release
fi
WORK=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"' EXIT

# run SERVER N: total instructions of SERVER after answering N keep-alive requests.
run() {
  local server=$1 n=$2 out="$WORK/callgrind.$2"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$server" 127.0.0.1:0 \
    >"$WORK/log.$n" 2>"$WORK/err.$n" &
  PID=$!
  local addr=""
  for _ in $(seq 1 600); do
    addr=$(sed -n 's/^listening http //p' "$WORK/log.$n" | head -1)
    [ -n "$addr" ] && break
    sleep 0.1
  done
  [ -n "$addr" ] || { cat "$WORK/err.$n" >&2; echo "instructions.sh: $server did not start" >&2; exit 1; }
  python3 - "$addr" "$n" <<'PY'
import http.client, sys
host, port = sys.argv[1].rsplit(":", 1)
conn = http.client.HTTPConnection(host, int(port))
for _ in range(int(sys.argv[2])):
    conn.request("GET", "/")
    response = conn.getresponse()
    assert response.status == 200 and response.read() == b"Hello, World!"
conn.close()
PY
  kill -TERM "$PID"
  wait "$PID" 2>/dev/null || true
  PID=
  sed -n 's/^summary: //p' "$out" | head -1
}

# per_request SERVER: instructions per request of SERVER.
per_request() {
  local few many
  few=$(run "$1" "$FEW")
  many=$(run "$1" "$MANY")
  echo "$1: $few instructions for $FEW requests, $many for $MANY" >&2
  echo $(((many - few) / (MANY - FEW)))
}

ours=$(per_request "$BIN/examples/hello")
tokio=$(per_request "$BIN/tokio-hello")
hyper=$(per_request "$BIN/hyper-hello")
ratio=$(python3 -c "print(f'{$ours / $hyper:.2f}')")
tokio_ratio=$(python3 -c "print(f'{$tokio / $hyper:.2f}')")
echo "instructions per keep-alive request on tokio's current-thread runtime:" \
  "sansnet-tokio=$tokio hyper=$hyper sansnet-tokio/hyper=$tokio_ratio"
echo "instructions per keep-alive request: sansnet=$ours hyper=$hyper sansnet/hyper=$ratio"
