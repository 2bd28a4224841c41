// Pacing a UDP sender: how many datagrams may go by now. The schedule runs from an origin at a
// fixed packet rate; a sender that falls behind (descheduled, or a path slower than the rate)
// may catch up by at most `max_debt` datagrams, so a stall never turns into a long burst.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace nicperf {

class Pacer {
 public:
  using Clock = std::chrono::steady_clock;

  // pps: datagrams per second (> 0); burst: datagrams released together (0 or 1 = none).
  Pacer(double pps, int burst, std::uint64_t max_debt, Clock::time_point origin)
      : pps_(pps),
        burst_(std::uint64_t(std::max(burst, 1))),
        max_debt_(std::max<std::uint64_t>(max_debt, burst_)),
        origin_(origin) {}

  // Datagrams that may be sent now, given `sent` went already.
  std::uint64_t allowed(std::uint64_t sent, Clock::time_point now) {
    std::uint64_t due = due_by(now);
    if (due > sent + max_debt_) {
      // Behind by more than we may catch up: move the schedule instead (the offered rate then
      // shows the shortfall).
      origin_ += std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(double(due - sent - max_debt_) / pps_));
      due = sent + max_debt_;
    }
    return due > sent ? due - sent : 0;
  }

  // When datagram number `sent` (counting from 0) is due.
  Clock::time_point due_at(std::uint64_t sent) const {
    std::uint64_t first_of_burst = sent / burst_ * burst_;
    return origin_ + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(double(first_of_burst) / pps_));
  }

 private:
  std::uint64_t due_by(Clock::time_point now) const {
    double t = std::chrono::duration<double>(now - origin_).count();
    if (t < 0) return 0;
    // Datagram k is due at k / pps; a burst goes whole when its first datagram is due.
    std::uint64_t started = std::uint64_t(t * pps_) + 1;
    return (started + burst_ - 1) / burst_ * burst_;
  }

  double pps_;
  std::uint64_t burst_, max_debt_;
  Clock::time_point origin_;
};

}  // namespace nicperf
