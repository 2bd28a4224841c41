#!/usr/bin/env bash
# What a device hop between two namespaces costs on this machine, whoever forwards: 64-byte UDP
# (nicperf sendmmsg -> recvmmsg, -b 0) through three paths in the same run, alternating:
#   nicd      nicperf-nicd up --backend xdp --tso off (AF_XDP, the emulated NIC)
#   kernel    the same veth layout with an XDP program on each forwarding veth that redirects
#             every frame to the other one (bpf_redirect): a forwarder with no userspace, no copy
#             and no model, whose work runs in the sender's softirq, on the sender's CPU
#   veth      one veth pair between the two namespaces (no hop), the baseline
# Prints each round, then per path median [min-max] kpps received and its ratio to veth.
#
#   sudo bench/forwarders.sh [-r ROUNDS] [-t SECONDS] [-h]
# Environment: BUILD_DIR (default ROOT/build), CLIENT_ARGS (extra args for every client, e.g.
# "-A 0/1"), NO_BUILD=1 (skip the build when both binaries exist), STEAL_MARK (default 5: runs
# with more stolen CPU than that % are marked '!').
# Needs root, clang and iproute2 (installed when missing). Exits 0 with the table, 1 when a run
# failed, 2 on usage.
set -euo pipefail
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/cpu_stat.sh
. bench/rounds.sh
STEAL_MARK=${STEAL_MARK:-5}
ROUNDS=5 SECS=3
usage() { sed -n '2,19p' "$SELF" | sed 's/^# \{0,1\}//'; }
while getopts "r:t:h" opt; do
  case $opt in
    r) ROUNDS=$OPTARG ;; t) SECS=$OPTARG ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || { echo "unexpected argument: $1 (see -h)" >&2; exit 2; }
