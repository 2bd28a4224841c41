/* The layout the in-kernel cost collector shares with user space (irq_cost.bpf.c and
 * bpf_tracer.cpp): C, so that clang -target bpf and g++ both read it. */
#ifndef NICPERF_COST_BPF_IRQ_COST_H
#define NICPERF_COST_BPF_IRQ_COST_H

#include <linux/types.h>

#define NP_STREAM_SLOTS 128 /* stream threads past this count as the rest of the process */
enum np_slot {
  NP_SLOT_REST = NP_STREAM_SLOTS, /* the rest of this process (its tgid) */
  NP_SLOT_PEER,                   /* the peer process on the same kernel */
  NP_SLOT_IDLE,                   /* tid 0 */
  NP_SLOT_KSOFTIRQD,
  NP_SLOT_NAPI, /* threaded NAPI kthreads, comm "napi/..." */
  NP_SLOT_OTHER,
  NP_SLOT_COUNT
};
/* One program set serves both sides on one kernel: the process that loaded it (the server)
 * registers its stream threads in slots 0.., the peer that joined it (the client) in slots
 * NP_GUEST_BASE.., past the fixed ones, so each side still tells its own threads apart. */
#define NP_GUEST_BASE NP_SLOT_COUNT
#define NP_MAP_SLOTS (NP_SLOT_COUNT + NP_STREAM_SLOTS)
enum np_class { NP_CLASS_NET_RX, NP_CLASS_NET_TX, NP_CLASS_SOFTIRQ_OTHER, NP_CLASS_HARDIRQ, NP_CLASS_COUNT };
#define NP_VECTORS 10
#define NP_NAPI_BUCKETS 9 /* work per poll: 0, 1, 2-3, 4-7, ..., 64-127, 128+ */
#define NP_DEV_LEN 16

struct np_charge {
  __u64 ns;
  __u64 count;   /* completed intervals */
  __u64 entries; /* entries seen (per vector: the /proc/softirqs count) */
};

struct np_tid_key {
  __u32 tid;
  __u32 cls;
};

struct np_napi_key {
  char dev[NP_DEV_LEN];
};

struct np_napi_val {
  __u64 polls, packets, exhausted;
  __u64 hist[NP_NAPI_BUCKETS];
};

/* The raw_tp program's value, keyed by the napi_struct's address: the device's name is read
 * once, when this CPU first sees the instance, not on every poll. */
struct np_napi_inst {
  struct np_napi_val v;
  char dev[NP_DEV_LEN];
};

#endif
