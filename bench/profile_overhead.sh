#!/usr/bin/env bash
# What --profile costs: the same loopback test without and with --profile, interleaved
# (A B A B ...), same placement (client on CPU 0, server on CPU 1); prints median [min-max]
# Gbit/s and CPU s/GB of each side, the ratio with/without, the profile's sample count and its
# expected count (rate x sampled CPU time). Check the machine is idle first: other work on the
# CPUs moves every figure.
#   bench/profile_overhead.sh [-r ROUNDS] [-t SECONDS] [-b BUILD_DIR]
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
taskset -c 1 "$NICPERF" -s -p 15311 >/dev/null 2>&1 & server=$!
sleep 0.5
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }
for r in $(seq "$ROUNDS"); do
  for mode in none profile; do
    extra=(); [ "$mode" = profile ] && extra=(--profile)
    read -r b0 t0 < <(busy)
    sleep 1
    read -r b1 t1 < <(busy)
    echo "$(( 100 * (b1 - b0) / (t1 - t0 + 1) ))" >"$work/$mode.$r.idle"
    taskset -c 0 "$NICPERF" -c 127.0.0.1 -p 15311 -t "$SECS" "${extra[@]}" -J >"$work/$mode.$r.json"
  done
done
python3 - "$work" "$ROUNDS" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
def load(m): return [json.load(open(f"{work}/{m}.{r}.json")) for r in range(1, rounds + 1)]
def busy(m): return [int(open(f"{work}/{m}.{r}.idle").read()) for r in range(1, rounds + 1)]
none, prof = load("none"), load("profile")
g = lambda d: d["end"]["sum_received"]["bits_per_second"] / 1e9
def cpu(d, side):
    c = d["end"]["cost"][side]
    return c["derived"]["cpu_ns_per_byte"]
def fmt(v): return f"{statistics.median(v):7.3f} [{min(v):.3f}-{max(v):.3f}]"
for name, runs in (("no profile", none), ("--profile", prof)):
    print(f"{name:<11} Gbit/s {fmt([g(d) for d in runs])}   CPU s/GB client "
          f"{fmt([cpu(d, 'client') for d in runs])}  server {fmt([cpu(d, 'server') for d in runs])}")
gn, gp = [g(d) for d in none], [g(d) for d in prof]
print(f"throughput ratio --profile / none: median {statistics.median(gp)/statistics.median(gn):.3f}"
      f" (per round {min(a/b for a,b in zip(gp,gn)):.3f}-{max(a/b for a,b in zip(gp,gn)):.3f})")
for side in ("client", "server"):
    cn = statistics.median([cpu(d, side) for d in none])
    cp = statistics.median([cpu(d, side) for d in prof])
    print(f"{side} CPU s/GB ratio --profile / none: {cp/cn:.3f}")
for d in prof[:1]:
    for side in ("client", "server"):
        p, c = d["end"]["profile"][side], d["end"]["cost"][side]
        ns = sum(c[k]["task_clock_ns"] for k in ("streams", "rest_of_process", "collector") if k in c)
        print(f"{side}: {p['samples']} samples at {p['rate_hz']:.0f} Hz, expected "
              f"{p['rate_hz'] * ns / 1e9:.0f} (rate x sampled CPU time)")
print("machine busy % in the second before each run: none", busy("none"), "profile", busy("profile"))
PY
