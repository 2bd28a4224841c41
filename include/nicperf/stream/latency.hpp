// Latency histogram: log-linear buckets (HdrHistogram's layout with 64 sub-buckets per power of
// two, so a value is kept within 1/64 = 1.6 %), exact min, max, count and sum. Mergeable, and
// cheap enough to record every transaction of a --rr stream on its own thread.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <vector>

#include "nicperf/util/error.hpp"

namespace nicperf {

class LatencyHistogram {
 public:
  LatencyHistogram();
  void record(std::uint64_t ns);
  void merge(const LatencyHistogram& other);
  void clear();

  std::uint64_t count() const { return count_; }
  std::uint64_t min() const { return count_ ? min_ : 0; }  // exact, ns
  std::uint64_t max() const { return max_; }               // exact, ns
  double mean() const;                                     // ns
  // The value at quantile q (0..1): the smallest bucket bound with at least q of the values at
  // or below it, clamped to [min, max]; 0 when empty.
  std::uint64_t quantile(double q) const;

  // Sparse form for the results exchange: {"min","max","count","sum","buckets":[[index,n],..]}.
  nlohmann::json to_json() const;
  static Expected<LatencyHistogram> from_json(const nlohmann::json& j);

 private:
  std::vector<std::uint64_t> buckets_;
  std::uint64_t count_ = 0, min_ = 0, max_ = 0;
  long double sum_ = 0;
};

// Per-quantile summary the reports print: p50, p90, p99, p99.9 and the extremes, in ns.
struct LatencySummary {
  std::uint64_t count = 0;
  double mean = 0;
  std::uint64_t min = 0, p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
};
LatencySummary summarize(const LatencyHistogram& h);

}  // namespace nicperf
