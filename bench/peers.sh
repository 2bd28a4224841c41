#!/usr/bin/env bash
# nicperf against peers doing the same work (issue 19), on loopback, interleaved per round:
# each round runs the peer once and nicperf once per cost level, same block length and the same
# CPU placement (server on one CPU, client on another, via taskset; -P 2 runs unpinned).
# Before each run it waits (bounded) for the machine to be idle; each run's steal time comes from
# /proc/stat and runs over STEAL_MARK % are marked '!'. Per case and cost level it prints
# median [min-max] per tool, the ratio of medians and the per-round ratio range.
#
#   bench/peers.sh [-r ROUNDS] [-t SECONDS] [-b BUILD_DIR] [-k CASE_REGEX] [-c "off default"]
# Environment: IPERF3=path (default: iperf3 on PATH, Debian's), NEPER=dir (tcp_stream, tcp_rr),
# NETPERF=dir (netperf, netserver), IDLE_MAX=busy % allowed before a run (25),
# STEAL_MARK=% (5). Options a peer lacks (iperf3 3.12 has no --skip-rx-copy, --gsro or
# MSG_ZEROCOPY) skip that case with the reason printed. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=3 SECONDS_PER_RUN=5 BUILD_DIR=build CASES=. LEVELS="off default"
while getopts "r:t:b:k:c:" opt; do
  case $opt in
    r) ROUNDS=$OPTARG ;; t) SECONDS_PER_RUN=$OPTARG ;; b) BUILD_DIR=$OPTARG ;;
    k) CASES=$OPTARG ;; c) LEVELS=$OPTARG ;; *) exit 2 ;;
  esac
done
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 50 ] || { echo "-r: 1..50 rounds" >&2; exit 2; }
[ "$SECONDS_PER_RUN" -ge 1 ] && [ "$SECONDS_PER_RUN" -le 60 ] || { echo "-t: 1..60 s" >&2; exit 2; }
IPERF3=${IPERF3:-$(command -v iperf3 || true)}
IDLE_MAX=${IDLE_MAX:-25} STEAL_MARK=${STEAL_MARK:-5}
NICPERF=$BUILD_DIR/nicperf
for tool in python3 taskset; do
  command -v $tool >/dev/null || { echo "bench needs $tool" >&2; exit 1; }
done
[ -n "$IPERF3" ] && [ -x "$IPERF3" ] || { echo "no iperf3: apt-get install -y iperf3 or IPERF3=path" >&2; exit 1; }
[ -x "$NICPERF" ] || { echo "build first: cmake --build $BUILD_DIR --target nicperf" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] && SRV_CPU=1 CLI_CPU=0 || SRV_CPU=0 CLI_CPU=0
HOST=127.0.0.1 PORT_N=15211 PORT_I=15212 PORT_NS=15213 PORT_NE=15214

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
taskset -c $SRV_CPU "$NICPERF" -s -p $PORT_N >/dev/null 2>&1 & pids+=($!)
taskset -c $SRV_CPU "$IPERF3" -s -p $PORT_I >/dev/null 2>&1 & pids+=($!)
if [ -n "${NETPERF:-}" ]; then
  taskset -c $SRV_CPU "$NETPERF/netserver" -D -p $PORT_NS >/dev/null 2>&1 & pids+=($!)
fi
sleep 0.5

iperf3_has() { "$IPERF3" --help 2>&1 | grep -q -- "$1"; }

# The matrix: name|nicperf args|peer|peer args|unit|pinned. Peer "iperf3", "neper:<test>",
# "netperf:<test>", or "skip:<reason>". Units: gbps, dps (datagrams/s), tps (transactions/s).
cases=(
  "udp64|-u -b 0 -l 64|iperf3|-u -b 0 -l 64|dps|1"
  "udp1460|-u -b 0 -l 1460|iperf3|-u -b 0 -l 1460|dps|1"
  "tcp-write|--mode write|iperf3||gbps|1"
  "tcp-sendfile|--mode sendfile|iperf3|-Z|gbps|1"
  "tcp-p2-unpinned|-P 2|iperf3|-P 2|gbps|0"
  "tcp-rx-zerocopy|--recv-mode zerocopy|iperf3||gbps|1"
)
if iperf3_has --gsro; then
  cases+=("udp64-gso|-u -b 0 -l 64 --mode gso --recv-mode gro --batch 64|iperf3|-u -b 0 -l 64 --gsro|dps|1")
else
  cases+=("udp64-gso|-u -b 0 -l 64 --mode gso --recv-mode gro --batch 64|skip:this iperf3 has no --gsro|-|dps|1")
fi
if iperf3_has --skip-rx-copy; then
  cases+=("tcp-discard|--recv-mode discard|iperf3|--skip-rx-copy|gbps|1")
else
  cases+=("tcp-discard|--recv-mode discard|skip:this iperf3 has no --skip-rx-copy|-|gbps|1")
