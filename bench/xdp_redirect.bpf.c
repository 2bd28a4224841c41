// bench/forwarders.sh's kernel forwarder: every frame arriving on one veth leaves by the
// other (OUT_IFINDEX, set at compile time), with no userspace, no copy and no model; and an
// XDP_PASS program that gives the namespace-side veths their NAPI ring.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int redirect(struct xdp_md *ctx) {
  return bpf_redirect(OUT_IFINDEX, 0);
}

SEC("xdp")
int pass(struct xdp_md *ctx) {
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
