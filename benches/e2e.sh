#!/usr/bin/env bash
# shellcheck disable=SC2154 # variables named at run time (printf -v) in benches/common.sh
# End-to-end comparison: our HTTP hello-world and WebSocket echo servers on the driver beside
# hyper 1.x (tokio current-thread), fastwebsockets (tokio current-thread), synchronous
# tungstenite and Node (`http`, `ws`), each on one core with the load generator on the other,
# interleaved, in one run; and, in the tokio mode, our HTTP hello-world and WebSocket echo on
# the tokio driver (benches/src/bin/tokio-hello.rs and tokio-ws-echo.rs, current-thread
# runtime) beside hyper and fastwebsockets on the same runtime.
#
#   bash benches/e2e.sh [http|ws|tokio|all]    (default all)
#
# HTTP: wrk (installed from Debian if missing), keep-alive (-c CONNECTIONS) and pipelined
# (depth 16, a wrk Lua script), requests/s; hyper runs with `pipeline_flush` on (its switch for
# pipelined load) and, in the pipelined table only, also as `hyper_default` without it.
# WebSocket: benches/src/bin/ws-load, each connection sending a message and waiting for its
# echo, messages/s; one table for each message size of WS_SIZES and connection count of
# WS_CONNECTIONS (by default 32 B and 16 KiB, 50 and 200 connections). Every run is
# SECONDS long, ROUNDS rounds interleaved (ours, peer, peer, ours, ...) after a 1 s warm-up
# each; medians are compared, of the rates and of the rates per second of the server's own CPU
# time (from /proc/PID/stat: the measure that stands when other work shares the core).
# Ratios are ours / theirs: above 1 means sansnet is faster. The last line of the HTTP mode is
#   e2e: sansnet/hyper=R1 sansnet/node=R2 pipelined sansnet/hyper=R3
# and of the WebSocket mode (each ratio the lowest over that peer's WebSocket tables)
#   e2e ws: sansnet/fastwebsockets=R1 sansnet/tungstenite=R2 sansnet/node=R3
# and of the tokio mode (keep-alive, then pipelined; both servers on tokio's current-thread
# runtime, hyper with `pipeline_flush`), after the line of its WebSocket tables (the same
# ws-load tables as the WebSocket mode, sansnet-tokio beside fastwebsockets, both on tokio's
# current-thread runtime; the lowest ratio over the tables)
#   e2e tokio ws: sansnet-tokio/fastwebsockets=R3
#   e2e tokio: sansnet-tokio/hyper-current-thread=R1 pipelined sansnet-tokio/hyper-current-thread=R2
# Settings (environment): E2E_SECONDS (5), E2E_ROUNDS (3), E2E_CONNECTIONS (64), E2E_DEPTH
# (16), WS_CONNECTIONS ("50 200"), WS_SIZES ("32 16384", bytes, at most 65535), SERVER_CPU
# (0), LOAD_CPU (1), SANSNET_BIN_DIR (use binaries built earlier). Servers are killed on exit;
# the run stops by itself (about 4 x (ROUNDS + 1) x SECONDS seconds for HTTP plus
# 4 x (ROUNDS + 1) x SECONDS for each WebSocket table; for the tokio mode
# 2 x 2 x (ROUNDS + 1) x SECONDS for HTTP plus 2 x (ROUNDS + 1) x SECONDS for each WebSocket
# table; plus the build).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=benches/common.sh
. benches/common.sh

MODE=${1:-all}
case $MODE in http | ws | tokio | all) ;; *) die "usage: e2e.sh [http|ws|tokio|all]" ;; esac
SECONDS_PER_RUN=${E2E_SECONDS:-5}
ROUNDS=${E2E_ROUNDS:-3}
CONNECTIONS=${E2E_CONNECTIONS:-64}
DEPTH=${E2E_DEPTH:-16}
read -r -a WS_CONNECTION_COUNTS <<<"${WS_CONNECTIONS:-50 200}"
read -r -a WS_MESSAGE_SIZES <<<"${WS_SIZES:-32 16384}"

command -v taskset >/dev/null 2>&1 || { apt-get update && apt-get install -y util-linux; }
if [ "$MODE" != ws ]; then
  command -v wrk >/dev/null 2>&1 || { apt-get update && apt-get install -y wrk; }
fi
need_node
[ "$MODE" = http ] || [ "$MODE" = tokio ] || need_node_ws
build
machine

