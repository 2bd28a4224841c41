#!/usr/bin/env bash
# What measuring costs: the same loopback test with --cost off, full and counters, interleaved
# (A B C A B C ...), same placement; prints median [min-max] for each and its ratio to off.
# Also prints the tool's own user-space share of the sending stream thread's CPU time (the
# data path should be nearly all kernel work) and the tracer thread's own CPU.
#   bench/cost_overhead.sh [-r ROUNDS] [-t SECONDS] [-b BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=6 SECS=5 BUILD_DIR=build
while getopts "r:t:b:" opt; do
  case $opt in r) ROUNDS=$OPTARG ;; t) SECS=$OPTARG ;; b) BUILD_DIR=$OPTARG ;; *) exit 2 ;; esac
done
NICPERF=$BUILD_DIR/nicperf
command -v python3 >/dev/null || { echo "bench needs python3: apt-get install -y python3" >&2; exit 1; }
work=$(mktemp -d); server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
taskset -c 1 "$NICPERF" -s -p 15301 >/dev/null 2>&1 & server=$!
sleep 0.5
for r in $(seq "$ROUNDS"); do
  for level in off full counters; do
    taskset -c 0 "$NICPERF" -c 127.0.0.1 -p 15301 -t "$SECS" --cost $level -J >"$work/$level.$r.json"
  done
done
python3 - "$work" "$ROUNDS" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
def load(level): return [json.load(open(f"{work}/{level}.{r}.json")) for r in range(1, rounds + 1)]
off, full = load("off"), load("full")
g = lambda d: d["end"]["sum_received"]["bits_per_second"] / 1e9
go = [g(d) for d in off]
print(f"--cost off      {statistics.median(go):6.2f} [{min(go):.2f}-{max(go):.2f}] Gbit/s")
for level in ("counters", "full"):
    gl = [g(d) for d in load(level)]
    print(f"--cost {level:<8} {statistics.median(gl):6.2f} [{min(gl):.2f}-{max(gl):.2f}] Gbit/s   "
          f"ratio to off {statistics.median(gl)/statistics.median(go):.3f} "
          f"(per-round {min(a/b for a,b in zip(gl,go)):.3f}-{max(a/b for a,b in zip(gl,go)):.3f})")
us = []
coll = []
for d in full:
    c = d["end"]["cost"]["client"]
    s = c["streams"]
    us.append(s["utime_s"] / max(s["utime_s"] + s["stime_s"], 1e-9))
    coll.append(c["derived"]["collector_cpu_percent"])
print(f"sender stream thread time in user space (nicperf's own code): median {100*statistics.median(us):.2f}% "
      f"[{100*min(us):.2f}-{100*max(us):.2f}] (tick-sampled; no PMU cycles here)")
print(f"tracer thread CPU: median {statistics.median(coll):.2f}% of one CPU")
PY
