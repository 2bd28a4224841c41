#include "session/rate_limit.hpp"

#include "nicperf/util/units.hpp"

namespace nicperf {

using Seconds = std::chrono::duration<double>;

Status check_requested_rate(const TestSpec& spec, const BitrateLimit& limit) {
  if (!limit.rate) return ok();
  double ways = spec.direction == Direction::kBidir ? 2 : 1;
  for (double per_stream : {double(spec.rate), double(spec.fq_rate)}) {
    double total = per_stream * spec.streams * ways;
    if (total > double(limit.rate))
      return Error{Errc::kRefused, "the test asks for " + format_rate(total) +
                                       " in all, above the server's limit of " +
                                       format_rate(double(limit.rate)) +
                                       " (--server-bitrate-limit)"};
  }
  return ok();
}

std::optional<double> RateWindow::exceeded(Clock::time_point now, std::uint64_t total_bytes) {
  if (!limit_.rate) return std::nullopt;
  samples_.emplace_back(now, total_bytes);
  auto window = std::chrono::duration_cast<Clock::duration>(Seconds(limit_.seconds));
  // Keep one sample at or before the window's start: the average spans the window exactly.
  while (samples_.size() > 1 && samples_[1].first <= now - window) samples_.pop_front();
  auto [since, bytes] = samples_.front();
  if (now - since < window) return std::nullopt;
  double bps = double(total_bytes - bytes) * 8 / Seconds(now - since).count();
  if (bps > double(limit_.rate)) return bps;
  return std::nullopt;
}

Error RateWindow::error(double bits_per_second) const {
  return Error{Errc::kRefused, "the test averaged " + format_rate(bits_per_second) +
                                   " over the last " + fixed(limit_.seconds, 1) +
                                   " s, above the server's limit of " +
                                   format_rate(double(limit_.rate)) + " (--server-bitrate-limit)"};
}

}  // namespace nicperf