fi
if [ -n "${NEPER:-}" ]; then
  cases+=("tcp-p2-neper|-P 2|neper:tcp_stream|-T 2 -F 2 --no-cork|gbps|0")
  cases+=("tcp-msg-zerocopy|--mode zerocopy|neper:tcp_stream|-Z|gbps|1")
elif iperf3_has "zerocopy=z"; then
  cases+=("tcp-msg-zerocopy|--mode zerocopy|iperf3|--zerocopy=z|gbps|1")
else
  cases+=("tcp-msg-zerocopy|--mode zerocopy|skip:no peer sends with MSG_ZEROCOPY (give NEPER=dir)|-|gbps|1")
fi
if [ -n "${NETPERF:-}" ]; then
  cases+=("tcp-rr|--rr|netperf:TCP_RR||tps|1" "udp-rr|--rr -u|netperf:UDP_RR||tps|1")
elif [ -n "${NEPER:-}" ]; then
  cases+=("tcp-rr|--rr|neper:tcp_rr||tps|1")
  cases+=("udp-rr|--rr -u|skip:neper has no UDP request/response here (give NETPERF=dir)|-|tps|1")
else
  cases+=("tcp-rr|--rr|skip:iperf3 has no request/response (give NETPERF=dir or NEPER=dir)|-|tps|1")
  cases+=("udp-rr|--rr -u|skip:iperf3 has no request/response (give NETPERF=dir)|-|tps|1")
fi

. bench/cpu_stat.sh  # the cwd is the repo root from here on
busy_share() {  # % of the last 0.5 s the CPUs were busy (steal counts as busy)
  local a b
  a=$(cpu_line); sleep 0.5; b=$(cpu_line)
  python3 - "$a" "$b" <<'PY'
import sys
a=[int(x) for x in sys.argv[1].split()[1:]]; b=[int(x) for x in sys.argv[2].split()[1:]]
d=[y-x for x,y in zip(a,b)]; idle=d[3]+d[4]; tot=sum(d) or 1
print(round(100*(tot-idle)/tot))
PY
}
wait_idle() {  # bounded: up to 10 tries, then the run goes ahead marked busy
  local busy
  for _ in $(seq 10); do
    busy=$(busy_share)
    [ "$busy" -le "$IDLE_MAX" ] && { echo "$busy"; return; }
  done
  echo "${busy}busy"
}

# Prints the run's figure in the case's unit from the tool's output file.
figure() {  # tool unit len file
  python3 - "$@" <<'PY'
import json, re, sys
tool, unit, length, path = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
text = open(path).read()
def out(v): print(f"{v:.3f}" if unit == "gbps" else f"{v:.0f}")
try:
    if tool in ("nicperf", "iperf3"):
        e = json.loads(text)["end"]
        if unit == "tps":
            out(e["sum_rr"]["transactions_per_second"])
        else:
            r = e["sum_received"]
            if r["bytes"] == 0:  # e.g. iperf3 3.21's --gsro with -l 64 delivers nothing here
                raise ValueError(f"the receiver got 0 bytes of {e['sum_sent']['bytes']} sent")
            out(r["bits_per_second"] / 1e9 if unit == "gbps"
                else r["bytes"] / int(length) / r["seconds"])
    elif tool.startswith("neper"):
        # neper 1.1: the client's and the server's own figures; tcp_stream's client only writes,
        # so its local figure is 0 and the server's (remote, bit/s) is the received rate;
        # tcp_rr's are transactions/s.
        keys = dict(re.findall(r"^(local_throughput|remote_throughput)=([0-9.e+]+)$", text, re.M))
        if "remote_throughput" not in keys:
            raise ValueError("no remote_throughput line in neper's output")
        v = float(keys["remote_throughput"]) or float(keys.get("local_throughput", 0))
        out(v / 1e9 if unit == "gbps" else v)
    elif tool.startswith("netperf"):
        out(float(text.strip().splitlines()[-1].split(",")[0]))
except Exception as ex:  # a failed run is reported, not fatal
    print("nan")
    print(f"cannot read {tool} figure: {ex}", file=sys.stderr)
PY
}

length_of() { [[ " $1 " =~ \ -l\ ([0-9]+) ]] && echo "${BASH_REMATCH[1]}" || echo 0; }

run_nicperf() {  # out pin level args...
  local out=$1 pin=$2 level=$3; shift 3
  local cost=() place=()
  [ "$level" = off ] && cost=(--cost off)
  [ "$pin" = 1 ] && place=(taskset -c $CLI_CPU)
  "${place[@]}" "$NICPERF" -c $HOST -p $PORT_N -t "$SECONDS_PER_RUN" -J "${cost[@]}" "$@" \
    >"$out" 2>"$out.err" || true
}

