// Per-thread counters through perf_event_open(2): a software group (task-clock, context
// switches, migrations, page faults) that is never multiplexed, and a hardware group (cycles,
// instructions, user and kernel cycles) scaled by time_enabled / time_running. On machines
// without a PMU the hardware group is absent and says why.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "nicperf/cost/figures.hpp"
#include "nicperf/util/clock.hpp"
#include "nicperf/util/error.hpp"

namespace nicperf {

// /proc/self/task/<tid>/stat utime and stime, in seconds.
bool read_thread_times(pid_t tid, double& utime_s, double& stime_s);
// utime, stime and schedstat of a thread in one go (false if the thread is gone).
bool read_thread_clocks(pid_t tid, CounterValues& v);
// The same for the calling thread, its run time to the nanosecond (CLOCK_THREAD_CPUTIME_ID).
void read_own_clocks(CounterValues& v);

// The pure parts of reading a thread's counters, unit-tested with recorded values (a machine
// without a PMU never runs the hardware half for real).
// One group's read() record, {nr, time_enabled, time_running, value[nr]}, for the group of
// `n` events; false when the record is short or names another count.
struct GroupRead {
  std::uint64_t enabled = 0, running = 0;
  std::vector<std::uint64_t> values;
};
bool decode_group(std::span<const std::uint64_t> buf, std::size_t n, GroupRead& g);
// The software group: task-clock, context switches, migrations, page faults (unscaled: a
// software group always runs).
inline constexpr std::size_t kSoftwareEvents = 4;
void apply_software_group(const GroupRead& g, CounterValues& v);
// The hardware group: cycles, instructions, user cycles, kernel cycles, scaled by
// enabled/running when the PMU was multiplexed (CounterValues::multiplexed_share says how
// much); a group that never ran leaves the figures absent (has_hardware false).
inline constexpr std::size_t kHardwareEvents = 4;
void apply_hardware_group(const GroupRead& g, CounterValues& v);
// Why the hardware group could not be opened, for the report, from the open's errno.
std::string hw_refusal(int err);

class ThreadCounters {
 public:
  // Opens both groups on `tid`; the hardware group is skipped (with a reason) when refused.
  static Expected<ThreadCounters> open(pid_t tid, bool hardware);
  ThreadCounters(ThreadCounters&& o) noexcept;
  ThreadCounters& operator=(ThreadCounters&& o) noexcept;
  ThreadCounters(const ThreadCounters&) = delete;
  ThreadCounters& operator=(const ThreadCounters&) = delete;
  ~ThreadCounters();

  CounterValues read() const;  // counts since open; utime/stime left to the caller
  pid_t tid() const { return tid_; }
  const std::string& hardware_reason() const { return hw_reason_; }

 private:
  ThreadCounters() = default;
  void close_all();
  pid_t tid_ = 0;
  std::vector<int> sw_, hw_;  // group leader first
  std::string hw_reason_;
};

}  // namespace nicperf