check_rounds_secs "$ROUNDS" "$SECS"
[ "$(id -u)" -eq 0 ] || { echo "needs root (namespaces, XDP)" >&2; exit 2; }
for pkg in clang:clang ip:iproute2 ethtool:ethtool python3:python3; do
  command -v "${pkg%%:*}" >/dev/null && continue
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${pkg#*:}" >/dev/null 2>&1 ||
    { echo "could not install ${pkg#*:}: apt-get install -y ${pkg#*:}" >&2; exit 1; }
done

BUILD=${BUILD_DIR:-$ROOT/build}
NICPERF=$BUILD/nicperf NICD=$BUILD/nicperf-nicd
read -ra client_extra <<<"${CLIENT_ARGS:-}"
# nicd's namespaces (made by nicd), the kernel forwarder's (cli, fwd, srv) and veth's.
NC=nicperf-fc NS=nicperf-fs KC=nicperf-kc KF=nicperf-kf KS=nicperf-ks VC=nicperf-gc VS=nicperf-gs
exec 9>/run/lock/nicperf-forwarders.lock
flock -n 9 || { echo "another forwarders.sh run holds its lock" >&2; exit 2; }

work=$(mktemp -d)
SOCK=$work/nicd.sock srv_pid=""
cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
  [ -S "$SOCK" ] && timeout -k 5 30 "$NICD" --socket "$SOCK" down >/dev/null 2>&1
  for ns in "$KC" "$KF" "$KS" "$VC" "$VS"; do
    [ -e "/run/netns/$ns" ] && ip netns del "$ns"
  done
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fail() { echo "error: $1" >&2; [ -n "${2:-}" ] && [ -s "$2" ] && tail -20 "$2" >&2; exit 1; }

if [ "${NO_BUILD:-0}" != 1 ] || [ ! -x "$NICPERF" ] || [ ! -x "$NICD" ]; then
  { cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release &&
    cmake --build "$BUILD" -j2 --target nicperf nicperf-nicd; } >"$work/build.log" 2>&1 ||
    fail "the build failed" "$work/build.log"
fi
for ns in "$KC" "$KF" "$KS" "$VC" "$VS"; do  # leftovers of a killed run (we hold the lock)
  [ -e "/run/netns/$ns" ] && ip netns del "$ns"
done

# nicd: its xdp backend, MTU frames (64-byte datagrams are single frames anyway).
out=$("$NICD" --socket "$SOCK" up --cli-ns "$NC" --srv-ns "$NS" --backend xdp --tso off 2>&1) ||
  fail "nicperf-nicd up --backend xdp failed: $out"

# The kernel forwarder: cli veth <-> fwd veth (XDP redirect) <-> fwd veth <-> srv veth.
kernel_up() {
  local ns
  for ns in "$KC" "$KF" "$KS"; do ip netns add "$ns" && ip -n "$ns" link set lo up || return 1; done
  ip link add kc0 netns "$KC" type veth peer name kc1 netns "$KF" || return 1
  ip link add ks0 netns "$KS" type veth peer name ks1 netns "$KF" || return 1
  ip -n "$KC" addr add 198.18.7.1/24 dev kc0 nodad || return 1
  ip -n "$KS" addr add 198.18.7.2/24 dev ks0 nodad || return 1
  # A redirected frame keeps no checksum offload state: the senders checksum in software, as
  # nicd's xdp backend has them do.
  ip netns exec "$KC" ethtool -K kc0 tx off >/dev/null || return 1
  ip netns exec "$KS" ethtool -K ks0 tx off >/dev/null || return 1
  local to_c to_s
  to_c=$(ip -n "$KF" -o link show kc1 | cut -d: -f1) || return 1
  to_s=$(ip -n "$KF" -o link show ks1 | cut -d: -f1) || return 1
  local side
  for side in "s:$to_s" "c:$to_c"; do  # to_s.o redirects to the server's side, to_c.o back
    clang -O2 -g -target bpf -I/usr/include/"$(uname -m)"-linux-gnu -DOUT_IFINDEX="${side#*:}" \
      -c bench/xdp_redirect.bpf.c -o "$work/to_${side%%:*}.o" || return 1
  done
  ip -n "$KF" link set dev kc1 xdp obj "$work/to_s.o" program redirect || return 1
  ip -n "$KF" link set dev ks1 xdp obj "$work/to_c.o" program redirect || return 1
  # A frame redirected into a veth lands in its peer's NAPI ring, which exists only while the
  # peer has an XDP program or GRO on: XDP_PASS here (nicd's namespace-side veths have GRO).
  ip -n "$KC" link set dev kc0 xdp obj "$work/to_c.o" program pass || return 1
  ip -n "$KS" link set dev ks0 xdp obj "$work/to_c.o" program pass || return 1
  for ns in "$KC:kc0" "$KF:kc1" "$KF:ks1" "$KS:ks0"; do ip -n "${ns%%:*}" link set "${ns#*:}" up || return 1; done
}
veth_up() {
  ip netns add "$VC" && ip netns add "$VS" || return 1
  ip link add gc0 netns "$VC" type veth peer name gs0 netns "$VS" || return 1
  ip -n "$VC" addr add 198.18.8.1/24 dev gc0 nodad || return 1
  ip -n "$VS" addr add 198.18.8.2/24 dev gs0 nodad || return 1
  for ns in "$VC:gc0" "$VC:lo" "$VS:gs0" "$VS:lo"; do ip -n "${ns%%:*}" link set "${ns#*:}" up || return 1; done
}
kernel_up >"$work/kernel.log" 2>&1 || fail "setting up the XDP forwarder failed" "$work/kernel.log"
veth_up >"$work/veth.log" 2>&1 || fail "creating the veth pair failed" "$work/veth.log"

port=5600
run() {  # run CLI_NS SRV_NS SRV_ADDR: RESULT="kpps lost%"
  port=$((port + 1))
  "$NICPERF" -s --netns "$2" -p "$port" -1 >"$work/srv.log" 2>&1 &
  srv_pid=$!
  for _ in $(seq 100); do
    ip netns exec "$2" ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && break
    sleep 0.05
  done
  timeout --foreground -k 5 $((SECS + 40)) "$NICPERF" -c "$3" -p "$port" --netns "$1" -t "$SECS" \
    --cost off -J -u -l 64 -b 0 --mode sendmmsg --recv-mode recvmmsg "${client_extra[@]}" \
    >"$work/run.json" 2>"$work/run.err" || fail "client $1 -> $3 failed" "$work/run.err"
  wait "$srv_pid" 2>/dev/null || true
  srv_pid=""
  RESULT=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["end"]["sum_received"]
print("%.1f %.1f" % (s["bytes"] / 64 / s["seconds"] / 1e3, s["lost_percent"]))' "$work/run.json")
}

echo "# 64-byte UDP through a device hop: $ROUNDS rounds of $SECS s, alternating nicd/kernel/veth"
echo "# $(date '+%F %T %z'), kernel $(uname -r), $(nproc) CPUs, client extra args: ${CLIENT_ARGS:-none}"
paths=(nicd:"$NC":"$NS":198.18.0.2 kernel:"$KC":"$KS":198.18.7.2 veth:"$VC":"$VS":198.18.8.2)
for r in $(seq "$ROUNDS"); do
  line="round $r"
  for p in "${paths[@]}"; do
    IFS=: read -r name cli srv addr <<<"$p"
    a=$(cpu_line)
    run "$cli" "$srv" "$addr"
    steal=$(steal_share "$a" "$(cpu_line)")
    mark=$(awk -v s="$steal" -v m="$STEAL_MARK" 'BEGIN { print (s > m) ? "!" : "" }')
    echo "${RESULT%% *}" >>"$work/$name"
    line+=$(printf "  %s %6.1f kpps (lost %4.1f%%, steal %4s%%)%s" "$name" "${RESULT% *}" "${RESULT#* }" "$steal" "$mark")
  done
  echo "$line"
done
echo
python3 - "$work" <<'PY'
import statistics, sys
d = sys.argv[1]
vals = {n: [float(x) for x in open(f"{d}/{n}")] for n in ("nicd", "kernel", "veth")}
veth = statistics.median(vals["veth"])
print("%-7s %-30s %s" % ("path", "received kpps (median [min-max])", "ratio to veth"))
for n, v in vals.items():
    m = statistics.median(v)
    print("%-7s %-30s %.2f" % (n, "%.1f [%.1f-%.1f]" % (m, min(v), max(v)), m / veth if veth else 0))
PY
