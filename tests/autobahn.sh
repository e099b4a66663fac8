#!/usr/bin/env bash
# Autobahn|Testsuite against sansnet's WebSocket, both roles; called by .ci/run.
#
#   bash tests/autobahn.sh
#
# Installs the suite with ../shared/tools/autobahn/setup.sh (venv: $AUTOBAHN_VENV, default
# /tmp/autobahn-venv), builds the examples autobahn-server and autobahn-client in release,
# runs the server suite (wstest fuzzingclient) against autobahn-server and the client suite
# (wstest fuzzingserver) with autobahn-client as the agent, all 517 cases each, permessage-deflate
# (sections 12 and 13) included; AUTOBAHN_CASES / AUTOBAHN_EXCLUDE select fewer. The two roles
# run at the same time (sections 12-13 take minutes per role, mostly in the suite's own Python;
# AUTOBAHN_PARALLEL=0 runs them one after the other). Reports land in
# target/autobahn/{server,client}; the printed summaries are copied to
# tests/data/autobahn/{server,client}-summary.txt.
#
# AUTOBAHN_DRIVER=tokio runs the same suites against sansnet-tokio's examples
# tokio-autobahn-{server,client} (drivers/tokio/examples/autobahn-{server,client}.rs, the same
# command-line contract) instead of sansnet-mio's; their reports
# land in target/autobahn/tokio-{server,client} and their summaries in
# tests/data/autobahn/tokio-{server,client}-summary.txt.
#
# Exit status: non-zero when a case is FAILED, UNIMPLEMENTED, NON-STRICT or missing, or a run
# did not finish; 0 otherwise, and 0 (with a note) when ../shared is not beside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS=../shared/tools/autobahn
if [[ ! -x "$TOOLS/setup.sh" ]]; then
  echo "autobahn: no $TOOLS beside the repository: Autobahn|Testsuite not run here"
  exit 0
fi
export AUTOBAHN_EXCLUDE="${AUTOBAHN_EXCLUDE-}"
PARALLEL="${AUTOBAHN_PARALLEL:-1}"
DRIVER="${AUTOBAHN_DRIVER:-mio}"
case "$DRIVER" in
  mio) PACKAGE=sansnet-mio PREFIX="" ;;
  # Its examples are named tokio-autobahn-{server,client} (drivers/tokio/Cargo.toml).
  tokio) PACKAGE=sansnet-tokio PREFIX="tokio-" ;;
  *) echo "autobahn: AUTOBAHN_DRIVER must be mio or tokio, not $DRIVER" >&2; exit 2 ;;
esac
DATA=tests/data/autobahn
OUT=target/autobahn
mkdir -p "$DATA" "$OUT"

# setup.sh builds a venv with python3 (-m venv); Debian splits venv into python3-venv.
if ! command -v python3 >/dev/null 2>&1; then
  apt-get update && apt-get install -y python3 python3-venv
fi
"$TOOLS/setup.sh"
cargo build --release --locked -p "$PACKAGE" --example "${PREFIX}autobahn-server" --example "${PREFIX}autobahn-client"
SERVER_BIN="${CARGO_TARGET_DIR:-target}/release/examples/${PREFIX}autobahn-server"
CLIENT_BIN="${CARGO_TARGET_DIR:-target}/release/examples/${PREFIX}autobahn-client"
VENV="${AUTOBAHN_VENV:-/tmp/autobahn-venv}"

SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT

# Whether a run's summary.json has no FAILED, UNIMPLEMENTED, NON-STRICT or missing case.
verdict() {
  "$VENV/bin/python" - "$1/summary.json" <<'EOF'
import json, sys
try:
    summary = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    sys.exit("no summary.json")
bad = []
for agent, a in summary.get("agents", {}).items():
    for verdict in ("FAILED", "UNIMPLEMENTED", "NON-STRICT"):
        if a["counts"].get(verdict):
            bad.append("%s %d %s" % (agent, a["counts"][verdict], verdict))
    if a.get("missing"):
        bad.append("%s %d MISSING" % (agent, len(a["missing"])))
if not summary.get("agents"):
    bad.append("no agent in the report")
if bad:
    sys.exit("; ".join(bad))
EOF
}