# wrk sends DEPTH requests in one write and counts each response (wrk's pipeline example).
cat >"$WORK/pipeline.lua" <<'LUA'
init = function(args)
  local depth = tonumber(args[1]) or 16
  local requests = {}
  for i = 1, depth do
    requests[i] = wrk.format(nil, "/")
  end
  batch = table.concat(requests)
end
request = function()
  return batch
end
LUA

# cpu_ticks NAME: user + system clock ticks the server NAME has used so far (all its threads).
cpu_ticks() {
  local pid_var=PID_$1
  awk '{ print $14 + $15 }' "/proc/${!pid_var}/stat"
}

# per_cpu COUNT TICKS: COUNT per second of the server's CPU time (0 when it used none).
per_cpu() {
  awk -v n="$1" -v t="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", (t > 0 ? n * hz / t : 0) }'
}

# wrk_rate NAME SECONDS [pipelined]: "requests/s requests-per-server-CPU-second" of one wrk run
# against server NAME; fails on any non-2xx response or connect/read/write error, since the
# rate would then not be of hello-worlds. Requests slower than wrk's 10 s timeout (a machine
# stalled by other work) are counted and shown, not fatal.
wrk_rate() {
  local addr_var=ADDR_$1 seconds=$2 mode=${3:-}
  local url=http://${!addr_var}/ out before after
  before=$(cpu_ticks "$1")
  if [ "$mode" = pipelined ]; then
    out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"${seconds}s" --timeout 10s \
      -s "$WORK/pipeline.lua" "$url" -- "$DEPTH")
  else
    out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"${seconds}s" --timeout 10s "$url")
  fi
  after=$(cpu_ticks "$1")
  if grep -qE 'Non-2xx|Socket errors: connect ([1-9]|0, read [1-9]|0, read 0, write [1-9])' <<<"$out"; then
    die "wrk against $1 reported errors:"$'\n'"$out"
  fi
  if grep -q 'Socket errors' <<<"$out"; then
    echo "warning: wrk against $1: $(grep 'Socket errors' <<<"$out" | sed 's/^ *//')" >&2
  fi
  echo "$(awk '/^Requests\/sec:/{print $2}' <<<"$out")" \
    "$(per_cpu "$(awk '/ requests in /{print $1}' <<<"$out")" $((after - before)))"
}

# ws_rate NAME SECONDS CONNECTIONS SIZE: "messages/s messages-per-server-CPU-second" of one
# ws-load run.
ws_rate() {
  local addr_var=ADDR_$1 out before after
  before=$(cpu_ticks "$1")
  out=$(taskset -c "$LOAD_CPU" "$BIN/ws-load" "${!addr_var}" "$3" "$2" "$4")
  after=$(cpu_ticks "$1")
  echo "$(awk '/^messages\/s:/{print $2}' <<<"$out")" \
    "$(per_cpu "$(awk '/^messages:/{print $2}' <<<"$out")" $((after - before)))"
}

