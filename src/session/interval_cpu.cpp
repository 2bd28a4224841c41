#include "session/interval_cpu.hpp"

#include "nicperf/cost/perf_counters.hpp"

namespace nicperf {

void IntervalCpuMeter::begin(const std::vector<pid_t>& tids, const CostCollector* cost) {
  tids_ = tids;
  cost_ = cost;
  last_.assign(tids.size(), {});
  for (std::size_t i = 0; i < tids_.size(); ++i)
    read_thread_times(tids_[i], last_[i].utime_s, last_[i].stime_s);
  last_irq_ = cost_ ? cost_->stream_irq_so_far() : std::nullopt;
}

std::optional<IntervalCpu> IntervalCpuMeter::sample(double start, double end) {
  IntervalCpu cpu{start, end, 0, 0, {}, {}};
  bool any = false;
  // A thread that has ended keeps its last reading: its share of this interval is lost, not
  // counted twice later.
  for (std::size_t i = 0; i < tids_.size(); ++i) {
    Times now;
    if (!read_thread_times(tids_[i], now.utime_s, now.stime_s)) continue;
    cpu.user_ns += std::max(0.0, now.utime_s - last_[i].utime_s) * 1e9;
    cpu.kernel_ns += std::max(0.0, now.stime_s - last_[i].stime_s) * 1e9;
    last_[i] = now;
    any = true;
  }
  if (!any) return std::nullopt;
  if (auto irq = cost_ ? cost_->stream_irq_so_far() : std::nullopt; irq && last_irq_) {
    auto softirq = [](const IrqBucket& b) { return double(b.softirq_total().ns); };
    cpu.softirq_ns = std::max(0.0, softirq(*irq) - softirq(*last_irq_));
    cpu.hardirq_ns = std::max(0.0, double(irq->hardirq.ns) - double(last_irq_->hardirq.ns));
    last_irq_ = irq;
  }
  return cpu;
}

}  // namespace nicperf
