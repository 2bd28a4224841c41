// SPDX-License-Identifier: GPL-2.0
/* The in-kernel cost collector: hardirq and softirq intervals paired per CPU and summed into
 * per-CPU maps keyed by (slot, class), with per-vector, per-IRQ and NAPI poll totals. User space
 * reads the maps at the window's edges and diffs them: no per-event record leaves the kernel.
 * raw_tp programs read the integer arguments from ctx->args[], so no vmlinux.h is needed. */
#include <linux/bpf.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "irq_cost.h"

char LICENSE[] SEC("license") = "GPL";

/* napi:napi_poll field offsets, read from tracefs's format file before the load. */
const volatile __u32 napi_dev_off = 16, napi_work_off = 20, napi_budget_off = 24;

/* Written by user space while loaded: this process and the peer on the same kernel (0: none),
 * and a generation it bumps whenever tid_slot, self_tgid or peer_tgid change. */
volatile __u32 self_tgid = 0, peer_tgid = 0, slot_gen = 1;

struct cpu_state {
  __u64 sirq_start, sirq_nested, irq_start;
  __u32 sirq_vec, irq_no;
  /* The slot of the task last seen on this CPU: on a busy CPU the same task takes softirq after
   * softirq, and this spares the tid_slot hash lookup and the comm read for each. */
  __u32 cached_tid, cached_slot, cached_gen;
  __u8 sirq_active, irq_active;
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cpu_state);
} state SEC(".maps");

/* Registered threads: tid -> slot (stream threads; other tests' threads as NP_SLOT_OTHER). */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, __u32);
} tid_slot SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, NP_MAP_SLOTS * NP_CLASS_COUNT);
  __type(key, __u32);
  __type(value, struct np_charge);
} slot_class SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, NP_VECTORS);
  __type(key, __u32);
  __type(value, struct np_charge);
} vectors SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, struct np_charge);
} irqs SEC(".maps");

/* Time charged to unregistered tasks of other processes, per tid (the NIC's queue threads):
 * only events that land in NP_SLOT_OTHER pay for this lookup. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
  __uint(max_entries, 4096);
  __type(key, struct np_tid_key);
  __type(value, struct np_charge);
} other_tids SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 256);
  __type(key, struct np_napi_key);
  __type(value, struct np_napi_val);
} napi SEC(".maps");

/* The raw_tp form of napi_poll: per napi instance, its device's name relocated by CO-RE from
 * the kernel's BTF (the two fields below are all it needs, no vmlinux.h). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 1024);
  __type(key, __u64);
  __type(value, struct np_napi_inst);
} napi_inst SEC(".maps");

struct net_device {
  char name[NP_DEV_LEN];
} __attribute__((preserve_access_index));

struct napi_struct {
  struct net_device *dev;
} __attribute__((preserve_access_index));

static __always_inline struct cpu_state *cpu(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&state, &zero);
}

static __always_inline __u32 lookup_slot(__u32 tid, __u32 tgid) {
  if (tid == 0) return NP_SLOT_IDLE;
  __u32 *s = bpf_map_lookup_elem(&tid_slot, &tid);
  if (s) return *s;
  if (tgid == self_tgid) return NP_SLOT_REST;
  if (peer_tgid && tgid == peer_tgid) return NP_SLOT_PEER;
  char comm[16];
  bpf_get_current_comm(comm, sizeof comm);
  if (comm[0] == 'k' && comm[1] == 's' && comm[2] == 'o' && comm[3] == 'f' && comm[4] == 't' &&
      comm[5] == 'i' && comm[6] == 'r' && comm[7] == 'q' && comm[8] == 'd')
    return NP_SLOT_KSOFTIRQD;
  if (comm[0] == 'n' && comm[1] == 'a' && comm[2] == 'p' && comm[3] == 'i' && comm[4] == '/')
    return NP_SLOT_NAPI;
  return NP_SLOT_OTHER;
}

static __always_inline __u32 slot_of(struct cpu_state *s, __u32 *tid_out) {
  __u64 id = bpf_get_current_pid_tgid();
  __u32 tid = (__u32)id, gen = slot_gen;
  *tid_out = tid;
  if (s->cached_tid == tid && s->cached_gen == gen) return s->cached_slot;
  __u32 slot = lookup_slot(tid, (__u32)(id >> 32));
  s->cached_tid = tid;
  s->cached_slot = slot;
  s->cached_gen = gen;
  return slot;
}

static __always_inline void add(void *map, __u32 key, __u64 ns) {
  struct np_charge *c = bpf_map_lookup_elem(map, &key);
  if (!c) return;
  c->ns += ns;
  c->count += 1;
}

static __always_inline void charge(struct cpu_state *s, __u32 cls, __u64 ns) {
  __u32 tid = 0, slot = slot_of(s, &tid);
  add(&slot_class, slot * NP_CLASS_COUNT + cls, ns);
  if (slot != NP_SLOT_OTHER) return;
  struct np_tid_key key = {tid, cls};
  struct np_charge *c = bpf_map_lookup_elem(&other_tids, &key);
  if (c) {
    c->ns += ns;
    c->count += 1;
  } else {
    struct np_charge fresh = {ns, 1, 0};
    bpf_map_update_elem(&other_tids, &key, &fresh, BPF_ANY);
  }
}

/* The entry only stores: everything else waits for the exit, which runs once per entry. */
SEC("raw_tp/softirq_entry")
int softirq_entry(struct bpf_raw_tracepoint_args *ctx) {
  struct cpu_state *s = cpu();
  if (!s) return 0;
  s->sirq_start = bpf_ktime_get_ns();
  s->sirq_nested = 0;
  s->sirq_vec = (__u32)ctx->args[0];
  s->sirq_active = 1;
  return 0;
}

