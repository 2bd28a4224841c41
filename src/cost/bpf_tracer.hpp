// The in-kernel cost collector (the bpf level): BPF programs on the irq:* tracepoints pair entry
// and exit per CPU and sum each interval into per-CPU maps keyed by (slot, class), with
// per-vector, per-IRQ and napi:napi_poll totals (src/cost/bpf/irq_cost.bpf.c). This side reads
// the maps at the window's edges and diffs them: no per-event record reaches user space.
// BpfCounts and the tracefs format parsing are pure and unit-tested; BpfTracer owns the loaded
// programs and exists only in a build with NICPERF_HAVE_BPF.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nicperf/cost/cost.hpp"
#include "nicperf/cost/figures.hpp"
#include "nicperf/util/error.hpp"

namespace nicperf {

// The map layout's slots and classes (src/cost/bpf/irq_cost.h, repeated for C++ users).
inline constexpr int kBpfStreamSlots = 128;
enum class BpfSlot { kRest = kBpfStreamSlots, kPeer, kIdle, kKsoftirqd, kNapi, kOther, kCount };
inline constexpr int kBpfSlots = int(BpfSlot::kCount);
enum class BpfClass {
  kRx,
  kTx,
  kSoftOther,
  kHard,
  kCount
};  // NET_RX, NET_TX, other softirqs, hardirq
inline constexpr int kBpfClasses = int(BpfClass::kCount);

// One BPF program's run time and run count (BPF_ENABLE_STATS), as the kernel keeps them.
struct BpfProgStats {
  std::uint64_t run_ns = 0, runs = 0;
};

// What the maps hold, summed over CPUs (NAPI kept per CPU): one read, or the window's diff.
struct BpfCounts {
  std::array<IrqCharge, std::size_t(kBpfSlots* kBpfClasses)> slot_class{};
  std::array<IrqCharge, kSoftirqVectors> vectors{};      // time and completed intervals
  std::array<std::uint64_t, kSoftirqVectors> entries{};  // as /proc/softirqs counts them
  std::map<std::uint32_t, IrqCharge> irqs;
  std::map<std::pair<pid_t, int>, IrqCharge> other_tids;  // (tid, class)
  std::map<std::pair<std::string, int>, NapiCount> napi;  // (dev, cpu)
  std::map<std::string, BpfProgStats> progs;              // by program name

  const IrqCharge& at(int slot, BpfClass cls) const {
    return slot_class[std::size_t(slot * kBpfClasses + int(cls))];
  }
  IrqBucket bucket(int slot) const;  // the slot's classes as an IrqBucket (other softirq at HI)
  IrqBucket tid_bucket(pid_t tid) const;
  // This read minus an earlier one; entries absent from `begin` count from zero.
  BpfCounts since(const BpfCounts& begin) const;
};

// The napi:napi_poll fields' offsets, from tracefs's format file ("field:int work;
// offset:20;").
struct NapiOffsets {
  std::uint32_t dev_name = 0, work = 0, budget = 0;
};
std::optional<NapiOffsets> parse_napi_format(const std::string& format);
// The histogram bucket of a poll's work (figures.hpp: 0, 1, 2-3, ..., 64-127, 128+).
int napi_bucket(int work);

// Why the bpf level cannot run in this process before trying (NICPERF_DISABLE_BPF, the build),
// or nullopt.
std::optional<std::string> bpf_refusal();

class BpfTracer {
 public:
  // Loads and attaches the programs; the napi program only when its format can be read.
  static Expected<std::unique_ptr<BpfTracer>> start();
  // The owner's set for a peer process on this kernel: its pid and the fd numbers of its maps,
  // programs and links, which the peer takes with pidfd_getfd. Empty for a joined set.
  BpfShareOffer offer() const;
  // The owner's set in place of `mine` (this process's own, loaded the same way): every map must
  // match mine in type and sizes and every program in tag, so nothing but a set of these
  // programs is ever written to. This side's threads go to slots of their own in it.
  static Expected<std::unique_ptr<BpfTracer>> join(const BpfShareOffer& offer,
                                                   const BpfTracer& mine);
  ~BpfTracer();
  BpfTracer(const BpfTracer&) = delete;
  BpfTracer& operator=(const BpfTracer&) = delete;

  // Before the window opens: stream threads get slots 0.., other tests' threads count as other.
  void register_threads(const std::vector<pid_t>& streams, const std::vector<pid_t>& foreign);
  void set_peer(pid_t tgid);  // the peer process on this kernel, 0 for none
  // Read the maps at the window's edges (CLOCK_MONOTONIC ns returned); run-time stats are on
  // between them.
  std::uint64_t mark_start();
  std::uint64_t mark_end();
  const BpfCounts& window() const { return window_; }  // end minus start
  // Inside the window: what the maps gained since it opened (per-interval CPU).
  BpfCounts so_far() const { return read().since(start_); }
  bool napi_traced() const;

 private:
  struct Impl;
  explicit BpfTracer(std::unique_ptr<Impl> impl);
  BpfCounts read() const;
  void read_slots(BpfCounts& out) const;
  void next_generation();
  void read_napi_instances(BpfCounts& out) const;
  std::unique_ptr<Impl> impl_;
  BpfCounts start_, window_;
};

}  // namespace nicperf
