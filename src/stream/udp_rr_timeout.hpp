// How long a --rr -u client waits for one response before it counts the transaction lost:
// 10x the running p99 (a lost datagram, not a slow one), within 1 ms (timer and scheduling
// noise) and 1 s (a stream that lost its peer still moves on). Before the first answer, 1 s.
#pragma once

#include <algorithm>
#include <cstdint>

#include "nicperf/stream/latency.hpp"

namespace nicperf {

class RrTimeout {
 public:
  static constexpr std::uint64_t kMinNs = 1'000'000;
  static constexpr std::uint64_t kMaxNs = 1'000'000'000;
  static constexpr std::uint64_t kP99Factor = 10;

  std::uint64_t ns() const { return ns_; }

  // After each answered transaction; h holds every latency so far. The p99 is a scan of the
  // buckets: refreshed after each of the first answers, then every 256th.
  void on_answer(const LatencyHistogram& h) {
    ++answers_;
    if (answers_ > 100 && answers_ % 256 != 0) return;
    ns_ = std::clamp(kP99Factor * h.quantile(0.99), kMinNs, kMaxNs);
  }

 private:
  std::uint64_t ns_ = kMaxNs;
  std::uint64_t answers_ = 0;
};

}  // namespace nicperf
