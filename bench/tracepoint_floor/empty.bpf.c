// SPDX-License-Identifier: GPL-2.0
/* The floor under any collector that times each interrupt and softirq: programs that do nothing,
 * on the same raw tracepoints as nicperf's in-kernel collector (src/cost/bpf/irq_cost.bpf.c).
 * What a workload loses with these attached is the kernel's dispatch of the tracepoints alone,
 * which no program body can win back. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("raw_tp/softirq_entry") int softirq_entry(void *ctx) { return 0; }
SEC("raw_tp/softirq_exit") int softirq_exit(void *ctx) { return 0; }
SEC("raw_tp/irq_handler_entry") int irq_entry(void *ctx) { return 0; }
SEC("raw_tp/irq_handler_exit") int irq_exit(void *ctx) { return 0; }
SEC("raw_tp/napi_poll") int napi_poll_raw(void *ctx) { return 0; }
