#!/usr/bin/env bash
# shellcheck disable=SC2154 # variables named at run time (printf -v) in benches/common.sh
# Memory per idle keep-alive connection: our hello server on the mio driver and on the tokio
# driver (benches/src/bin/tokio-hello.rs) beside hyper 1.x (tokio current-thread) and Node's
# `http.createServer`, in one run.
#
#   bash benches/memory.sh
#
# For each server (pinned to SERVER_CPU, keep-alive idle timeout off so that nothing closes
# while it is measured): read VmRSS from /proc/PID/status, let benches/src/bin/idle-conns
# (pinned to LOAD_CPU) open MEM_CONNECTIONS connections and get one response on each, wait a
# second, read VmRSS again; the growth divided by the connections is the KiB per idle
# connection. idle-conns then checks that every connection is still open (else the run
# fails). MEM_ROUNDS rounds, interleaved (ours, ours on tokio, hyper, node, ours, ...);
# medians are compared. Ratios are theirs / ours: above 1 means sansnet holds less. The last
# two lines are
#   memory tokio: sansnet-tokio=T KiB per idle connection; hyper/sansnet-tokio=R
#   memory: sansnet=A hyper=B node=C KiB per idle connection; hyper/sansnet=R1 node/sansnet=R2
# Settings (environment): MEM_CONNECTIONS (10000), MEM_ROUNDS (3), SERVER_CPU (0), LOAD_CPU
# (1), SANSNET_BIN_DIR (use binaries built earlier). Servers are killed on exit; the run stops
# by itself (about MEM_ROUNDS x 3 x 10 seconds plus the build).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=benches/common.sh
. benches/common.sh

CONNECTIONS=${MEM_CONNECTIONS:-10000}
ROUNDS=${MEM_ROUNDS:-3}
HOLD=4

# Each side holds CONNECTIONS descriptors, plus a few; raise the soft limit as far as needed.
want=$((CONNECTIONS + 100))
if [ "$(ulimit -n)" -lt "$want" ]; then
  ulimit -n "$want" 2>/dev/null ||
    die "ulimit -n $want refused (hard limit $(ulimit -Hn)); set MEM_CONNECTIONS lower"
fi
command -v taskset >/dev/null 2>&1 || { apt-get update && apt-get install -y util-linux; }
need_node
build
machine
echo "open files limit: $(ulimit -n)"

rss_kib() {
  awk '/^VmRSS:/{print $2}' "/proc/$1/status"
}

# measure NAME COMMAND...: starts the server, opens the connections, prints KiB per connection.
measure() {
  local name=$1
  shift
  start_server "$name" "$@"
  local pid_var=PID_$name addr_var=ADDR_$name
  local pid=${!pid_var}
  sleep 0.5
  local before after
  before=$(rss_kib "$pid")
  local log=$WORK/$name.client
  taskset -c "$LOAD_CPU" "$BIN/idle-conns" "${!addr_var}" "$CONNECTIONS" "$HOLD" >"$log" 2>&1 &
  local client=$!
  PIDS+=("$client")

  for _ in $(seq 600); do
    grep -q '^ready ' "$log" && break
    kill -0 "$client" 2>/dev/null || break
    sleep 0.1
  done
  grep -q '^ready ' "$log" || die "$name: idle-conns did not get ready: $(cat "$log")"
  sleep 1
  after=$(rss_kib "$pid")
  wait "$client" || die "$name: $(cat "$log")"
  stop_server "$name"
  echo "$name: VmRSS $before KiB idle, $after KiB with $CONNECTIONS connections; $(tail -n 1 "$log")" >&2
  awk -v a="$after" -v b="$before" -v n="$CONNECTIONS" 'BEGIN { printf "%.2f\n", (a - b) / n }'
}

servers=(sansnet sansnet_tokio hyper node)
for s in "${servers[@]}"; do
  : >"$WORK/$s.kib"
done
for _ in $(seq "$ROUNDS"); do
  measure sansnet "$BIN/examples/hello" --no-idle-timeout >>"$WORK/sansnet.kib"
  measure sansnet_tokio "$BIN/tokio-hello" --no-idle-timeout >>"$WORK/sansnet_tokio.kib"
  measure hyper "$BIN/hyper-hello" >>"$WORK/hyper.kib"
  measure node node benches/peers/http-hello.mjs --no-idle-timeout >>"$WORK/node.kib"
done

echo
echo "== KiB of VmRSS per idle keep-alive connection, $CONNECTIONS connections x $ROUNDS rounds"
for s in "${servers[@]}"; do
  mapfile -t values <"$WORK/$s.kib"
  m=$(printf '%s\n' "${values[@]}" | sort -g | awk '{ a[NR] = $1 } END { printf "%.2f", a[int((NR + 1) / 2)] }')
  printf -v "KIB_$s" '%s' "$m"
  printf '%-13s median %7s   runs: %s\n' "$s" "$m" "${values[*]}"
done
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ratios are the peer's KiB per connection / sansnet's: above 1 means sansnet holds less"
echo "memory tokio: sansnet-tokio=$KIB_sansnet_tokio KiB per idle connection;" \
  "hyper/sansnet-tokio=$(ratio "$KIB_hyper" "$KIB_sansnet_tokio")"
echo "memory: sansnet=$KIB_sansnet hyper=$KIB_hyper node=$KIB_node KiB per idle connection;" \
  "hyper/sansnet=$(ratio "$KIB_hyper" "$KIB_sansnet") node/sansnet=$(ratio "$KIB_node" "$KIB_sansnet")"
