// The cost collector: what moving the bytes cost one side, over exactly the measured window.
//   counters: perf_event per stream thread and for the rest of the process (perf_counters.hpp)
//   ring:     plus system-wide hardirq/softirq time, charged to the task each one interrupted,
//             from a perf ring per CPU (irq_trace.hpp)
//   bpf:      the same figures summed in the kernel by BPF programs (src/cost/bpf_tracer.hpp)
//   rusage:   getrusage for the process only, as iperf3 does
//   off:      nothing
//   full:     a request for the best level available here
// Every level, off included, runs through the same collector: a level that cannot run here falls
// back down the ladder bpf -> ring -> counters -> rusage and the report says why; rusage always
// runs.
#pragma once

#include <sys/types.h>

#include <array>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nicperf/cost/figures.hpp"
#include "nicperf/cost/irq_trace.hpp"
#include "nicperf/cost/perf_counters.hpp"
#include "nicperf/cost/thread_claims.hpp"
#include "nicperf/spec/spec.hpp"

namespace nicperf {

class SoftnetWindow;  // cost/softnet.hpp
class BpfTracer;

// Where a request stands on the fallback ladder, and why it is below what was asked.
struct CostFallback {
  CostLevel level = CostLevel::kFull;
  std::string reason;  // each step's why, joined with "; "
};
// The step down after `failed` could not run here: full (as bpf) falls to ring, ring to
// counters, counters to rusage. A failure of a level above the current one changes nothing.
CostFallback fall_back(CostFallback from, CostLevel failed, const std::string& why);

// What the side run knows of its streams when the window closes.
struct CostInputs {
  std::vector<std::uint64_t> stream_bytes;  // moved in the window, in attach order
  std::vector<CounterValues> final_clocks;  // each stream thread's own last clocks
  HostIdentity peer;
  double data_seconds = 0;  // the window's start to the last byte: rusage's wall time
};

// One bpf program set per kernel: when both sides run on one kernel (loopback, namespaces), the
// server's set serves the client too, so each traced event runs the programs once, not twice.
// The server offers its set in the control connection; the client takes the fds with
// pidfd_getfd (same kernel, and the rights to trace it), checks them against its own and then
// drops its own.
struct BpfShareOffer {
  pid_t pid = 0;
  std::map<std::string, int> fds;  // "map:NAME", "prog:NAME", "link:NAME" -> the owner's fd
};
nlohmann::json to_json(const BpfShareOffer& o);
// nullopt for anything but a well-formed offer (a client survives any server).
std::optional<BpfShareOffer> share_offer_from_json(const nlohmann::json& j);

class CostCollector {
 public:
  // claims: the threads of the tests sharing this process (a server's), null for a test alone
  // in its process (the client's).
  explicit CostCollector(CostLevel requested, ThreadClaims* claims = nullptr);
  ~CostCollector();
  // After the stream threads exist: opens their counters and the rest of the process's.
  void attach(const std::vector<std::pair<int, pid_t>>& stream_tids);
  // Before begin(): the peer, whose process the bpf level tells apart in the kernel.
  void set_peer(const HostIdentity& peer);
  // The bpf level's set for `peer` to join, when it runs on this kernel; nullopt otherwise.
  std::optional<BpfShareOffer> bpf_offer(const HostIdentity& peer) const;
  // Before attach(): the peer's set in place of this side's own, when it is offered and can be
  // taken; the report says which set ran and, when this side kept its own, why.
  void join_bpf(const BpfShareOffer& offer, const HostIdentity& peer);
  // Opens the window; returns its start (CLOCK_MONOTONIC ns).
  std::uint64_t begin();
  // Task-clock of each attached stream so far (for per-interval CPU), in attach order.
  std::vector<double> stream_task_clock() const;
  // At the bpf or ring level, while the window is open: the interrupt time traced on top of
  // the stream threads so far; nullopt when nothing is traced.
  std::optional<IrqBucket> stream_irq_so_far() const;
  // Closes the window.
  void end();
  // The figures of the level reached; nullopt only at level off, which measures nothing.
  // `final_clocks` stand in for threads gone by the time end() ran.
  std::optional<SideCost> result(const CostInputs& in) const;
  CostLevel level() const { return level_; }
  const std::string& reason() const { return reason_; }
  // After end(), at a tracing level (ring, bpf): the interrupt time traced on top of any task (the
  // NIC's queue threads), or nullopt when nothing was traced.
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
  void attribute_bpf(const CostInputs& in, SideCost& c) const;  // cost_bpf.cpp
  std::optional<IrqBucket> traced_bpf(pid_t tid) const;
  void start_tracing();

  CostLevel requested_, level_;
  std::string reason_, hw_reason_;
  std::string bpf_programs_;  // which program set ran at the bpf level, for the report
  std::unique_ptr<IrqTracer> tracer_;
  std::unique_ptr<BpfTracer> bpf_;
  // NICPERF_COST_CROSSCHECK=ring at the bpf level: the ring tracer over the same window, so the
  // two levels' totals come from the same events (a diagnostic: its thread's CPU is not kept
  // out of the process's figures).
  std::unique_ptr<IrqTracer> crosscheck_;
  std::vector<Attached> streams_, rest_;
  std::optional<Attached> collector_;
  std::uint64_t begin_ns_ = 0, end_ns_ = 0;
  std::vector<pid_t> claimed_by_others() const {
    return claims_ ? claims_->others(this) : std::vector<pid_t>{};
  }
  ThreadClaims* claims_;
  std::vector<pid_t> foreign_;  // other tests' threads, seen at attach() and end()
  std::array<std::uint64_t, kSoftirqVectors> proc_begin_{}, proc_end_{};
  std::map<int, double> steal_begin_, steal_end_;  // per CPU, ns
  std::vector<int> side_cpus_;                     // where the stream threads may run
  double utime_begin_s_ = 0, stime_begin_s_ = 0, utime_end_s_ = 0, stime_end_s_ = 0;
  std::unique_ptr<SoftnetWindow> softnet_;  // at every level but off
};

}  // namespace nicperf
