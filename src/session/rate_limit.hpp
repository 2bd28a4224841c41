// --server-bitrate-limit: iperf3's IETOTALRATE check, before a test (what the client asks for)
// and while it runs (the average over the last SECS).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

#include "nicperf/session/session.hpp"
#include "nicperf/util/clock.hpp"

namespace nicperf {

// Refuses a test whose requested rate (per stream, times streams, doubled with --bidir, as
// iperf3 sums it; -b and --fq-rate each) is above the limit.
Status check_requested_rate(const TestSpec& spec, const BitrateLimit& limit);

// The running check, fed the test's byte total (both directions, every stream) as it grows.
class RateWindow {
 public:
  explicit RateWindow(const BitrateLimit& limit) : limit_(limit) {}
  // Once a whole window has passed: the average bits/s over the last window when it is above
  // the limit, else nothing.
  std::optional<double> exceeded(Clock::time_point now, std::uint64_t total_bytes);
  // The error a test ends with, naming the average and the limit.
  Error error(double bits_per_second) const;

 private:
  BitrateLimit limit_;
  std::deque<std::pair<Clock::time_point, std::uint64_t>> samples_;
};

}  // namespace nicperf
