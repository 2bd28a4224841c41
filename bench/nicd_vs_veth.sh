#!/usr/bin/env bash
# The emulated NIC's benchmark: throughput through nicperf-nicd (a userspace NIC between two
# network namespaces) vs a veth pair between two namespaces of the same kind, in the same run,
# alternating (nicd veth nicd veth ...). Prints each run, then per scenario median [min-max] of
# each and the ratio of medians nicd/veth against its target (met / NOT met; informative only),
# per nicd backend (BACKENDS), with nicd's own CPU per frame (its queue threads' run time over
# the frames they moved, both directions).
#
#   sudo bench/nicd_vs_veth.sh [-r ROUNDS] [-t SECONDS] [-s SCENARIOS] [-h]
# Scenarios (comma list, default all):
#   tcp-offloads-on   TCP, TSO/GRO on (nicd defaults, veth defaults)            target >= 0.8
#   tcp-offloads-off  TCP, every offload off, MTU 1500 frames: nicd up --tso off --gro off,
#                     veth ethtool -K tso off gso off gro off on both ends       target >= 0.5
#   udp-small         received frame rate of 64-byte UDP datagrams with Debian's iperf3
#                     (-u -l 64 -b 0: the same generator on both sides of the   target >= 0.8
#                     comparison, so only the NIC under it differs)
#   udp-small-batch   the same with nicperf sending with sendmmsg and receiving
#                     with recvmmsg (16 per call): iperf3's receiver, a read
#                     per datagram, starves first, hiding what the NIC carries   target >= 0.8
# Environment: BUILD_DIR (default ROOT/build), NICD_ARGS (extra args for 'nicperf-nicd up',
# e.g. "--rx-usecs 0 --irq-cpus 1"), CLIENT_ARGS (extra args for every nicperf client, nicd and
# veth alike, e.g. "-A 0/1"), NO_BUILD=1 (skip the build when both binaries exist),
# BACKENDS (default "tap xdp"; xdp runs with --tso off, and a scenario it refuses is a row
# saying why).
# Each run records the CPU time stolen by the hypervisor; runs over STEAL_MARK % (default 5) are
# marked '!'.
# Needs root (namespaces). Exits 0 whether or not targets are met; 1 when something failed to
# run, 2 on usage (or not root, or a missing package it may not install).
set -euo pipefail
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
ARGS=("$@")
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/cpu_stat.sh
. bench/rounds.sh
STEAL_MARK=${STEAL_MARK:-5}

ALL_SCENARIOS="tcp-offloads-on,tcp-offloads-off,udp-small,udp-small-batch"
ROUNDS=3 SECS=5 SCENARIOS=$ALL_SCENARIOS
usage() { sed -n '2,28p' "$SELF" | sed 's/^# \{0,1\}//'; }
while getopts "r:t:s:h" opt; do
  case $opt in
    r) ROUNDS=$OPTARG ;; t) SECS=$OPTARG ;; s) SCENARIOS=$OPTARG ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || { echo "unexpected argument: $1 (see -h)" >&2; exit 2; }
