#include "nicperf/stream/udp_stats.hpp"

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace nicperf {
namespace {

// Wrapping difference: garbage send times from a broken peer must not be undefined behaviour.
std::int64_t wrap_sub(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}

// Clears the marks of sequence numbers [from, to), which enter the window and reuse the slots of
// ones a window older: those marks must not make the new ones look like duplicates.
template <std::size_t N>
void clear_slots(std::array<std::uint64_t, N>& window, std::uint64_t from, std::uint64_t to) {
  constexpr std::uint64_t kSlots = N * 64;
  if (to - from >= kSlots) {
    window.fill(0);
    return;
  }
  auto clear_bit = [&](std::uint64_t seq) {
    window[(seq % kSlots) / 64] &= ~(std::uint64_t{1} << (seq % 64));
  };
  for (; from < to && from % 64 != 0; ++from) clear_bit(from);
  for (; to - from >= 64; from += 64) window[(from % kSlots) / 64] = 0;
  for (; from < to; ++from) clear_bit(from);
}

// RFC 3550 6.4.1: J += (|D| - J) / 16, D the change in transit time from the previous datagram.
double next_jitter(double jitter, std::int64_t transit, std::int64_t last_transit) {
  double d = std::fabs(static_cast<double>(wrap_sub(transit, last_transit)));
  return jitter + (d - jitter) / 16.0;
}

}  // namespace

void UdpReceiveStats::on_datagram(std::uint64_t seq, std::int64_t send_ns,
                                  std::int64_t arrival_ns) {
  if (seq >= next_) {
    lost_ += seq - next_;
    clear_slots(window_, next_, seq + 1);
    next_ = seq + 1;
    mark(seq);
  } else {
    // Older than the window, its slot belongs to a newer sequence number: late, never duplicate.
    bool in_window = next_ - seq <= kWindow;
    if (in_window && seen(seq)) {
      ++duplicates_;
      return;
    }
    if (in_window) mark(seq);
    ++out_of_order_;
    if (lost_ > 0) --lost_;  // it had been counted lost when a higher one skipped it
  }
  ++packets_;
  std::int64_t transit = wrap_sub(arrival_ns, send_ns);
  if (have_transit_) jitter_ns_ = next_jitter(jitter_ns_, transit, last_transit_);
  have_transit_ = true;
  last_transit_ = transit;
}

bool UdpReceiveStats::seen(std::uint64_t seq) const {
  std::uint64_t slot = seq % kWindow;
  return (window_[slot / 64] >> (slot % 64)) & 1u;
}

void UdpReceiveStats::mark(std::uint64_t seq) {
  std::uint64_t slot = seq % kWindow;
  window_[slot / 64] |= std::uint64_t{1} << (slot % 64);
}

}  // namespace nicperf
