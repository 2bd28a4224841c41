// A UDP stream's thread: paced datagrams with sequence numbers and send times out, and loss,
// reordering, duplicates and jitter counted on the way in.
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <limits>
#include <thread>
#include <vector>

#include "stream/pacer.hpp"
#include "nicperf/stream/payload.hpp"
#include "nicperf/control/protocol.hpp"
#include "nicperf/stream/stream.hpp"

namespace nicperf {
namespace {

std::int64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// How often a receiver looks at its stop flag while no datagram comes.
constexpr timeval kReceivePoll{0, 100'000};
constexpr int kFinCopies = 3;  // the FIN travels as a datagram too and may be lost

bool is_greeting(const Datagram& d) {
  return d.len >= 4 && std::memcmp(d.data, kGreetingMagic, 4) == 0;
}

}  // namespace

Status Stream::open_udp(const Payload& payload) {
  pattern_ = payload.data();
  DgramContext ctx{cfg_.fd, cfg_.block_len, cfg_.batch, payload.data()};
  if (cfg_.sender) {
    auto* info = find_dgram_send_path(cfg_.mode);
    if (!info) return Error{Errc::kUsage, "unknown UDP send mode '" + cfg_.mode + "'"};
    if (auto why = path_unavailable(*info); !why.empty())
      return Error{Errc::kUsage, "UDP send mode '" + cfg_.mode + "' is unavailable here: " + why};
    // Without IP_RECVERR the kernel hides ENOBUFS (a full queue below the socket) from UDP
    // senders; with it, each such drop is seen and counted.
    int one = 1;
    setsockopt(cfg_.fd, SOL_IP, IP_RECVERR, &one, sizeof one);
    setsockopt(cfg_.fd, SOL_IPV6, IPV6_RECVERR, &one, sizeof one);
    dsend_ = info->make();
    return dsend_->open(ctx);
  }
  auto* info = find_dgram_recv_path(cfg_.mode);
  if (!info) return Error{Errc::kUsage, "unknown UDP receive mode '" + cfg_.mode + "'"};
  if (auto why = path_unavailable(*info); !why.empty())
    return Error{Errc::kUsage, "UDP receive mode '" + cfg_.mode + "' is unavailable here: " + why};
  if (setsockopt(cfg_.fd, SOL_SOCKET, SO_RCVTIMEO, &kReceivePoll, sizeof kReceivePoll) != 0)
    return Error{Errc::kSystem, errno_text("SO_RCVTIMEO", errno)};
  drecv_ = info->make();
  return drecv_->open(ctx);
}

UdpProgress Stream::udp_progress() const {
  UdpProgress p;
  p.packets = packets_.load(std::memory_order_relaxed);
  p.lost = lost_.load(std::memory_order_relaxed);
  p.out_of_order = out_of_order_.load(std::memory_order_relaxed);
  p.duplicates = duplicates_.load(std::memory_order_relaxed);
  p.send_drops = send_drops_.load(std::memory_order_relaxed);
  p.fin_packets = fin_packets_.load(std::memory_order_relaxed);
  p.jitter_ms = double(jitter_ns_.load(std::memory_order_relaxed)) / 1e6;
  return p;
}

void Stream::udp_send_loop(std::stop_token& stop) {
  // Sleeps end within a microsecond or so instead of the default 50 us slack.
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  const std::size_t len = cfg_.block_len;
  std::uint64_t limit = cfg_.byte_budget ? (cfg_.byte_budget + len - 1) / len
                                         : std::numeric_limits<std::uint64_t>::max();
  double pps = double(cfg_.rate) / (8.0 * double(len));
  // Catch-up after a stall is limited to 1 ms of datagrams (or one batch).
  std::uint64_t max_debt = std::max<std::uint64_t>(std::uint64_t(pps / 1000), cfg_.batch);
  Pacer pacer(pps > 0 ? pps : 1, cfg_.burst, max_debt, Clock::now());
  std::uint64_t seq = 0, taken = 0, drops = 0;
  while (seq < limit && !stop.stop_requested()) {
    std::uint64_t n = std::min<std::uint64_t>(std::uint64_t(cfg_.batch), limit - seq);
    if (cfg_.rate > 0) {
      n = std::min(n, pacer.allowed(seq, Clock::now()));
      if (n == 0) {
        std::this_thread::sleep_until(pacer.due_at(seq));
        continue;
      }
    }
    char* room = dsend_->room();
    std::int64_t now = realtime_ns();
    for (std::uint64_t i = 0; i < n; ++i) write_dgram_header(room + i * len, {seq + i, false, now});
    DgramResult r = dsend_->send(std::size_t(n));
    seq += r.count;
    taken += r.count;
    if (r.err == ENOBUFS) {
      // The queue below the socket dropped it: its sequence number is spent, and the receiver
      // will count it lost; we count where.
      std::uint64_t lost = dsend_->drops_whole_batch() ? n - r.count : 1;
      seq += lost;
      drops += lost;
    } else if (r.err == ECONNREFUSED) {
      fail("stream " + std::to_string(cfg_.index) +
           ": the receiver's port is closed (ICMP port unreachable)");
      break;
    } else if (r.err != 0 && r.err != EINTR && r.err != EAGAIN) {
      fail(errno_text("stream " + std::to_string(cfg_.index) + " send", r.err));
      break;
    }
    packets_.store(taken, std::memory_order_relaxed);
    send_drops_.store(drops, std::memory_order_relaxed);
    bytes_.store(taken * len, std::memory_order_relaxed);
  }
  DgramResult tail = dsend_->finish();
  if (tail.err) fail(errno_text("stream " + std::to_string(cfg_.index) + " completion", tail.err));
  send_fin(seq);
}

// The FIN carries how many sequence numbers were used, so the receiver knows the trailing loss.
void Stream::send_fin(std::uint64_t total) {
  std::vector<char> datagram(cfg_.block_len, 0);
  write_dgram_header(datagram.data(), {total, true, realtime_ns()});
  for (int i = 0; i < kFinCopies; ++i) {
    (void)::send(cfg_.fd, datagram.data(), datagram.size(), MSG_DONTWAIT);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

void Stream::udp_recv_loop(std::stop_token& stop) {
  std::array<Datagram, kMaxDgramBatch> got;
  UdpReceiveStats stats;
  std::span<Datagram> room(got.data(), std::size_t(cfg_.batch));
  while (!stop.stop_requested()) {
    DgramResult r = drecv_->recv(room);
    if (r.err == EAGAIN || r.err == EWOULDBLOCK || r.err == EINTR || r.err == ECONNREFUSED)
      continue;
    if (r.err != 0) {
      fail(errno_text("stream " + std::to_string(cfg_.index) + " receive", r.err));
      break;
    }
    if (!udp_receive_batch({got.data(), r.count}, stats)) break;
  }
}

// Counts one batch; false once the sender's FIN came (or the data was wrong).
bool Stream::udp_receive_batch(std::span<Datagram> got, UdpReceiveStats& stats) {
  std::int64_t now = realtime_ns();
  bool more = true;
  for (const Datagram& d : got) {
    DgramHeader h;
    // The greeting may be repeated after the stream began; datagrams of another size are not
    // ours either.
    if (d.len != cfg_.block_len || is_greeting(d) || !read_dgram_header(d.data, d.len, h)) continue;
    if (h.fin) {
      fin_packets_.store(h.seq, std::memory_order_relaxed);
      more = false;
      continue;
    }
    if (cfg_.verify && std::memcmp(d.data + kDgramHeaderSize, pattern_ + kDgramHeaderSize,
                                   d.len - kDgramHeaderSize) != 0) {
      fail("stream " + std::to_string(cfg_.index) + ": datagram " + std::to_string(h.seq) +
           " differs from the pattern");
      return false;
    }
    stats.on_datagram(h.seq, h.send_ns, now);
    last_arrival_ = Clock::now();
  }
  packets_.store(stats.packets(), std::memory_order_relaxed);
  lost_.store(stats.lost(), std::memory_order_relaxed);
  out_of_order_.store(stats.out_of_order(), std::memory_order_relaxed);
  duplicates_.store(stats.duplicates(), std::memory_order_relaxed);
  jitter_ns_.store(std::uint64_t(stats.jitter_ns()), std::memory_order_relaxed);
  bytes_.store(stats.packets() * cfg_.block_len, std::memory_order_relaxed);
  return more;
}

}  // namespace nicperf