status=0

# ---- server suite: wstest connects to autobahn-server on an OS-chosen port ----------------
server_suite() {
  local start=$SECONDS rc=0 port=""
  trap cleanup EXIT
  "$SERVER_BIN" 127.0.0.1:0 > "$OUT/${PREFIX}server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do
    port="$(sed -n 's/^listening ws 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$OUT/${PREFIX}server.log")"
    [[ -n "$port" ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z "$port" ]]; then
    echo "autobahn: autobahn-server did not start:"
    cat "$OUT/${PREFIX}server.log"
    return 1
  fi
  "$TOOLS/run-server-suite.sh" 127.0.0.1 "$port" "$OUT/${PREFIX}server" > "$OUT/${PREFIX}server-summary.txt" 2>&1 || rc=$?
  cleanup
  SERVER_PID=""
  cat "$OUT/${PREFIX}server-summary.txt"
  grep -v '^autobahn setup:\|^run-server-suite: fuzzingclient' "$OUT/${PREFIX}server-summary.txt" \
    > "$DATA/${PREFIX}server-summary.txt" || true
  echo "autobahn: server suite took $((SECONDS - start)) s (exit $rc)"
  [[ $rc -eq 0 ]]
}

# ---- client suite: autobahn-client is the agent of wstest's fuzzing server ----------------
client_suite() {
  local start=$SECONDS rc=0 client_port
  client_port="$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  # 60 s per case, the example's default: the slowest (section 12's 1000 compressed messages
  # of 128 KiB) take 12-14 s on a 2-core machine while the suite's own server is busy, and a
  # case that hangs costs no more than this.
  "$TOOLS/run-client-suite.sh" "$client_port" "$OUT/${PREFIX}client" "$CLIENT_BIN" --case-timeout 60 '{url}' \
    > "$OUT/${PREFIX}client-summary.txt" 2>&1 || rc=$?
  cat "$OUT/${PREFIX}client-summary.txt"
  grep -v '^autobahn setup:\|^run-client-suite: fuzzingserver' "$OUT/${PREFIX}client-summary.txt" \
    > "$DATA/${PREFIX}client-summary.txt" || true
  echo "autobahn: client suite took $((SECONDS - start)) s (exit $rc; agent log: $OUT/${PREFIX}client/agent.log)"
  [[ $rc -eq 0 ]]
}

echo "autobahn: $PACKAGE, server and client suites (excluding ${AUTOBAHN_EXCLUDE:-nothing}; parallel: $PARALLEL)"
server_rc=0
client_rc=0
if [[ "$PARALLEL" == 1 ]]; then
  # Each role's output goes to its own file and is printed whole once both are done.
  ( server_suite ) > "$OUT/${PREFIX}server-run.txt" 2>&1 &
  server_job=$!
  ( client_suite ) > "$OUT/${PREFIX}client-run.txt" 2>&1 &
  client_job=$!
  wait "$server_job" || server_rc=$?
  wait "$client_job" || client_rc=$?
  cat "$OUT/${PREFIX}server-run.txt" "$OUT/${PREFIX}client-run.txt"
else
  server_suite || server_rc=$?
  client_suite || client_rc=$?
fi
if [[ $server_rc -ne 0 ]] || ! verdict "$OUT/${PREFIX}server"; then
  echo "autobahn: server suite NOT passed" >&2
  status=1
fi
if [[ $client_rc -ne 0 ]] || ! verdict "$OUT/${PREFIX}client"; then
  echo "autobahn: client suite NOT passed" >&2
  status=1
fi

exit "$status"
