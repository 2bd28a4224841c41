#!/usr/bin/env bash
# What measuring costs: the same loopback tests with --cost off, bpf, ring and bpf with the
# kernel's BPF run-time statistics on, interleaved (A B C D A B C D ...), same placement; prints
# median [min-max] for each level, its ratio to off and the per-round ratio range, and from the
# bpf-stats runs the in-kernel collector's own cost (ns per event, events/s, % of one CPU; the
# client's, read from the set both sides share on loopback: each event runs the programs once).
# Also: the floor level (--cost off with do-nothing programs on the collector's tracepoints,
# bench/tracepoint_floor: what the tracepoints' dispatch alone costs, which no collector that
# times every softirq can win back; built here with clang and libbpf, skipped saying why when
# it cannot be), and every level's receiver CPU per byte (per datagram for udp64), read from the
# server process's utime+stime in /proc: the same source at every level, off included.
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
LEVELS="off floor bpf ring bpf-stats"
command -v python3 >/dev/null || { echo "bench needs python3: apt-get install -y python3" >&2; exit 1; }
work=$(mktemp -d); pinned=""; free=""; floor=""
trap '[ -n "$floor" ] && kill "$floor" 2>/dev/null; [ -n "$pinned" ] && kill "$pinned" 2>/dev/null; [ -n "$free" ] && kill "$free" 2>/dev/null; rm -rf "$work"' EXIT
build_floor() {
  local src=bench/tracepoint_floor
  clang -O2 -target bpf -I"/usr/include/$(gcc -dumpmachine)" -c "$src/empty.bpf.c" -o "$work/empty.bpf.o" 2>"$work/floor.err" &&
    cc -O2 "$src/loader.c" -o "$work/floor-loader" -lbpf 2>>"$work/floor.err"
}
if ! build_floor; then
  echo "# floor level skipped: bench/tracepoint_floor did not build (needs clang and libbpf-dev): $(head -1 "$work/floor.err")"
  LEVELS=${LEVELS/floor /}
fi
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
cpu_ticks() {  # a process's utime + stime, in clock ticks (the fields after the ")" of its name)
  local rest
  rest=$(sed 's/.*) //' "/proc/$1/stat")
  set -- $rest
  echo $(( ${12} + ${13} ))
}
start_floor() {
  "$work/floor-loader" "$work/empty.bpf.o" $((SECS + 30)) >"$work/floor.out" 2>&1 & floor=$!
  for _ in $(seq 100); do
    grep -q '^attached' "$work/floor.out" && return
    kill -0 "$floor" 2>/dev/null || break
    sleep 0.05
  done
  echo "floor level: the loader did not attach: $(cat "$work/floor.out")" >&2; exit 1
}
stop_floor() { kill "$floor"; wait "$floor" || true; floor=""; }
for r in $(seq "$ROUNDS"); do
  for w in $WORKLOADS; do
    for level in $LEVELS; do
      busy >"$work/$w.$level.$r.busy"
      cost=${level%-stats} stats=0 server=$pinned
      [ "$level" = bpf-stats ] && stats=1
      [ "$level" = floor ] && { cost=off; start_floor; }
      [ "$w" = p2 ] && server=$free
      before=$(cpu_ticks "$server")
      case $w in
        write) NICPERF_BPF_STATS=$stats taskset -c 0 "$NICPERF" -c 127.0.0.1 -p "$PINNED_PORT" -t "$SECS" --cost "$cost" -J ;;
        udp64) NICPERF_BPF_STATS=$stats taskset -c 0 "$NICPERF" -c 127.0.0.1 -p "$PINNED_PORT" -t "$SECS" -u -b 0 -l 64 --cost "$cost" -J ;;
        p2) NICPERF_BPF_STATS=$stats "$NICPERF" -c 127.0.0.1 -p "$FREE_PORT" -t "$SECS" -P 2 --cost "$cost" -J ;;
      esac >"$work/$w.$level.$r.json"
      echo $(( $(cpu_ticks "$server") - before )) >"$work/$w.$level.$r.rcpu"
      [ "$level" = floor ] && stop_floor
    done
  done
done
python3 - "$work" "$ROUNDS" "$WORKLOADS" "$LEVELS" "$(getconf CLK_TCK)" <<'PY'
import json, statistics, sys
work, rounds, workloads, levels = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4].split()
tick_ns = 1e9 / int(sys.argv[5])
def load(w, level):
    return [json.load(open(f"{work}/{w}.{level}.{r}.json")) for r in range(1, rounds + 1)]
def busy(w, level):
    return [int(open(f"{work}/{w}.{level}.{r}.busy").read()) for r in range(1, rounds + 1)]
def figure(w, d):
    e = d["end"]
    if w == "udp64":  # datagrams received per second
        return e["sum_udp"]["packets"] / max(e["sum_received"]["seconds"], 1e-9) / 1e3
    return e["sum_received"]["bits_per_second"] / 1e9
def receiver_cpu(w, d, r, level):  # the server's CPU ns per byte (per datagram for udp64)
    ticks = int(open(f"{work}/{w}.{level}.{r}.rcpu").read())
    e = d["end"]
    moved = e["sum_udp"]["packets"] if w == "udp64" else e["sum_received"]["bytes"]
    return ticks * tick_ns / max(moved, 1)
unit = {"write": "Gbit/s", "udp64": "k datagrams/s", "p2": "Gbit/s"}
cpu_unit = {"write": "ns/byte", "udp64": "ns/datagram", "p2": "ns/byte"}
med = statistics.median
def ratio_to_off(v, base):  # ratio of medians and the per-round range, after a level's figures
    r = [a / b for a, b in zip(v, base)]
    return f"   ratio to off {med(v)/med(base):.3f} (per-round {min(r):.3f}-{max(r):.3f})"
for w in workloads:
    print(f"{w} ({unit[w]}), {rounds} interleaved rounds; busy share before each run: "
          + ", ".join(f"{l} {med(busy(w, l))}%" for l in levels))
    base = [figure(w, d) for d in load(w, "off")]
    for level in levels:
        v = [figure(w, d) for d in load(w, level)]
        ratio = "" if level == "off" else ratio_to_off(v, base)
        print(f"  --cost {level:<9} {med(v):9.2f} [{min(v):.2f}-{max(v):.2f}]{ratio}")
    base_cpu = [receiver_cpu(w, d, r, "off") for r, d in enumerate(load(w, "off"), 1)]
    print(f"  receiver CPU ({cpu_unit[w]}, the server process's utime+stime):")
    for level in levels:
        c = [receiver_cpu(w, d, r, level) for r, d in enumerate(load(w, level), 1)]
        ratio = "" if level == "off" else ratio_to_off(c, base_cpu)
        print(f"  --cost {level:<9} {med(c):9.3f} [{min(c):.3f}-{max(c):.3f}]{ratio}")
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
