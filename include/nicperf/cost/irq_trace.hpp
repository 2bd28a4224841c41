// System-wide hardirq and softirq time from the irq:* tracepoints, one perf ring per CPU.
// IrqAccounting pairs entry and exit records per CPU and charges each interval to the task it
// interrupted (the record's tid); it is pure and unit-tested with recorded sequences. IrqTracer
// owns the perf events, the rings and the thread that drains them.
#pragma once

#include <sys/types.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "nicperf/cost/figures.hpp"
#include "nicperf/util/error.hpp"

namespace nicperf {

enum class TraceKind : std::uint8_t { kSoftirqEntry, kSoftirqExit, kIrqEntry, kIrqExit };

struct TraceRecord {
  int cpu = 0;
  pid_t tid = 0;
  std::uint64_t time_ns = 0;  // CLOCK_MONOTONIC
  TraceKind kind = TraceKind::kSoftirqEntry;
  std::uint32_t number = 0;  // softirq vector or IRQ number
};

class IrqAccounting {
 public:
  explicit IrqAccounting(int cpus);
  // Only time inside [start, end) is charged, and only entries inside it are counted.
  void set_window(std::uint64_t start_ns, std::uint64_t end_ns);
  void add(const TraceRecord& r);
  void lost(int cpu, std::uint64_t records);  // forget that CPU's open intervals

  const std::map<pid_t, IrqBucket>& by_tid() const { return by_tid_; }
  const std::map<std::uint32_t, IrqCharge>& by_irq() const { return by_irq_; }
  IrqBucket total() const;
  std::uint64_t lost_records() const { return lost_; }
  // Entries per vector inside the window, whatever their exits (for the /proc/softirqs check).
  const std::array<std::uint64_t, kSoftirqVectors>& entries() const { return entries_; }

 private:
  struct Open {
    bool active = false;
    std::uint64_t start = 0;
    pid_t tid = 0;
    std::uint32_t number = 0;
    std::uint64_t nested_ns = 0;  // hardirq time inside this softirq
  };
  struct CpuState {
    Open softirq, irq;
  };
  std::uint64_t clipped(std::uint64_t a, std::uint64_t b) const;
  bool in_window(std::uint64_t t) const { return t >= start_ && t < end_; }

  std::vector<CpuState> cpus_;
  std::uint64_t start_ = UINT64_MAX, end_ = UINT64_MAX;  // nothing counts before a window
  std::map<pid_t, IrqBucket> by_tid_;
  std::map<std::uint32_t, IrqCharge> by_irq_;
  std::array<std::uint64_t, kSoftirqVectors> entries_{};
  std::uint64_t lost_ = 0;
};

// Walks the records in [tail, head) of a perf ring of `size` bytes, handing each to `fn`
// whole (a record that wraps around the end is copied into `scratch`); returns the new tail.
using RecordFn = std::function<void(std::uint32_t type, const char* record, std::size_t size)>;
std::uint64_t walk_ring(const char* data, std::uint64_t size, std::uint64_t tail,
                        std::uint64_t head, std::vector<char>& scratch, const RecordFn& fn);
// Decodes a PERF_RECORD_SAMPLE of the tracer's layout (TID | TIME | CPU | RAW); `kinds` maps
// tracepoint ids (the raw data's common_type) to what they are.
std::optional<TraceRecord> parse_sample(const char* record, std::size_t size,
                                        const std::map<std::uint16_t, TraceKind>& kinds);

// Per-vector softirq counts from /proc/softirqs, summed over the CPUs.
std::array<std::uint64_t, kSoftirqVectors> read_proc_softirqs();
// IRQ names as /proc/interrupts shows them.
std::map<std::uint32_t, std::string> read_irq_names();

class IrqTracer {
 public:
  // Opens the tracepoints on every online CPU and starts draining; mounts tracefs if needed.
  static Expected<std::unique_ptr<IrqTracer>> start();
  ~IrqTracer();
  IrqTracer(const IrqTracer&) = delete;
  IrqTracer& operator=(const IrqTracer&) = delete;

  // Open and close the measured window at "now" (CLOCK_MONOTONIC ns, returned). Both hold the
  // lock the drain holds, so every record drained before has an earlier time and every record
  // drained after sees the new window: nothing in the window is missed or counted twice.
  std::uint64_t mark_start();
  std::uint64_t mark_end();
  // Stops the thread after a last drain; the accounting is final afterwards.
  void stop();
  const IrqAccounting& accounting() const { return accounting_; }
  // Drains what has arrived and sums the window's interrupt time charged to `tids` so far: for
  // per-interval figures while the test runs (the drain lock keeps the thread out meanwhile).
  IrqBucket charged_so_far(const std::vector<pid_t>& tids);
  // The thread group of each traced tid, looked up while the task was alive.
  const std::map<pid_t, pid_t>& tgids() const { return tgids_; }
  pid_t thread_tid() const { return thread_tid_.load(); }  // the draining thread

 private:
  struct CpuRing;
  explicit IrqTracer(int cpus);
  void run();
  void drain(CpuRing& ring);

  IrqAccounting accounting_;
  std::vector<std::unique_ptr<CpuRing>> rings_;
  std::map<std::uint16_t, TraceKind> kinds_;  // tracepoint id -> kind
  std::map<pid_t, pid_t> tgids_;
  std::atomic<bool> stop_{false};
  std::mutex drain_mutex_;
  std::uint64_t window_start_ = UINT64_MAX, window_end_ = UINT64_MAX;
  std::atomic<pid_t> thread_tid_{0};
  std::thread thread_;
};

}  // namespace nicperf
