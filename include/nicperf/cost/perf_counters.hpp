// Per-thread counters through perf_event_open(2): a software group (task-clock, context
// switches, migrations, page faults) that is never multiplexed, and a hardware group (cycles,
// instructions, user and kernel cycles) scaled by time_enabled / time_running. On machines
// without a PMU the hardware group is absent and says why.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nicperf/util/clock.hpp"
#include "nicperf/util/error.hpp"

namespace nicperf {

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

// /proc/self/task/<tid>/stat utime and stime, in seconds.
bool read_thread_times(pid_t tid, double& utime_s, double& stime_s);
// utime, stime and schedstat of a thread in one go (false if the thread is gone).
bool read_thread_clocks(pid_t tid, CounterValues& v);
// The same for the calling thread, its run time to the nanosecond (CLOCK_THREAD_CPUTIME_ID).
void read_own_clocks(CounterValues& v);

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