# run_table TITLE RATE_FUNCTION SERVERS... [-- EXTRA ARGS]: ROUNDS interleaved runs of each
# server; prints a row each and sets MEDIAN_<server> (rate) and CPU_<server> (per CPU-second).
run_table() {
  local title=$1 rate=$2
  shift 2
  local servers=() extra=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    servers+=("$1")
    shift
  done
  [ $# -gt 0 ] && shift && extra=("$@")
  local s
  for s in "${servers[@]}"; do
    "$rate" "$s" 1 "${extra[@]}" >/dev/null # warm-up (Node's JIT, caches, TCP buffers)
    : >"$WORK/$s.rates"
  done
  for _ in $(seq "$ROUNDS"); do
    for s in "${servers[@]}"; do
      "$rate" "$s" "$SECONDS_PER_RUN" "${extra[@]}" >>"$WORK/$s.rates"
    done
  done
  echo
  echo "== $title"
  printf '%-14s %9s %11s   %s\n' server median per-CPU-s "runs (rate/per-CPU-s)"
  for s in "${servers[@]}"; do
    local rates cpus
    mapfile -t rates < <(awk '{print $1}' "$WORK/$s.rates")
    mapfile -t cpus < <(awk '{print $2}' "$WORK/$s.rates")
    printf -v "MEDIAN_$s" '%s' "$(median "${rates[@]}")"
    printf -v "CPU_$s" '%s' "$(median "${cpus[@]}")"
    local m=MEDIAN_$s c=CPU_$s
    printf '%-14s %9s %11s   %s\n' "$s" "${!m}" "${!c}" \
      "$(awk '{printf "%.0f/%s ", $1, $2}' "$WORK/$s.rates")"
  done
}

if [ "$MODE" = http ] || [ "$MODE" = all ]; then
  start_server sansnet "$BIN/examples/hello"
  start_server hyper "$BIN/hyper-hello"
  start_server node node benches/peers/http-hello.mjs
  # hyper as configured by default (no `pipeline_flush`), for the pipelined table only.
  start_server hyper_default "$BIN/hyper-hello" --no-pipeline-flush
  run_table "HTTP keep-alive: wrk -t1 -c$CONNECTIONS, ${SECONDS_PER_RUN}s x $ROUNDS, requests/s" \
    wrk_rate sansnet hyper node
  KA_HYPER=$(ratio "$MEDIAN_sansnet" "$MEDIAN_hyper")
  KA_NODE=$(ratio "$MEDIAN_sansnet" "$MEDIAN_node")
  KA_CPU="sansnet/hyper=$(ratio "$CPU_sansnet" "$CPU_hyper") sansnet/node=$(ratio "$CPU_sansnet" "$CPU_node")"
  run_table "HTTP pipelined (depth $DEPTH): wrk -t1 -c$CONNECTIONS, ${SECONDS_PER_RUN}s x $ROUNDS, requests/s" \
    wrk_rate sansnet hyper hyper_default node -- pipelined
  PIPE_HYPER=$(ratio "$MEDIAN_sansnet" "$MEDIAN_hyper")
  PIPE_HYPER_DEFAULT=$(ratio "$MEDIAN_sansnet" "$MEDIAN_hyper_default")
  PIPE_NODE=$(ratio "$MEDIAN_sansnet" "$MEDIAN_node")
  PIPE_CPU="sansnet/hyper=$(ratio "$CPU_sansnet" "$CPU_hyper") sansnet/hyper_default=$(ratio "$CPU_sansnet" "$CPU_hyper_default") sansnet/node=$(ratio "$CPU_sansnet" "$CPU_node")"
  stop_server hyper
  stop_server hyper_default
  stop_server node
fi

# lowest A B: the smaller of two ratios (B when A is empty).
lowest() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b + 0 < a + 0) print b; else print a }'
}

if [ "$MODE" = tokio ] || [ "$MODE" = all ]; then
  start_server sansnet_tokio "$BIN/tokio-hello"
  start_server hyper_tokio "$BIN/hyper-hello"
  run_table "HTTP keep-alive, tokio current-thread: wrk -t1 -c$CONNECTIONS, ${SECONDS_PER_RUN}s x $ROUNDS, requests/s" \
    wrk_rate sansnet_tokio hyper_tokio
  TOKIO_KA=$(ratio "$MEDIAN_sansnet_tokio" "$MEDIAN_hyper_tokio")
  TOKIO_KA_CPU=$(ratio "$CPU_sansnet_tokio" "$CPU_hyper_tokio")
  run_table "HTTP pipelined (depth $DEPTH), tokio current-thread: wrk -t1 -c$CONNECTIONS, ${SECONDS_PER_RUN}s x $ROUNDS, requests/s" \
    wrk_rate sansnet_tokio hyper_tokio -- pipelined
  TOKIO_PIPE=$(ratio "$MEDIAN_sansnet_tokio" "$MEDIAN_hyper_tokio")
  TOKIO_PIPE_CPU=$(ratio "$CPU_sansnet_tokio" "$CPU_hyper_tokio")
  stop_server sansnet_tokio
  stop_server hyper_tokio
  # The WebSocket echo on the same runtime: the ws mode's tables, the two tokio servers only.
  start_server sansnet_tokio "$BIN/tokio-ws-echo"
  start_server fastwebsockets "$BIN/fastwebsockets-echo"
  TOKIO_WS="" TOKIO_WS_CPU=""
  for ws_size in "${WS_MESSAGE_SIZES[@]}"; do
    for ws_connections in "${WS_CONNECTION_COUNTS[@]}"; do
      run_table "WebSocket echo, tokio current-thread: ws-load, $ws_connections connections, $ws_size B messages, ${SECONDS_PER_RUN}s x $ROUNDS, messages/s" \
        ws_rate sansnet_tokio fastwebsockets -- "$ws_connections" "$ws_size"
      TOKIO_WS=$(lowest "$TOKIO_WS" "$(ratio "$MEDIAN_sansnet_tokio" "$MEDIAN_fastwebsockets")")
      TOKIO_WS_CPU=$(lowest "$TOKIO_WS_CPU" "$(ratio "$CPU_sansnet_tokio" "$CPU_fastwebsockets")")
    done
  done
  stop_server sansnet_tokio
  stop_server fastwebsockets
