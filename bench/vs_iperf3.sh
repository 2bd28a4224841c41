#!/usr/bin/env bash
# nicperf vs iperf3 on loopback, alternating runs (A B A B ...) with the same block length and
# the same CPU placement (server process on one CPU, client process on another, via taskset).
# Prints each run, then median [min-max] per tool and the ratio of medians.
#
#   bench/vs_iperf3.sh [-r ROUNDS] [-t SECONDS] [-l LEN] [-b BUILD_DIR] [-- extra pairs]
# Pairs (nicperf args | iperf3 args) compared; the default compares nicperf write with iperf3's
# default, sendfile with iperf3 -Z, and discard receive with iperf3 --skip-rx-copy (iperf3 3.17+;
# an older iperf3 is run with its default receive and the row is marked).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=5 SECONDS_PER_RUN=5 LEN=128K BUILD_DIR=build
while getopts "r:t:l:b:" opt; do
  case $opt in
    r) ROUNDS=$OPTARG ;; t) SECONDS_PER_RUN=$OPTARG ;; l) LEN=$OPTARG ;; b) BUILD_DIR=$OPTARG ;;
    *) exit 2 ;;
  esac
done
if iperf3 --help 2>&1 | grep -q -- --skip-rx-copy; then SKIP_RX="--skip-rx-copy"; else SKIP_RX=""; fi
PAIRS=${PAIRS:-"--mode write|;--mode sendfile|-Z;--recv-mode discard|$SKIP_RX"}
NICPERF=$BUILD_DIR/nicperf
for tool in iperf3 python3 taskset; do
  command -v $tool >/dev/null || { echo "bench needs $tool: apt-get install -y ${tool/taskset/util-linux}" >&2; exit 1; }
done
[ -x "$NICPERF" ] || { echo "build first: ./run demo or cmake --build $BUILD_DIR" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] && SRV_CPU=1 CLI_CPU=0 || SRV_CPU=0 CLI_CPU=0

PORT_N=15201 PORT_I=15202
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
taskset -c $SRV_CPU "$NICPERF" -s -p $PORT_N >/dev/null 2>&1 & pids+=($!)
taskset -c $SRV_CPU iperf3 -s -p $PORT_I >/dev/null 2>&1 & pids+=($!)
sleep 0.5

busy_share() {  # share of the last 0.5 s the CPUs were busy, before a run
  local a b
  a=($(head -1 /proc/stat)); sleep 0.5; b=($(head -1 /proc/stat))
  python3 - "${a[*]}" "${b[*]}" <<'PY'
import sys
a=[int(x) for x in sys.argv[1].split()[1:]]; b=[int(x) for x in sys.argv[2].split()[1:]]
d=[y-x for x,y in zip(a,b)]; idle=d[3]+d[4]; tot=sum(d) or 1
print(f"{100*(tot-idle)/tot:.0f}")
PY
}

gbps() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["end"]["sum_received"]["bits_per_second"]/1e9)' "$1"; }

IFS=';' read -ra pair_list <<<"$PAIRS"
echo "# loopback, $SECONDS_PER_RUN s runs, -l $LEN, server on CPU $SRV_CPU, client on CPU $CLI_CPU, $ROUNDS rounds"
echo "# $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), nicperf $("$NICPERF" --version | head -1)"
for pair in "${pair_list[@]}"; do
  n_args=${pair%%|*} i_args=${pair#*|}
  : >"$work/n" ; : >"$work/i"
  for r in $(seq "$ROUNDS"); do
    idle=$(busy_share)
    taskset -c $CLI_CPU "$NICPERF" -c 127.0.0.1 -p $PORT_N -t "$SECONDS_PER_RUN" -l "$LEN" -J $n_args >"$work/n.json"
    n=$(gbps "$work/n.json"); echo "$n" >>"$work/n"
    taskset -c $CLI_CPU iperf3 -c 127.0.0.1 -p $PORT_I -t "$SECONDS_PER_RUN" -l "$LEN" -J $i_args >"$work/i.json"
    i=$(gbps "$work/i.json"); echo "$i" >>"$work/i"
    printf "round %d  busy-before %3s%%  nicperf %-24s %7.2f Gbit/s   iperf3 %-6s %7.2f Gbit/s\n" \
      "$r" "$idle" "$n_args" "$n" "${i_args:-default}" "$i"
  done
  note=""
  [[ "$n_args" == *discard* && -z "$i_args" ]] && note="  (this iperf3 lacks --skip-rx-copy: compared with its copying receive)"
  python3 - "$work/n" "$work/i" "$n_args" "${i_args:-default}" "$note" <<'PY'
import statistics, sys
n=[float(x) for x in open(sys.argv[1])]; i=[float(x) for x in open(sys.argv[2])]
mn, mi = statistics.median(n), statistics.median(i)
ratios=[a/b for a,b in zip(n,i)]
print(f"nicperf {sys.argv[3]:<16} {mn:6.2f} [{min(n):.2f}-{max(n):.2f}] Gbit/s | "
      f"iperf3 {sys.argv[4]:<8} {mi:6.2f} [{min(i):.2f}-{max(i):.2f}] Gbit/s | "
      f"ratio of medians {mn/mi:.3f} (per-round {min(ratios):.3f}-{max(ratios):.3f}){sys.argv[5]}")
PY
done
