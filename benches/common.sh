# shellcheck shell=bash
# Shared by benches/e2e.sh and benches/memory.sh (sourced, not run): tools, the build, servers
# pinned to one core with their cleanup, and medians. Expects to be sourced from the repository
# root with `set -euo pipefail` on.

# The server gets SERVER_CPU; the load generator gets LOAD_CPU (the machine has two cores).
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}

# Scratch files of this run; removed with the servers on any exit.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sansnet-bench.XXXXXX")
PIDS=()

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
  echo "$(basename "$0"): $*" >&2
  exit 1
}

# Node 20+ runs the Node peers; `ws` is installed where the tests put it (target/peers).
need_node() {
  command -v node >/dev/null 2>&1 || { apt-get update && apt-get install -y nodejs; }
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 20 ] || die "Node.js $major found; the Node peers need Node.js 20 or later"
}

need_node_ws() {
  if ! node -e 'require("./target/peers/node_modules/ws")' 2>/dev/null; then
    command -v npm >/dev/null 2>&1 || { apt-get update && apt-get install -y npm; }
    npm install --prefix target/peers --no-audit --no-fund ws@8.23.0
  fi
  export NODE_PATH=$PWD/target/peers/node_modules
}

# Builds our hello server (drivers/mio/examples/hello.rs) and the Rust peers, load tools and
# our tokio-driver hello and WebSocket echo servers (benches/src/bin) in release mode, and sets
# BIN to the directory they are in. SANSNET_BIN_DIR names a cargo release directory built earlier (with examples/hello, hyper-hello, ...) and
# skips the build.
build() {
  if [ -n "${SANSNET_BIN_DIR:-}" ]; then
    BIN=$SANSNET_BIN_DIR
  else
    cargo build --release -p sansnet-benches --bins -p sansnet-mio --example hello >&2
    BIN=${CARGO_TARGET_DIR:-target}/release
  fi
  local tool
  for tool in examples/hello hyper-hello tokio-hello tokio-ws-echo fastwebsockets-echo tungstenite-echo ws-load idle-conns; do
    [ -x "$BIN/$tool" ] || die "no $BIN/$tool"
  done
}

# start_server NAME COMMAND...: starts COMMAND pinned to SERVER_CPU, waits (10 s at most) for
# its `listening <kind> ADDR` line, and sets ADDR_<NAME> and PID_<NAME>.
start_server() {
  local name=$1
  shift
  local log=$WORK/$name.log
  : >"$log"
  taskset -c "$SERVER_CPU" "$@" >"$log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")

  for _ in $(seq 100); do
    grep -q '^listening ' "$log" && break
    kill -0 "$pid" 2>/dev/null || die "$name exited: $(cat "$log")"
    sleep 0.1
  done
  grep -q '^listening ' "$log" || die "$name printed no listening line in 10 s"
  printf -v "ADDR_$name" '%s' "$(awk '/^listening /{print $3; exit}' "$log")"
  printf -v "PID_$name" '%s' "$pid"
}

# stop_server NAME: ends that server (only it: by its pid) and waits for it.
stop_server() {
  local var=PID_$1
  kill "${!var}" 2>/dev/null || true
  wait "${!var}" 2>/dev/null || true
}

# median N...: the median of the numbers.
median() {
  printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
    END { if (NR % 2) printf "%.0f", a[(NR + 1) / 2]; else printf "%.0f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# ratio A B: A / B with two decimals.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "inf" }'
}

# What the numbers were measured on.
machine() {
  echo "machine: $(nproc) cores, $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)," \
    "$(free -g | awk '/^Mem:/{print $2}') GiB; $(uname -sr); $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the numbers)"
}
