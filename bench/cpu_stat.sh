# Sourced by the benches: the machine's CPU time from /proc/stat's first line. On these VMs a
# third of a vCPU can go to the hypervisor now and then; each run records its steal share.
cpu_line() { head -1 /proc/stat; }
steal_share() {  # steal_share LINE_BEFORE LINE_AFTER: % of CPU time stolen between them
  python3 - "$1" "$2" <<'PY'
import sys
a=[int(x) for x in sys.argv[1].split()[1:]]; b=[int(x) for x in sys.argv[2].split()[1:]]
d=[y-x for x,y in zip(a,b)]; tot=sum(d) or 1
print(f"{100*(d[7] if len(d)>7 else 0)/tot:.1f}")
PY
}
