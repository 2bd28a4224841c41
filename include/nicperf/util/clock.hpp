// One clock for the whole tool: deadlines on the steady clock, and CLOCK_MONOTONIC nanoseconds
// (the clock of perf records, the tracer's window and nicperf-nicd's queues).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>

namespace nicperf {

using Clock = std::chrono::steady_clock;

// `seconds` as the clock's duration.
Clock::duration seconds_of(double seconds);
// A deadline `seconds` from now.
Clock::time_point in_seconds(double seconds);
// CLOCK_MONOTONIC in nanoseconds.
std::uint64_t monotonic_ns();
// The scheduler's run time of a thread of this process (/proc/self/task/TID/schedstat).
bool read_schedstat(pid_t tid, double& run_ns);

}  // namespace nicperf
