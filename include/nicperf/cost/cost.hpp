// The cost collector: what moving the bytes cost one side, over exactly the measured window.
//   counters: perf_event per stream thread and for the rest of the process (perf_counters.hpp)
//   full:     plus system-wide hardirq/softirq time, charged to the task each one interrupted
//             (irq_trace.hpp)
//   rusage:   getrusage for the process only, as iperf3 does
//   off:      nothing
// Every level, off included, runs through the same collector: a level that cannot run here falls
// back down the ladder full -> counters -> rusage and the report says why; rusage always runs.
#pragma once

#include <sys/types.h>

#include <array>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nicperf/cost/irq_trace.hpp"
#include "nicperf/cost/perf_counters.hpp"
#include "nicperf/cost/thread_claims.hpp"
#include "nicperf/spec/spec.hpp"

namespace nicperf {

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
  bool irq_time_accounting = false;  // kernel: softirq time kept out of task time
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

nlohmann::json to_json(const SideCost& c);
Expected<SideCost> cost_from_json(const nlohmann::json& j);

// Who a peer is, to recognize its threads when both sides share one kernel (loopback).
struct HostIdentity {
  pid_t pid = 0;
  std::string boot_id;
};
HostIdentity this_host();

// Where a request stands on the fallback ladder, and why it is below what was asked.
struct CostFallback {
  CostLevel level = CostLevel::kFull;
  std::string reason;  // each step's why, joined with "; "
};
// The step down after `failed` could not run here: full falls to counters, counters to rusage.
// A failure of a level above the current one changes nothing.
CostFallback fall_back(CostFallback from, CostLevel failed, const std::string& why);

// What the side run knows of its streams when the window closes.
struct CostInputs {
  std::vector<std::uint64_t> stream_bytes;  // moved in the window, in attach order
  std::vector<CounterValues> final_clocks;  // each stream thread's own last clocks
  HostIdentity peer;
  double data_seconds = 0;  // the window's start to the last byte: rusage's wall time
};

class CostCollector {
 public:
  // claims: the threads of the tests sharing this process (a server's), null for a test alone
  // in its process (the client's).
  explicit CostCollector(CostLevel requested, ThreadClaims* claims = nullptr);
  ~CostCollector();
  // After the stream threads exist: opens their counters and the rest of the process's.
  void attach(const std::vector<std::pair<int, pid_t>>& stream_tids);
  // Opens the window; returns its start (CLOCK_MONOTONIC ns).
  std::uint64_t begin();
  // Task-clock of each attached stream so far (for per-interval CPU), in attach order.
  std::vector<double> stream_task_clock() const;
  // Closes the window.
  void end();
  // The figures of the level reached; nullopt only at level off, which measures nothing.
  // `final_clocks` stand in for threads gone by the time end() ran.
  std::optional<SideCost> result(const CostInputs& in) const;
  CostLevel level() const { return level_; }
  const std::string& reason() const { return reason_; }
  // After end(), at level full: the interrupt time traced on top of any task (the NIC's queue
  // threads), or nullopt when nothing was traced.
  std::optional<IrqBucket> traced_irq(pid_t tid) const;

 private:
  struct Attached {
    int id = 0;
    pid_t tid = 0;
    std::optional<ThreadCounters> counters;
    CounterValues begin, end;
    bool clocks_at_end = false;  // the thread still existed at end()
  };
  void degrade(CostLevel failed, const std::string& why);
  SideCost rusage_result(const CostInputs& in) const;
  SideCost counters_result(const CostInputs& in) const;
  void attribute_irq(const CostInputs& in, SideCost& c) const;

  CostLevel requested_, level_;
  std::string reason_, hw_reason_;
  std::unique_ptr<IrqTracer> tracer_;
  std::vector<Attached> streams_, rest_;
  std::optional<Attached> collector_;
  std::uint64_t begin_ns_ = 0, end_ns_ = 0;
  std::vector<pid_t> claimed_by_others() const {
    return claims_ ? claims_->others(this) : std::vector<pid_t>{};
  }
  ThreadClaims* claims_;
  std::vector<pid_t> foreign_;  // other tests' threads, seen at attach() and end()
  std::array<std::uint64_t, kSoftirqVectors> proc_begin_{}, proc_end_{};
  double utime_begin_s_ = 0, stime_begin_s_ = 0, utime_end_s_ = 0, stime_end_s_ = 0;
};

}  // namespace nicperf