check_rounds_secs "$ROUNDS" "$SECS"
IFS=',' read -ra scenario_list <<<"$SCENARIOS"
[ ${#scenario_list[@]} -gt 0 ] || { echo "-s: no scenario given" >&2; exit 2; }
for s in "${scenario_list[@]}"; do
  [[ ",$ALL_SCENARIOS," == *",$s,"* ]] || { echo "-s: unknown scenario '$s' (known: $ALL_SCENARIOS)" >&2; exit 2; }
done
if [ "$(id -u)" -ne 0 ]; then
  echo "nicd_vs_veth.sh creates network namespaces and needs root: sudo $SELF ${ARGS[*]}" >&2
  exit 2
fi

BUILD=${BUILD_DIR:-$ROOT/build}
NICPERF=$BUILD/nicperf NICD=$BUILD/nicperf-nicd
read -ra nicd_extra <<<"${NICD_ARGS:-}"
read -ra client_extra <<<"${CLIENT_ARGS:-}"
read -ra backends <<<"${BACKENDS:-tap xdp}"
for b in "${backends[@]}"; do
  [[ "$b" == tap || "$b" == xdp ]] || { echo "BACKENDS: unknown backend '$b' (tap, xdp)" >&2; exit 2; }
done
NICD_CLI=nicperf-bc NICD_SRV=nicperf-bs NICD_CLI_ADDR=198.18.0.1 NICD_SRV_ADDR=198.18.0.2
VETH_CLI=nicperf-vc VETH_SRV=nicperf-vs VETH_CLI_DEV=npveth-c VETH_SRV_DEV=npveth-s
VETH_CLI_ADDR=198.19.0.1 VETH_SRV_ADDR=198.19.0.2
PORT_BASE=5400 PORT_SPAN=100 port_i=0

# One run at a time: the namespace names are fixed, and the leftover cleanup below would pull
# them from under a concurrent run.
exec 9>/run/lock/nicperf-nicd-vs-veth.lock
flock -n 9 || { echo "another nicd_vs_veth.sh run holds /run/lock/nicperf-nicd-vs-veth.lock" >&2; exit 2; }

# Debian packages: installed when missing (we are root here), the apt-get line otherwise.
need() {  # need COMMAND PACKAGE
  command -v "$1" >/dev/null && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "bench needs $1; run as root: apt-get install -y $2" >&2
    exit 2
  fi
  echo "# installing Debian package $2"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "$2" >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && apt-get install -y -q "$2" >/dev/null; } ||
    { echo "could not install $2: apt-get install -y $2" >&2; exit 1; }
  command -v "$1" >/dev/null || { echo "$2 installed but $1 is not on PATH" >&2; exit 1; }
}
need ip iproute2
need ss iproute2
need timeout coreutils
need flock util-linux
command -v python3 >/dev/null || need jq jq
[[ ",$SCENARIOS," == *",tcp-offloads-off,"* ]] && need ethtool ethtool
[[ ",$SCENARIOS," == *",udp-small,"* ]] && need iperf3 iperf3

work=$(mktemp -d)
SOCK=$work/nicd.sock
srv_pid="" nicd_pid="" nicd_is_up=0 veth_is_up=0 owns_names=0

kill_server() {  # the one server this script started last, by its PID, if it is still alive
  [ -n "$srv_pid" ] || return 0
  if kill -0 "$srv_pid" 2>/dev/null; then
    kill "$srv_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$srv_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$srv_pid" 2>/dev/null && kill -KILL "$srv_pid" 2>/dev/null
  fi
  wait "$srv_pid" 2>/dev/null || true
  srv_pid=""
}
alive() { [ -n "$1" ] && [ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1)" != Z ]; }
nicd_gone() { ! alive "$nicd_pid" && [ ! -e "/run/netns/$NICD_CLI" ] && [ ! -e "/run/netns/$NICD_SRV" ] && [ ! -e "/run/netns/$NICD_CLI-nicd" ]; }
nicd_down() {
  # With a daemon answering on SOCK it tears itself down; without one, down clears the namespaces.
  timeout -k 5 30 "$NICD" --socket "$SOCK" down --cli-ns "$NICD_CLI" --srv-ns "$NICD_SRV" \
    >>"$work/nicd.log" 2>&1 || echo "warning: nicperf-nicd down failed" >&2
  # down returns once the control socket is gone; the daemon deletes its namespaces after that.
  for _ in $(seq 100); do nicd_gone && break; sleep 0.1; done
  if alive "$nicd_pid"; then  # our daemon, by its PID: SIGTERM is its clean way down too
    echo "warning: nicperf-nicd (pid $nicd_pid) still runs 10 s after down: SIGTERM" >&2
    kill "$nicd_pid" 2>/dev/null
    for _ in $(seq 50); do nicd_gone && break; sleep 0.1; done
  fi
  for ns in "$NICD_CLI" "$NICD_SRV" "$NICD_CLI-nicd"; do
    [ -e "/run/netns/$ns" ] && { ip netns del "$ns" 2>/dev/null || echo "warning: ip netns del $ns failed" >&2; }
  done
  nicd_is_up=0 nicd_pid=""
  return 0
}
veth_down() {
  for ns in "$VETH_CLI" "$VETH_SRV"; do
    [ -e "/run/netns/$ns" ] && { ip netns del "$ns" || echo "warning: ip netns del $ns failed" >&2; }
  done
  ip link show "$VETH_CLI_DEV" >/dev/null 2>&1 && ip link del "$VETH_CLI_DEV" 2>/dev/null
  veth_is_up=0
  return 0
}
cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  kill_server
  [ "$nicd_is_up" = 1 ] && nicd_down
  [ "$veth_is_up" = 1 ] && veth_down
  if [ "$owns_names" = 1 ]; then
    for ns in "$NICD_CLI" "$NICD_SRV" "$NICD_CLI-nicd" "$VETH_CLI" "$VETH_SRV"; do
      [ -e "/run/netns/$ns" ] && echo "warning: namespace $ns is still there" >&2
    done
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {  # fail MESSAGE [LOG...]: what failed, the logs' tails, then exit 1 (the trap cleans up)
  echo "error: $1" >&2
  shift
  for f in "$@"; do [ -s "$f" ] && { echo "--- ${f##*/}:" >&2; tail -20 "$f" >&2; }; done
  exit 1
}

# Build the two binaries (incremental: a no-op when up to date; only these targets, so that a
# test being edited elsewhere in the tree does not stop the benchmark).
if [ "${NO_BUILD:-0}" = 1 ] && [ -x "$NICPERF" ] && [ -x "$NICD" ]; then
  :
else
  echo "# building $BUILD (Release)"
  { cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release && cmake --build "$BUILD" -j2 --target nicperf nicperf-nicd; } \
    >"$work/build.log" 2>&1 || fail "the build failed" "$work/build.log"
fi
[ -x "$NICPERF" ] && [ -x "$NICD" ] || fail "no $NICPERF or $NICD after the build"

# Leftovers of an earlier run (it holds no lock now): its daemons, then the namespaces.
for cmdline in /proc/[0-9]*/cmdline; do
  { mapfile -d '' -t argv <"$cmdline"; } 2>/dev/null || continue  # a process gone meanwhile
  [ ${#argv[@]} -gt 1 ] && [[ "${argv[0]##*/}" == nicperf-nicd ]] || continue
  [[ " ${argv[*]} " == *" up "* && " ${argv[*]} " == *" $NICD_CLI "* ]] || continue
  old_sock=""
  for ((i = 0; i < ${#argv[@]} - 1; i++)); do [ "${argv[i]}" = --socket ] && old_sock=${argv[i + 1]}; done
  [ -n "$old_sock" ] || continue
  echo "# stopping a leftover nicperf-nicd on $old_sock"
  timeout -k 5 30 "$NICD" --socket "$old_sock" down >/dev/null 2>&1 || true
done
owns_names=1
[ -e "/run/netns/$NICD_CLI" ] || [ -e "/run/netns/$NICD_SRV" ] || [ -e "/run/netns/$NICD_CLI-nicd" ] && nicd_down
veth_down

busy_share() {  # percent of the last 0.5 s the CPUs were busy (shown, not judged)
  local a b
  a=$(head -1 /proc/stat); sleep 0.5; b=$(head -1 /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN { n = split(a, x); split(b, y); tot = 0
    for (i = 2; i <= n; i++) tot += y[i] - x[i]
    idle = (y[5] - x[5]) + (y[6] - x[6]); printf "%.0f", tot ? 100 * (tot - idle) / tot : 0 }'
}
next_port() { port=$((PORT_BASE + port_i % PORT_SPAN)); port_i=$((port_i + 1)); }
wait_listen() {  # wait_listen NS PORT LOG: until the server listens (5 s at most)
  for _ in $(seq 100); do
    kill -0 "$srv_pid" 2>/dev/null || fail "the server in $1 exited before listening on $2" "$3"
    ip netns exec "$1" ss -Hltn "sport = :$2" 2>/dev/null | grep -q . && return 0
    sleep 0.05
  done
  fail "the server in $1 did not listen on port $2 within 5 s" "$3"
}
wait_server_exit() {  # a one-off server ends after its test; give it 5 s, then stop it
  for _ in $(seq 50); do kill -0 "$srv_pid" 2>/dev/null || break; sleep 0.1; done
  kill_server
}

tcp_gbps() {  # received Gbit/s of a nicperf -J document
  if command -v python3 >/dev/null; then
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["end"]["sum_received"]["bits_per_second"]/1e9)' "$1"
  else
    jq -er '.end.sum_received.bits_per_second / 1e9' "$1"
  fi
}
# Received datagrams/s (in thousands) and the loss percent of an iperf3 -u -J client document.
# iperf3 3.9+ has end.sum_received, the receiver's own figures (its bytes / the block length =
# datagrams received; its packets - lost_packets is the same count from sequence numbers); an
# older one has only end.sum, where packets - lost_packets is what the receiver got.
udp_kpps() {
  if command -v python3 >/dev/null; then
    python3 - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
if d.get("error"): sys.exit("iperf3: " + d["error"])
e, blk = d["end"], d["start"]["test_start"]["blksize"]
s = e.get("sum_received")
if s:
    got = s["bytes"] / blk
    by_seq = s["packets"] - s["lost_packets"]
    if abs(by_seq - got) > 0.01 * max(got, 1):
        print(f"note: iperf3 receiver bytes give {got:.0f} datagrams, packets-lost {by_seq}", file=sys.stderr)
else:
    s = e["sum"]
    got = s["packets"] - s["lost_packets"]
secs = s["seconds"] or d["start"]["test_start"]["duration"]
print(got / secs / 1e3, s["lost_percent"])
PY
  else
    jq -er 'if .error then error(.error) else . end | .start.test_start.blksize as $b | .end
      | (.sum_received // .sum) as $s
      | (if .sum_received then $s.bytes / $b else $s.packets - $s.lost_packets end) / $s.seconds / 1e3
      | tostring + " " + ($s.lost_percent | tostring)' "$1"
  fi
}

# One nicperf run: nicperf -s -1 in SRV_NS, the client with ARGS in CLI_NS, its -J document in
# $work/TAG.json. (The runs set globals rather than print: a $(...) subshell would hide srv_pid
# from the cleanup trap.)
nicperf_run() {  # nicperf_run CLI_NS SRV_NS SRV_ADDR TAG ARGS...
  local cli=$1 srv=$2 addr=$3 tag=$4
  shift 4
  local log="$work/$tag.srv.log" json="$work/$tag.json" err="$work/$tag.err"
  next_port
  "$NICPERF" -s --netns "$srv" -p "$port" -1 >"$log" 2>&1 &
  srv_pid=$!
  wait_listen "$srv" "$port" "$log"
  timeout --foreground -k 5 $((SECS + 40)) \
    "$NICPERF" -c "$addr" -p "$port" --netns "$cli" -t "$SECS" --cost off -J "$@" "${client_extra[@]}" \
    >"$json" 2>"$err" || fail "nicperf client $cli -> $addr:$port failed" "$err" "$json" "$log"
  wait_server_exit
}
# TCP: RESULT is Gbit/s.
tcp_run() {  # tcp_run CLI_NS SRV_NS SRV_ADDR TAG
  nicperf_run "$@"
  RESULT=$(tcp_gbps "$work/$4.json" 2>>"$work/$4.err") ||
    fail "no end.sum_received.bits_per_second in $4's JSON" "$work/$4.err" "$work/$4.json"
}
# 64-byte UDP sent with sendmmsg and received with recvmmsg: RESULT is "kpps loss%", from the
# receiver's own figures.
nicperf_udp_run() {  # nicperf_udp_run CLI_NS SRV_NS SRV_ADDR TAG
  nicperf_run "$@" -u -l 64 -b 0 --mode sendmmsg --recv-mode recvmmsg
  RESULT=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["end"]["sum_received"]
print(s["bytes"] / 64 / s["seconds"] / 1e3, s["lost_percent"])' "$work/$4.json" 2>>"$work/$4.err") ||
    fail "no end.sum_received in $4's JSON" "$work/$4.err" "$work/$4.json"
}
# One UDP run: iperf3 -s -1 in SRV_NS, iperf3 -u -l 64 -b 0 in CLI_NS; sets RESULT to "kpps loss%".
udp_run() {  # udp_run CLI_NS SRV_NS SRV_ADDR TAG
  local log="$work/$4.srv.log" json="$work/$4.json" err="$work/$4.err"
  next_port
  ip netns exec "$2" iperf3 -s -1 -p "$port" >"$log" 2>&1 &
  srv_pid=$!
  wait_listen "$2" "$port" "$log"
  timeout --foreground -k 5 $((SECS + 40)) ip netns exec "$1" \
    iperf3 -c "$3" -p "$port" -u -l 64 -b 0 -t "$SECS" -J >"$json" 2>"$err" ||
    fail "iperf3 client $1 -> $3:$port failed" "$err" "$json" "$log"
  wait_server_exit
  RESULT=$(udp_kpps "$json" 2>>"$err") || fail "no received datagram count in $4's JSON" "$err" "$json"
}

nicd_up() {  # nicd_up [up args...]; up returns once the daemon serves, saying its pid
  local out rc=0
  nicd_is_up=1 REFUSED=""
  out=$(timeout -k 5 60 "$NICD" --socket "$SOCK" up --cli-ns "$NICD_CLI" --srv-ns "$NICD_SRV" \
    "$@" "${nicd_extra[@]}" 2>&1) || rc=$?
  if [ "$rc" = 2 ]; then  # a usage refusal (the xdp backend's limits): a row, not a failure
    REFUSED=${out#nicperf-nicd: error: } nicd_is_up=0
    return 0
  fi
  [ "$rc" = 0 ] || { echo "$out" >>"$work/nicd.log"; fail "nicperf-nicd up $* ${nicd_extra[*]} failed" "$work/nicd.log"; }
  echo "$out" >>"$work/nicd.log"
  nicd_pid=$(sed -n 's/.*up (pid \([0-9]*\)).*/\1/p' <<<"$out" | head -1)
}
veth_up() {
  veth_is_up=1
  {
    ip netns add "$VETH_CLI" && ip netns add "$VETH_SRV" &&
      ip link add "$VETH_CLI_DEV" netns "$VETH_CLI" type veth peer name "$VETH_SRV_DEV" netns "$VETH_SRV" &&
      ip -n "$VETH_CLI" addr add "$VETH_CLI_ADDR/24" dev "$VETH_CLI_DEV" nodad &&
      ip -n "$VETH_SRV" addr add "$VETH_SRV_ADDR/24" dev "$VETH_SRV_DEV" nodad &&
      ip -n "$VETH_CLI" link set lo up && ip -n "$VETH_SRV" link set lo up &&
      ip -n "$VETH_CLI" link set "$VETH_CLI_DEV" up && ip -n "$VETH_SRV" link set "$VETH_SRV_DEV" up
  } >>"$work/veth.log" 2>&1 || fail "creating the veth pair failed" "$work/veth.log"
}
veth_offloads_off() {
  ip netns exec "$VETH_CLI" ethtool -K "$VETH_CLI_DEV" tso off gso off gro off >>"$work/veth.log" 2>&1 &&
    ip netns exec "$VETH_SRV" ethtool -K "$VETH_SRV_DEV" tso off gso off gro off >>"$work/veth.log" 2>&1 ||
    fail "ethtool -K ... tso off gso off gro off on the veth pair failed" "$work/veth.log"
}
offload_summary() {  # offload_summary NS DEV: "tso on gso on gro on"
  ip netns exec "$1" ethtool -k "$2" 2>/dev/null | awk -F': ' '
    /^tcp-segmentation-offload:/ {t=$2} /^generic-segmentation-offload:/ {g=$2}
    /^generic-receive-offload:/ {r=$2} END {split(t,a," "); split(g,b," "); split(r,c," ")
    printf "tso %s gso %s gro %s", a[1], b[1], c[1]}'
}

# nicd's CPU per frame since its last reset: queue threads' run time / frames, both directions.
nicd_ns_per_frame() {
  "$NICD" --socket "$SOCK" stats --json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)["directions"]
qs = d["cli_to_srv"] + d["srv_to_cli"]
frames = sum(q["frames"] + q["drops"] + q["lost"] for q in qs)
print(sum(q["busy_ns"] for q in qs) / frames if frames else 0)' 2>/dev/null || echo 0
}

stats() {  # stats FILE: "median min max"
  sort -g "$1" | awk '{v[NR] = $1} END { if (!NR) exit 1
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m, v[1], v[NR] }'
}

pinned="nothing pinned"
[ -n "${NICD_ARGS:-}${CLIENT_ARGS:-}" ] && pinned="nothing pinned but what the extra args below pin"
echo "# nicperf-nicd vs veth: $ROUNDS rounds of $SECS s per scenario, alternating nicd/veth, $pinned"
echo "# $(date '+%Y-%m-%d %H:%M:%S %z'), kernel $(uname -r), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
echo "# $("$NICPERF" --version | head -1 | cut -d' ' -f1-2), nicperf-nicd extra args: ${NICD_ARGS:-none}, client extra args: ${CLIENT_ARGS:-none}"
echo "# nicd: $NICD_CLI ($NICD_CLI_ADDR) -> $NICD_SRV ($NICD_SRV_ADDR); veth: $VETH_CLI ($VETH_CLI_ADDR) -> $VETH_SRV ($VETH_SRV_ADDR); MTU 1500"
[[ ",$SCENARIOS," == *",udp-small,"* ]] && echo "# $(iperf3 --version | head -1 | cut -d' ' -f1-2) for udp-small"

rows=()
for sc in "${scenario_list[@]}"; do
  case $sc in
    tcp-offloads-on) up_args=() target=0.8 unit="Gbit/s" run=tcp_run ;;
    tcp-offloads-off) up_args=(--tso off --gro off) target=0.5 unit="Gbit/s" run=tcp_run ;;
    udp-small) up_args=() target=0.8 unit="kpps" run=udp_run ;;
    udp-small-batch) up_args=() target=0.8 unit="kpps" run=nicperf_udp_run ;;
  esac
  for be in "${backends[@]}"; do
    be_args=(--backend "$be")
    # The xdp backend carries MTU frames: it takes --tso off, and refuses a scenario needing on.
    [ "$be" = xdp ] && [[ "$sc" == udp-small* ]] && be_args+=(--tso off)
    nicd_up "${up_args[@]}" "${be_args[@]}"
    if [ -n "$REFUSED" ]; then
      echo "## $sc on $be: refused: $REFUSED"
      rows+=("$(printf "%-17s %-4s refused: %s" "$sc" "$be" "$REFUSED")")
      continue
    fi
    veth_up
    [ "$sc" = tcp-offloads-off ] && veth_offloads_off
    veth_state=""
    command -v ethtool >/dev/null &&
      veth_state=" (veth $(offload_summary "$VETH_CLI" "$VETH_CLI_DEV") / $(offload_summary "$VETH_SRV" "$VETH_SRV_DEV"))"
    echo "## $sc on $be: nicd up ${up_args[*]} ${be_args[*]}${NICD_ARGS:+ $NICD_ARGS}$veth_state"
    tag=$sc.$be
    : >"$work/$tag.nicd"; : >"$work/$tag.veth"; : >"$work/$tag.cpf"
    for r in $(seq "$ROUNDS"); do
      busy_n=$(busy_share)
      "$NICD" --socket "$SOCK" reset >/dev/null 2>&1 || true
      a=$(cpu_line)
      $run "$NICD_CLI" "$NICD_SRV" "$NICD_SRV_ADDR" "$tag.nicd.$r"; n=$RESULT
      steal_n=$(steal_share "$a" "$(cpu_line)")
      cpf=$(nicd_ns_per_frame)
      busy_v=$(busy_share)
      a=$(cpu_line)
      $run "$VETH_CLI" "$VETH_SRV" "$VETH_SRV_ADDR" "$tag.veth.$r"; v=$RESULT
      steal_v=$(steal_share "$a" "$(cpu_line)")
      mark_n=$(awk -v s="$steal_n" -v m="$STEAL_MARK" 'BEGIN { print (s > m) ? "!" : " " }')
      mark_v=$(awk -v s="$steal_v" -v m="$STEAL_MARK" 'BEGIN { print (s > m) ? "!" : " " }')
      echo "${n%% *}" >>"$work/$tag.nicd"; echo "${v%% *}" >>"$work/$tag.veth"; echo "$cpf" >>"$work/$tag.cpf"
      if [ "$unit" = kpps ]; then
        printf "%-17s %-4s round %d  nicd %9.1f kpps (lost %5.1f%%, %5.0f ns/frame, busy-before %3s%%, steal %4s%%)%s  veth %9.1f kpps (lost %5.1f%%, busy-before %3s%%, steal %4s%%)%s\n" \
          "$sc" "$be" "$r" "${n% *}" "${n#* }" "$cpf" "$busy_n" "$steal_n" "$mark_n" "${v% *}" "${v#* }" "$busy_v" "$steal_v" "$mark_v"
      else
        printf "%-17s %-4s round %d  nicd %7.2f Gbit/s (%5.0f ns/frame, busy-before %3s%%, steal %4s%%)%s  veth %7.2f Gbit/s (busy-before %3s%%, steal %4s%%)%s\n" \
          "$sc" "$be" "$r" "$n" "$cpf" "$busy_n" "$steal_n" "$mark_n" "$v" "$busy_v" "$steal_v" "$mark_v"
      fi
    done
    nicd_down
    veth_down
    read -r nm nlo nhi < <(stats "$work/$tag.nicd")
    read -r vm vlo vhi < <(stats "$work/$tag.veth")
    read -r cm _ _ < <(stats "$work/$tag.cpf")
    dec=2; [ "$unit" = kpps ] && dec=1
    rows+=("$(awk -v sc="$sc" -v be="$be" -v nm="$nm" -v nlo="$nlo" -v nhi="$nhi" -v vm="$vm" -v vlo="$vlo" \
      -v vhi="$vhi" -v u="$unit" -v t="$target" -v d="$dec" -v cm="$cm" 'BEGIN {
      f = "%." d "f [%." d "f-%." d "f] %s"
      ratio = vm > 0 ? nm / vm : 0
      printf "%-17s %-4s %-29s %-29s %-6.2f %-9.0f >=%s %s", sc, be, sprintf(f, nm, nlo, nhi, u),
        sprintf(f, vm, vlo, vhi, u), ratio, cm, t, (vm > 0 && ratio >= t) ? "met" : "NOT met" }')")
  done
done

echo
printf "%-17s %-4s %-29s %-29s %-6s %-9s %s\n" scenario nicd "nicd (median [min-max])" "veth (median [min-max])" ratio "ns/frame" target
printf "%s\n" "${rows[@]}"
