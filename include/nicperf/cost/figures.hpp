// The cost figures one side reports: plain values, what the results model and the reporters
// see of the collector. The collector itself (cost.hpp), its perf counters and its tracer stay
// behind this header.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nicperf/spec/spec.hpp"
#include "nicperf/util/error.hpp"

namespace nicperf {

inline constexpr int kSoftirqVectors = 10;  // HI .. RCU
inline constexpr std::uint32_t kNetTx = 2, kNetRx = 3;
const char* softirq_name(std::uint32_t vec);

struct CounterValues {
  double task_clock_ns = 0;
  std::uint64_t context_switches = 0, migrations = 0, page_faults = 0;
  bool has_hardware = false;
  double cycles = 0, instructions = 0, cycles_user = 0, cycles_kernel = 0;
  double hw_enabled_ns = 0, hw_running_ns = 0;  // for the multiplexing share
  // utime/stime from /proc (tick-sampled): the user/kernel split without a PMU.
  double utime_s = 0, stime_s = 0;
  // The scheduler's run time (schedstat / CLOCK_THREAD_CPUTIME_ID): what getrusage and top
  // report. The cost figures use it; perf's task-clock is kept beside it as a cross-check.
  double schedstat_ns = 0;
  double cpu_ns() const { return schedstat_ns > 0 ? schedstat_ns : task_clock_ns; }

  CounterValues& operator+=(const CounterValues& o);
  CounterValues operator-(const CounterValues& o) const;
  double multiplexed_share() const {  // how much of the time the HW group was not counting
    return hw_enabled_ns > 0 ? 1.0 - hw_running_ns / hw_enabled_ns : 0.0;
  }
};

struct IrqCharge {
  std::uint64_t ns = 0, count = 0;
  IrqCharge& operator+=(const IrqCharge& o) {
    ns += o.ns;
    count += o.count;
    return *this;
  }
};

// What one task was charged: softirq time per vector (minus hardirqs nested in it) and hardirqs.
struct IrqBucket {
  std::array<IrqCharge, kSoftirqVectors> softirq{};
  IrqCharge hardirq;
  IrqBucket& operator+=(const IrqBucket& o);
  IrqCharge softirq_total() const;
  IrqCharge softirq_other() const;  // every vector but NET_RX and NET_TX
};

// Interrupt time charged to one group of tasks.
struct IrqShare {
  IrqCharge net_rx, net_tx, softirq_other, hardirq;
  IrqShare& operator+=(const IrqBucket& b);
  std::uint64_t softirq_ns() const { return net_rx.ns + net_tx.ns + softirq_other.ns; }
};

struct StreamCost {
  int id = 0;
  CounterValues counters;
  IrqShare irq;
  std::uint64_t bytes = 0;
};

// NAPI polls of one device on one CPU over the window (napi:napi_poll). The per-CPU backlog
// (loopback, RPS, veth with GSO packets) appears as device "(no_device)".
inline constexpr int kNapiHistBuckets = 9;  // work per poll: 0, 1, 2-3, 4-7, ..., 64-127, 128+
struct NapiCount {
  std::string dev;
  int cpu = 0;
  std::uint64_t polls = 0, packets = 0;
  std::uint64_t budget_exhausted = 0;  // polls whose work reached their budget
  std::array<std::uint64_t, kNapiHistBuckets> per_poll{};
};
// One CPU's /proc/net/softnet_stat deltas over the window; a column the kernel does not print
// (older kernels print fewer) is absent.
struct SoftnetCount {
  int cpu = 0;
  std::uint64_t processed = 0, dropped = 0, time_squeeze = 0;
  std::optional<std::uint64_t> received_rps, flow_limit;
};

// What the in-kernel collector's programs cost, summed over them: each run is one event.
struct BpfRunCost {
  std::uint64_t run_ns = 0, runs = 0;
  double ns_per_event() const { return runs ? double(run_ns) / double(runs) : 0; }
};

struct SideCost {
  CostLevel level = CostLevel::kOff;
  CostLevel requested = CostLevel::kFull;
  std::string reason;           // why the level is below the request, or what is missing
  std::string hardware_reason;  // why cycles/instructions are absent
  double wall_s = 0;
  double process_rusage_ns = 0;  // getrusage(RUSAGE_SELF) over the window, every thread
  std::uint64_t bytes = 0;       // bytes this side moved in the window
  CounterValues streams, rest, collector;
  std::vector<StreamCost> per_stream;
  bool traced = false;
  IrqShare streams_irq, process_irq, peer_irq, other_irq;
  std::uint64_t lost_records = 0;
  IrqBucket traced_total;  // every interval traced in the window, whoever was interrupted
  std::array<std::uint64_t, kSoftirqVectors> traced_softirqs{}, proc_softirqs{};
  std::vector<std::pair<std::string, IrqCharge>> irqs;  // by name, as /proc/interrupts
  bool peer_on_host = false;
  bool irq_time_accounting = false;   // kernel: softirq time kept out of task time
  std::vector<NapiCount> napi;        // empty when napi_poll was not traced
  std::vector<SoftnetCount> softnet;  // empty when /proc/net/softnet_stat was not read
  // The bpf level's own kernel cost over the window: its programs' run time and runs
  // (BPF_ENABLE_STATS); absent at the other levels.
  std::optional<BpfRunCost> bpf_run;
  // bpf level: whose program set ran ("own", or the peer's when both sides share one kernel)
  // and, for a side that kept its own with the peer on this kernel, why.
  std::string bpf_programs;
  // NICPERF_COST_CROSSCHECK=ring: the ring tracer's total over the same window as the bpf one.
  std::optional<IrqShare> crosscheck_ring, crosscheck_ring_streams;  // all; this side's streams
  std::uint64_t crosscheck_ring_lost = 0;
  // /proc/stat steal over the window on the CPUs this side's stream threads may use, beside
  // task-clock minus scheduler time ("steal + switch"); absent below counters.
  std::optional<double> steal_ns;
  int steal_cpus = 0;
};

// Figures derived from a SideCost (never stored, always computed from it).
struct DerivedCost {
  double cpu_percent = 0;
  double cpu_ns_per_byte = 0;
  std::optional<double> cycles_per_byte, ipc;
  double user_share = 0, kernel_share = 0;      // of the process's CPU time (tick-sampled)
  double softirq_share = 0, hardirq_share = 0;  // of the process's CPU time (traced, exact)
  double softirqs_per_gb = 0, net_rx_per_gb = 0, interrupts_per_gb = 0;
  double context_switches_per_gb = 0;
  double collector_percent = 0;        // the tracer thread's own CPU, kept out of the figures above
  double task_clock_vs_scheduler = 0;  // perf task-clock / scheduler run time - 1
};
DerivedCost derive(const SideCost& c);
std::string attribution_rule(const SideCost& c);
// "collector: N ns per event, M events/s, X% of one CPU" for the bpf level's own kernel cost.
std::string bpf_run_text(const SideCost& c);
// The traced hardirq time per IRQ number (from `irqs`' "N:name" keys): the NIC view's vectors.
std::map<unsigned, std::uint64_t> hardirq_ns_by_irq(const SideCost& c);

nlohmann::json to_json(const SideCost& c);
Expected<SideCost> cost_from_json(const nlohmann::json& j);

// Who a peer is, to recognize its threads when both sides share one kernel (loopback).
struct HostIdentity {
  pid_t pid = 0;
  std::string boot_id;
};
HostIdentity this_host();
// Whether `peer` is another process on this kernel (the same boot id).
bool on_this_kernel(const HostIdentity& peer);

}  // namespace nicperf
