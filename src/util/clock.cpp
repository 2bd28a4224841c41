#include "nicperf/util/clock.hpp"

#include <time.h>

#include <fstream>
#include <string>

namespace nicperf {

Clock::duration seconds_of(double seconds) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

Clock::time_point in_seconds(double seconds) { return Clock::now() + seconds_of(seconds); }

std::uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::uint64_t(ts.tv_sec) * 1000000000ull + std::uint64_t(ts.tv_nsec);
}

bool read_schedstat(pid_t tid, double& run_ns) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/schedstat");
  unsigned long long ns = 0;
  if (!(in >> ns)) return false;
  run_ns = double(ns);
  return true;
}

}  // namespace nicperf
