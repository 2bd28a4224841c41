// What a UDP receiver learns from the datagram headers: loss, reordering, duplicates and
// jitter, as iperf3 and RFC 3550 count them.
#pragma once

#include <array>
#include <cstdint>

namespace nicperf {

class UdpReceiveStats {
 public:
  // One datagram: its sequence number, its sender's send time and our arrival time (both ns of
  // CLOCK_REALTIME; only their differences matter, so a fixed clock offset cancels).
  void on_datagram(std::uint64_t seq, std::int64_t send_ns, std::int64_t arrival_ns);

  std::uint64_t packets() const { return packets_; }  // distinct datagrams received
  // Sequence numbers skipped so far and not seen since (a late one is taken back off).
  std::uint64_t lost() const { return lost_; }
  std::uint64_t out_of_order() const { return out_of_order_; }  // arrived after a higher seq
  std::uint64_t duplicates() const { return duplicates_; }      // a seq seen before
  std::uint64_t next_expected() const { return next_; }         // highest seq + 1
  double jitter_ns() const { return jitter_ns_; }               // RFC 3550 J, in ns

 private:
  bool seen(std::uint64_t seq) const;
  void mark(std::uint64_t seq);

  // Which of the last kWindow sequence numbers below next_ have arrived: tells a duplicate from
  // a late datagram. Older than that, a datagram counts as late, never as a duplicate.
  static constexpr std::uint64_t kWindow = 1u << 16;
  std::array<std::uint64_t, kWindow / 64> window_{};
  std::uint64_t next_ = 0, packets_ = 0, lost_ = 0, out_of_order_ = 0, duplicates_ = 0;
  bool have_transit_ = false;
  std::int64_t last_transit_ = 0;
  double jitter_ns_ = 0;
};

}  // namespace nicperf
