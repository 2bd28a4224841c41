#!/usr/bin/env bash
# UDP request/response on loopback: nicperf --rr -u with 1-byte messages against netperf's
# UDP_RR and neper's udp_rr, interleaved (nicperf, netperf, neper, nicperf, ...) so that load
# drifting on the machine hits every tool alike. Prints each run, then per tool the median
# transactions/s and p99 [min-max].
#
#   NETPERF=dir NEPER=dir bench/udp_rr.sh [-r ROUNDS] [-t SECONDS] [-b BUILD_DIR]
# NETPERF: a directory with netperf and netserver; NEPER: one with neper's udp_rr. A tool not
# given (or not found there) is skipped with the reason. nicperf's p99 is its histogram's
# (within 1.6%); netperf's is its omni P99_LATENCY; neper's its percentile output.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=3 SECONDS_PER_RUN=3 BUILD_DIR=build
while getopts "r:t:b:" opt; do
  case $opt in
    r) ROUNDS=$OPTARG ;; t) SECONDS_PER_RUN=$OPTARG ;; b) BUILD_DIR=$OPTARG ;; *) exit 2 ;;
  esac
done
NICPERF=$BUILD_DIR/nicperf
[ -x "$NICPERF" ] || { echo "build first: cmake --build $BUILD_DIR --target nicperf" >&2; exit 1; }
command -v python3 >/dev/null || { echo "bench needs python3" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] && SRV_CPU=1 CLI_CPU=0 || SRV_CPU=0 CLI_CPU=0

tools=(nicperf)
if [ -z "${NETPERF:-}" ]; then
  echo "# netperf skipped: NETPERF=dir (with netperf and netserver) not given"
elif [ ! -x "$NETPERF/netperf" ] || [ ! -x "$NETPERF/netserver" ]; then
  echo "# netperf skipped: no netperf and netserver in $NETPERF"
else
  tools+=(netperf)
fi
if [ -z "${NEPER:-}" ]; then
  echo "# neper skipped: NEPER=dir (with udp_rr) not given"
elif [ ! -x "$NEPER/udp_rr" ]; then
  echo "# neper skipped: no udp_rr in $NEPER"
else
  tools+=(neper)
fi

PORT_N=15301 PORT_P=15302 PORT_Q=15303
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
taskset -c $SRV_CPU "$NICPERF" -s -p $PORT_N >/dev/null 2>&1 & pids+=($!)
if [[ " ${tools[*]} " == *" netperf "* ]]; then
  taskset -c $SRV_CPU "$NETPERF/netserver" -D -p $PORT_P >/dev/null 2>&1 & pids+=($!)
fi
sleep 0.5

# Each prints "transactions/s p99_us" for one run.
run_nicperf() {
  taskset -c $CLI_CPU "$NICPERF" -c 127.0.0.1 -p $PORT_N --rr -u -t "$SECONDS_PER_RUN" -J \
    >"$work/n.json"
  python3 - "$work/n.json" <<'PY'
import json, sys
rr = json.load(open(sys.argv[1]))["end"]["sum_rr"]
print(rr["transactions_per_second"], rr["latency_ns"]["p99"] / 1e3, rr.get("lost_transactions", 0))
PY
}
run_netperf() {
  taskset -c $CLI_CPU "$NETPERF/netperf" -H 127.0.0.1 -p $PORT_P -t UDP_RR -l "$SECONDS_PER_RUN" \
    -P 0 -- -r 1,1 -o THROUGHPUT,P99_LATENCY | tail -1 | tr ',' ' ' | awk '{print $1, $2, "-"}'
}
run_neper() {
  taskset -c $SRV_CPU "$NEPER/udp_rr" -P $PORT_Q -C $((PORT_Q + 1)) -l $((SECONDS_PER_RUN + 2)) \
    >/dev/null 2>&1 &
  local srv=$!
  sleep 0.3
  taskset -c $CLI_CPU "$NEPER/udp_rr" -c -H 127.0.0.1 -P $PORT_Q -C $((PORT_Q + 1)) \
    -l "$SECONDS_PER_RUN" -p 99 >"$work/q.txt" 2>&1 || true
  wait "$srv" 2>/dev/null || true
  python3 - "$work/q.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
tps = re.search(r"^throughput=([\d.]+)", t, re.M)
p99 = re.search(r"^(?:latency_p99|percentile_99)=([\d.]+)", t, re.M)  # seconds
print(tps.group(1) if tps else "nan", float(p99.group(1)) * 1e6 if p99 else "nan", "-")
PY
}

echo "# loopback UDP request/response, 1-byte request and response, one transaction in flight,"
echo "# $SECONDS_PER_RUN s runs, $ROUNDS rounds interleaved, server on CPU $SRV_CPU, client on CPU $CLI_CPU"
echo "# $(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
for r in $(seq "$ROUNDS"); do
  for t in "${tools[@]}"; do
    read -r tps p99 lost < <(run_$t)
    echo "$tps $p99" >>"$work/$t"
    printf "round %d  %-8s %12.0f trans/s   p99 %8.1f us   lost %s\n" "$r" "$t" "$tps" "$p99" "$lost"
  done
done
echo "# median [min-max] per tool"
for t in "${tools[@]}"; do
  python3 - "$work/$t" "$t" <<'PY'
import statistics, sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
tps = [r[0] for r in rows]; p99 = [r[1] for r in rows]
print(f"{sys.argv[2]:<8} {statistics.median(tps):12.0f} [{min(tps):.0f}-{max(tps):.0f}] trans/s   "
      f"p99 {statistics.median(p99):8.1f} [{min(p99):.1f}-{max(p99):.1f}] us")
PY
done
