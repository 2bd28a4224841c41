// A request/response stream's latencies: the whole test's, written only by the stream thread,
// and the current interval's, which the main thread takes at each interval's end.
#pragma once

#include <cstdint>
#include <mutex>
#include <utility>

#include "nicperf/stream/latency.hpp"

namespace nicperf {

class RrLatency {
 public:
  void record(std::uint64_t ns) {
    total_.record(ns);
    std::lock_guard lock(mutex_);
    interval_.record(ns);
  }
  LatencyHistogram take_interval() {
    std::lock_guard lock(mutex_);
    return std::exchange(interval_, LatencyHistogram());
  }
  // The stream thread's own until it has ended.
  const LatencyHistogram& total() const { return total_; }

 private:
  LatencyHistogram total_;
  std::mutex mutex_;
  LatencyHistogram interval_;
};

}  // namespace nicperf
