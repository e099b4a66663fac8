#!/usr/bin/env bash
# Instructions per keep-alive HTTP request through the server (machine and driver together),
# under callgrind: free of the noise that wall times have on a shared machine.
#
#   bash benches/instructions.sh [BINARY_DIR]      (default: a release build of this tree)
#
# Runs BINARY_DIR/examples/hello under `valgrind --tool=callgrind` twice, serving one
# keep-alive connection that sends FEW and then MANY `GET /` requests (a Python http.client
# loop), and prints the difference in instructions divided by MANY - FEW: the cost of one
# request with start-up and the connection's set-up cancelled out. Settings (environment):
# FEW (500), MANY (2500). Installs valgrind from Debian if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
FEW=${FEW:-500}
MANY=${MANY:-2500}
command -v valgrind >/dev/null 2>&1 || { apt-get update && apt-get install -y valgrind; }
if [ -n "${1:-}" ]; then
  BIN=$1
else
  cargo build --release -p sansnet-mio --example hello >&2
  BIN=${CARGO_TARGET_DIR:-target}/release
fi
WORK=$(mktemp -d)
trap 'kill "${PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

# run N: total instructions of a server that answered N keep-alive requests.
run() {
  local n=$1 out="$WORK/callgrind.$1"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN/examples/hello" 127.0.0.1:0 \
    >"$WORK/log.$n" 2>"$WORK/err.$n" &
  PID=$!
  local addr=""
  for _ in $(seq 1 600); do
    addr=$(sed -n 's/^listening http //p' "$WORK/log.$n" | head -1)
    [ -n "$addr" ] && break
    sleep 0.1
  done
  [ -n "$addr" ] || { cat "$WORK/err.$n" >&2; echo "instructions.sh: the server did not start" >&2; exit 1; }
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

few=$(run "$FEW")
many=$(run "$MANY")
echo "instructions: $few for $FEW requests, $many for $MANY requests"
echo "instructions per keep-alive request: $(((many - few) / (MANY - FEW)))"