run_peer() {  # out pin peer args...
  local out=$1 pin=$2 peer=$3; shift 3
  local place=() srv_place=()
  [ "$pin" = 1 ] && place=(taskset -c $CLI_CPU) srv_place=(taskset -c $SRV_CPU)
  case $peer in
    iperf3)
      "${place[@]}" "$IPERF3" -c $HOST -p $PORT_I -t "$SECONDS_PER_RUN" -J "$@" \
        >"$out" 2>"$out.err" || true ;;
    neper:*)
      local t=${peer#neper:} srv
      # --nolog: neper otherwise leaves a log file per run in the current directory.
      "${srv_place[@]}" "$NEPER/$t" --nolog -P $PORT_NE -l "$SECONDS_PER_RUN" "$@" >/dev/null 2>&1 &
      srv=$!
      sleep 0.3
      "${place[@]}" "$NEPER/$t" --nolog -c -H $HOST -P $PORT_NE -l "$SECONDS_PER_RUN" "$@" \
        >"$out" 2>"$out.err" || true
      wait $srv 2>/dev/null || true ;;
    netperf:*)
      "${place[@]}" "$NETPERF/netperf" -H $HOST -p $PORT_NS -t "${peer#netperf:}" \
        -l "$SECONDS_PER_RUN" -P 0 -- -o THROUGHPUT >"$out" 2>"$out.err" || true ;;
  esac
}

summary() {  # case level unit peer file
  python3 - "$@" <<'PY'
import math, statistics, sys
name, level, unit, peer, path = sys.argv[1:6]
rows = [l.split() for l in open(path)]
n = [float(r[0]) for r in rows]; p = [float(r[1]) for r in rows]
ok = [(a, b) for a, b in zip(n, p) if not (math.isnan(a) or math.isnan(b)) and b > 0]
fmt = "{:.2f}" if unit == "gbps" else "{:.0f}"
def span(v):
    v = [x for x in v if not math.isnan(x)]
    if not v:
        return "n/a"
    f = fmt.format
    return f"{f(statistics.median(v))} [{f(min(v))}-{f(max(v))}]"
line = f"== {name:<16} cost {level:<7} nicperf {span(n)} {unit} | {peer} {span(p)} {unit}"
if ok:
    mn = statistics.median(a for a, _ in ok); mp = statistics.median(b for _, b in ok)
    r = [a / b for a, b in ok]
    line += f" | ratio of medians {mn / mp:.3f} (per-round {min(r):.3f}-{max(r):.3f})"
print(line)
PY
}

echo "# peers: loopback, $ROUNDS round(s) x $SECONDS_PER_RUN s, server CPU $SRV_CPU, client CPU $CLI_CPU" \
  "(unpinned where said), cost levels: $LEVELS, idle <= $IDLE_MAX % before each run, '!' steal > $STEAL_MARK %"
echo "# $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) CPUs," \
  "nicperf $("$NICPERF" --version | head -1), $("$IPERF3" --version | head -1)"
for c in "${cases[@]}"; do
  IFS='|' read -r name n_args peer p_args unit pin <<<"$c"
  [[ "$name" =~ $CASES ]] || continue
  if [[ "$peer" == skip:* ]]; then
    echo "== $name skipped: ${peer#skip:}"
    continue
  fi
  len=$(length_of "$n_args")
  for level in $LEVELS; do : >"$work/$level"; done
  for r in $(seq "$ROUNDS"); do
    busy=$(wait_idle); a=$(cpu_line)
    # shellcheck disable=SC2086
    run_peer "$work/p.out" "$pin" "$peer" $p_args
    b=$(cpu_line); st=$(steal_share "$a" "$b")
    pv=$(figure "$peer" "$unit" "$len" "$work/p.out")
    mark=$(python3 -c "print('!' if $st > $STEAL_MARK else ' ')")
    printf "round %d  %-16s %-22s busy-before %4s%%  steal %5s%%%s %10s %s\n" \
      "$r" "$name" "$peer" "$busy" "$st" "$mark" "$pv" "$unit"
    for level in $LEVELS; do
      busy=$(wait_idle); a=$(cpu_line)
      # shellcheck disable=SC2086
      run_nicperf "$work/n.out" "$pin" "$level" $n_args
      b=$(cpu_line); st=$(steal_share "$a" "$b")
      nv=$(figure nicperf "$unit" "$len" "$work/n.out")
      mark=$(python3 -c "print('!' if $st > $STEAL_MARK else ' ')")
      printf "round %d  %-16s %-22s busy-before %4s%%  steal %5s%%%s %10s %s\n" \
        "$r" "$name" "nicperf cost $level" "$busy" "$st" "$mark" "$nv" "$unit"
      echo "$nv $pv" >>"$work/$level"
    done
  done
  for level in $LEVELS; do summary "$name" "$level" "$unit" "$peer" "$work/$level"; done
done
