// Per-interval CPU of one side's stream threads, for the single-test chart's CPU panel: user
// and kernel time from the threads' tick-sampled utime/stime, softirq and hardirq from the cost
// collector's trace where the level traces.
#pragma once

#include <sys/types.h>

#include <optional>
#include <vector>

#include "nicperf/cost/cost.hpp"
#include "nicperf/results/results.hpp"

namespace nicperf {

class IntervalCpuMeter {
 public:
  // At the measured start: the stream threads to follow and the collector that traces them.
  void begin(const std::vector<pid_t>& tids, const CostCollector* cost);
  // The figures since the last call (or begin); nullopt when no thread's times could be read.
  std::optional<IntervalCpu> sample(double start, double end);

 private:
  struct Times {
    double utime_s = 0, stime_s = 0;
  };
  std::vector<pid_t> tids_;
  std::vector<Times> last_;
  const CostCollector* cost_ = nullptr;
  std::optional<IrqBucket> last_irq_;
};

}  // namespace nicperf