fi

if [ "$MODE" = ws ] || [ "$MODE" = all ]; then
  [ "$MODE" = ws ] && start_server sansnet "$BIN/examples/hello"
  start_server fastwebsockets "$BIN/fastwebsockets-echo"
  start_server tungstenite "$BIN/tungstenite-echo"
  start_server node_ws node benches/peers/ws-echo.mjs
  WS_FWS="" WS_TUNGSTENITE="" WS_NODE=""
  WS_CPU_FWS="" WS_CPU_TUNGSTENITE="" WS_CPU_NODE=""
  for ws_size in "${WS_MESSAGE_SIZES[@]}"; do
    for ws_connections in "${WS_CONNECTION_COUNTS[@]}"; do
      run_table "WebSocket echo: ws-load, $ws_connections connections, $ws_size B messages, ${SECONDS_PER_RUN}s x $ROUNDS, messages/s" \
        ws_rate sansnet fastwebsockets tungstenite node_ws -- "$ws_connections" "$ws_size"
      WS_FWS=$(lowest "$WS_FWS" "$(ratio "$MEDIAN_sansnet" "$MEDIAN_fastwebsockets")")
      WS_TUNGSTENITE=$(lowest "$WS_TUNGSTENITE" "$(ratio "$MEDIAN_sansnet" "$MEDIAN_tungstenite")")
      WS_NODE=$(lowest "$WS_NODE" "$(ratio "$MEDIAN_sansnet" "$MEDIAN_node_ws")")
      WS_CPU_FWS=$(lowest "$WS_CPU_FWS" "$(ratio "$CPU_sansnet" "$CPU_fastwebsockets")")
      WS_CPU_TUNGSTENITE=$(lowest "$WS_CPU_TUNGSTENITE" "$(ratio "$CPU_sansnet" "$CPU_tungstenite")")
      WS_CPU_NODE=$(lowest "$WS_CPU_NODE" "$(ratio "$CPU_sansnet" "$CPU_node_ws")")
    done
  done
  WS_CPU="sansnet/fastwebsockets=$WS_CPU_FWS sansnet/tungstenite=$WS_CPU_TUNGSTENITE sansnet/node=$WS_CPU_NODE"
fi

echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ratios are sansnet's median rate / the peer's: above 1 means sansnet is faster;"
echo "per CPU-second ratios divide by each server's own CPU time, so work of other processes"
echo "on the server's core (which lowers rates) cancels out"
if [ "$MODE" = tokio ] || [ "$MODE" = all ]; then
  echo "e2e tokio per CPU-second: sansnet-tokio/hyper-current-thread=$TOKIO_KA_CPU" \
    "pipelined sansnet-tokio/hyper-current-thread=$TOKIO_PIPE_CPU"
  echo "e2e tokio ws per CPU-second (lowest over the tables): sansnet-tokio/fastwebsockets=$TOKIO_WS_CPU"
fi
if [ "$MODE" = ws ] || [ "$MODE" = all ]; then
  echo "e2e ws per CPU-second (lowest over the tables): $WS_CPU"
fi
if [ "$MODE" = http ] || [ "$MODE" = all ]; then
  echo "e2e keep-alive per CPU-second: $KA_CPU"
  echo "e2e pipelined per CPU-second: $PIPE_CPU"
fi
if [ "$MODE" = ws ] || [ "$MODE" = all ]; then
  echo "e2e ws: sansnet/fastwebsockets=$WS_FWS sansnet/tungstenite=$WS_TUNGSTENITE sansnet/node=$WS_NODE"
fi
if [ "$MODE" = tokio ] || [ "$MODE" = all ]; then
  echo "e2e tokio ws: sansnet-tokio/fastwebsockets=$TOKIO_WS"
  echo "e2e tokio: sansnet-tokio/hyper-current-thread=$TOKIO_KA" \
    "pipelined sansnet-tokio/hyper-current-thread=$TOKIO_PIPE"
fi
if [ "$MODE" = http ] || [ "$MODE" = all ]; then
  echo "e2e pipelined: sansnet/node=$PIPE_NODE sansnet/hyper_default=$PIPE_HYPER_DEFAULT" \
    "(hyper_default: hyper without pipeline_flush)"
  echo "e2e: sansnet/hyper=$KA_HYPER sansnet/node=$KA_NODE pipelined sansnet/hyper=$PIPE_HYPER"
fi