SEC("raw_tp/softirq_exit")
int softirq_exit(struct bpf_raw_tracepoint_args *ctx) {
  struct cpu_state *s = cpu();
  __u32 vec = (__u32)ctx->args[0];
  if (!s || !s->sirq_active || vec != s->sirq_vec) return 0;  // entry before the load
  s->sirq_active = 0;
  __u64 ns = bpf_ktime_get_ns() - s->sirq_start;
  ns = ns > s->sirq_nested ? ns - s->sirq_nested : 0;
  /* Entries are counted here, with their interval: an entry whose exit is still to come at the
   * window's edge counts in the next window (the truth check allows the events open there). */
  struct np_charge *v = bpf_map_lookup_elem(&vectors, &vec);
  if (v) {
    v->ns += ns;
    v->count += 1;
    v->entries += 1;
  }
  charge(s, vec == 3 ? NP_CLASS_NET_RX : vec == 2 ? NP_CLASS_NET_TX : NP_CLASS_SOFTIRQ_OTHER, ns);
  return 0;
}

SEC("raw_tp/irq_handler_entry")
int irq_entry(struct bpf_raw_tracepoint_args *ctx) {
  struct cpu_state *s = cpu();
  if (!s) return 0;
  s->irq_start = bpf_ktime_get_ns();
  s->irq_no = (__u32)ctx->args[0];
  s->irq_active = 1;
  return 0;
}

SEC("raw_tp/irq_handler_exit")
int irq_exit(struct bpf_raw_tracepoint_args *ctx) {
  struct cpu_state *s = cpu();
  __u32 irq = (__u32)ctx->args[0];
  if (!s || !s->irq_active || irq != s->irq_no) return 0;
  s->irq_active = 0;
  __u64 ns = bpf_ktime_get_ns() - s->irq_start;
  if (s->sirq_active) s->sirq_nested += ns;  // taken out of the softirq it interrupted
  struct np_charge *c = bpf_map_lookup_elem(&irqs, &irq);
  if (c) {
    c->ns += ns;
    c->count += 1;
    c->entries += 1;
  } else {
    struct np_charge fresh = {ns, 1, 1};
    bpf_map_update_elem(&irqs, &irq, &fresh, BPF_ANY);
  }
  charge(s, NP_CLASS_HARDIRQ, ns);
  return 0;
}

