#!/usr/bin/env bash
# What measuring costs: the same loopback tests with --cost off, bpf, ring and bpf with the
# kernel's BPF run-time statistics on, interleaved (A B C D A B C D ...), same placement; prints
# median [min-max] for each level, its ratio to off and the per-round ratio range, and from the
# bpf-stats runs the in-kernel collector's own cost (ns per event, events/s, % of one CPU; the
# client's, read from the set both sides share on loopback: each event runs the programs once).
#   write   TCP write, client on CPU 0, server on CPU 1 (Gbit/s)
#   udp64   -u -b 0 -l 64, same placement (datagrams/s received)
#   p2      -P 2, unpinned (Gbit/s)
#   bench/cost_overhead.sh [-r ROUNDS] [-t SECONDS] [-b BUILD_DIR] [-w "write udp64 p2"]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=6 SECS=5 BUILD_DIR=build WORKLOADS="write udp64 p2"
while getopts "r:t:b:w:" opt; do
  case $opt in
    r) ROUNDS=$OPTARG ;; t) SECS=$OPTARG ;; b) BUILD_DIR=$OPTARG ;; w) WORKLOADS=$OPTARG ;;
    *) exit 2 ;;
  esac
done
NICPERF=$BUILD_DIR/nicperf
# bpf-stats: bpf with the kernel's BPF run-time statistics on (NICPERF_BPF_STATS=1, client side),
# for the collector's own ns/event; the statistics cost something themselves, hence its own level.
LEVELS="off bpf ring bpf-stats"
command -v python3 >/dev/null || { echo "bench needs python3: apt-get install -y python3" >&2; exit 1; }
work=$(mktemp -d); pinned=""; free=""
trap '[ -n "$pinned" ] && kill "$pinned" 2>/dev/null; [ -n "$free" ] && kill "$free" 2>/dev/null; rm -rf "$work"' EXIT
# Servers on ports the kernel picks (-p 0): other benches may hold fixed ones.
port_of() {
  for _ in $(seq 100); do
    p=$(sed -n 's/^Server listening on \([0-9]*\)$/\1/p' "$1")
    [ -n "$p" ] && { echo "$p"; return; }
    sleep 0.05
  done
  echo "server did not start: $(cat "$1")" >&2; exit 1
}
taskset -c 1 "$NICPERF" -s -p 0 >"$work/pinned.out" 2>&1 & pinned=$!
"$NICPERF" -s -p 0 >"$work/free.out" 2>&1 & free=$!
PINNED_PORT=$(port_of "$work/pinned.out"); FREE_PORT=$(port_of "$work/free.out")
busy() {  # the machine's busy share over 0.5 s, to mark rounds that shared the CPUs
  local a b
  a=($(head -1 /proc/stat)); sleep 0.5; b=($(head -1 /proc/stat))
  local idle=$(( b[4] + b[5] - a[4] - a[5] )) total=0
  for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}
for r in $(seq "$ROUNDS"); do
  for w in $WORKLOADS; do
    for level in $LEVELS; do
      busy >"$work/$w.$level.$r.busy"
      cost=${level%-stats} stats=0
      [ "$level" = bpf-stats ] && stats=1
      case $w in
        write) NICPERF_BPF_STATS=$stats taskset -c 0 "$NICPERF" -c 127.0.0.1 -p "$PINNED_PORT" -t "$SECS" --cost "$cost" -J ;;
        udp64) NICPERF_BPF_STATS=$stats taskset -c 0 "$NICPERF" -c 127.0.0.1 -p "$PINNED_PORT" -t "$SECS" -u -b 0 -l 64 --cost "$cost" -J ;;
        p2) NICPERF_BPF_STATS=$stats "$NICPERF" -c 127.0.0.1 -p "$FREE_PORT" -t "$SECS" -P 2 --cost "$cost" -J ;;
      esac >"$work/$w.$level.$r.json"
    done
  done
done
python3 - "$work" "$ROUNDS" "$WORKLOADS" "$LEVELS" <<'PY'
import json, statistics, sys
work, rounds, workloads, levels = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4].split()
def load(w, level):
    return [json.load(open(f"{work}/{w}.{level}.{r}.json")) for r in range(1, rounds + 1)]
def busy(w, level):
    return [int(open(f"{work}/{w}.{level}.{r}.busy").read()) for r in range(1, rounds + 1)]
def figure(w, d):
    e = d["end"]
    if w == "udp64":  # datagrams received per second
        return e["sum_udp"]["packets"] / max(e["sum_received"]["seconds"], 1e-9) / 1e3
    return e["sum_received"]["bits_per_second"] / 1e9
unit = {"write": "Gbit/s", "udp64": "k datagrams/s", "p2": "Gbit/s"}
med = statistics.median
for w in workloads:
    print(f"{w} ({unit[w]}), {rounds} interleaved rounds; busy share before each run: "
          + ", ".join(f"{l} {med(busy(w, l))}%" for l in levels))
    base = [figure(w, d) for d in load(w, "off")]
    for level in levels:
        v = [figure(w, d) for d in load(w, level)]
        ratio = "" if level == "off" else (
            f"   ratio to off {med(v)/med(base):.3f} (per-round {min(a/b for a,b in zip(v,base)):.3f}"
            f"-{max(a/b for a,b in zip(v,base)):.3f})")
        print(f"  --cost {level:<9} {med(v):9.2f} [{min(v):.2f}-{max(v):.2f}]{ratio}")
    for level in levels:
        if level == "off": continue
        for side in ("client", "server"):
            got = [d["end"]["cost"][side] for d in load(w, level) if side in d["end"].get("cost", {})]
            lv = sorted({c["level"] for c in got})
            cpu = [c["derived"]["cpu_ns_per_byte"] for c in got]
            line = f"  {level:<9} {side:<6} level {','.join(lv)}  CPU ns/byte {med(cpu):.3f}" if cpu else ""
            k = [c["collector_kernel"] for c in got if "collector_kernel" in c]
            if k:
                line += (f"  collector {med([x['ns_per_event'] for x in k]):.0f} ns/event, "
                         f"{med([x['events_per_second'] for x in k])/1e3:.0f}k events/s, "
                         f"{med([x['cpu_percent'] for x in k]):.2f}% of one CPU")
            if line: print(line)
PY