static __always_inline __u32 bucket(__s32 work) {
  if (work <= 0) return 0;
  __u32 b = 1;
  if (work >= 2) b = 2;
  if (work >= 4) b = 3;
  if (work >= 8) b = 4;
  if (work >= 16) b = 5;
  if (work >= 32) b = 6;
  if (work >= 64) b = 7;
  if (work >= 128) b = 8;
  return b;
}

static __always_inline void count_poll(struct np_napi_val *v, __s32 work, __s32 budget) {
  v->polls += 1;
  if (work > 0) v->packets += (__u64)work;
  if (budget > 0 && work >= budget) v->exhausted += 1;
  __u32 b = bucket(work);
  if (b < NP_NAPI_BUCKETS) v->hist[b] += 1;
}

/* One 8-byte hash lookup per poll: the classic tracepoint below formats a whole record (the
 * device's name copied as a string) before its program runs, which cost a 64-byte UDP test
 * about a sixth of its datagram rate here, for one poll per datagram. */
SEC("raw_tp/napi_poll")
int napi_poll_raw(struct bpf_raw_tracepoint_args *ctx) {
  __u64 key = ctx->args[0];
  __s32 work = (__s32)ctx->args[1], budget = (__s32)ctx->args[2];
  struct np_napi_inst *v = bpf_map_lookup_elem(&napi_inst, &key);
  if (!v || !v->dev[0]) {  /* new, or first seen on this CPU (its copy is zeroed) */
    struct np_napi_inst fresh = {};
    if (v) fresh.v = v->v;
    struct napi_struct *napi = (struct napi_struct *)key;
    struct net_device *dev = BPF_CORE_READ(napi, dev);
    if (!dev || bpf_probe_read_kernel_str(fresh.dev, sizeof fresh.dev, &dev->name) <= 1)
      __builtin_memcpy(fresh.dev, "(no_device)", 12);
    bpf_map_update_elem(&napi_inst, &key, &fresh, BPF_ANY);
    v = bpf_map_lookup_elem(&napi_inst, &key);
    if (!v) return 0;
  }
  count_poll(&v->v, work, budget);
  return 0;
}

/* Where the kernel has no BTF: the classic tracepoint, fields at offsets from tracefs. */
SEC("tracepoint/napi/napi_poll")
int napi_poll(void *ctx) {
  __u32 loc = 0;
  __s32 work = 0, budget = 0;
  /* The usual layout is read straight from the context (the verifier drops the branch the
   * frozen offsets rule out); any other through three helper calls. */
  if (napi_dev_off == 16 && napi_work_off == 20 && napi_budget_off == 24) {
    loc = *(__u32 *)((char *)ctx + 16);
    work = *(__s32 *)((char *)ctx + 20);
    budget = *(__s32 *)((char *)ctx + 24);
  } else {
    bpf_probe_read_kernel(&loc, sizeof loc, (char *)ctx + napi_dev_off);
    bpf_probe_read_kernel(&work, sizeof work, (char *)ctx + napi_work_off);
    bpf_probe_read_kernel(&budget, sizeof budget, (char *)ctx + napi_budget_off);
  }
  struct np_napi_key key = {};
  bpf_probe_read_kernel_str(key.dev, sizeof key.dev, (char *)ctx + (loc & 0xffff));
  struct np_napi_val *v = bpf_map_lookup_elem(&napi, &key);
  if (!v) {
    struct np_napi_val fresh = {};
    bpf_map_update_elem(&napi, &key, &fresh, BPF_NOEXIST);
    v = bpf_map_lookup_elem(&napi, &key);
    if (!v) return 0;
  }
  count_poll(v, work, budget);
  return 0;
}
