// A UDP stream's thread: paced datagrams with sequence numbers and send times out, and loss,
// reordering, duplicates and jitter counted on the way in. The figures are published as atomics
// for the main thread's samples.
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <limits>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "nicperf/control/protocol.hpp"
#include "nicperf/paths/dgram_path.hpp"
#include "nicperf/stream/udp_stats.hpp"
#include "stream/iperf3_dgram.hpp"
#include "stream/pacer.hpp"
#include "stream/worker.hpp"

namespace nicperf {
namespace {

std::int64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

bool is_greeting(const Datagram& d) {
  return d.len >= 4 && std::memcmp(d.data, kGreetingMagic, 4) == 0;
}

// A UDP stream's running figures, as its thread published them.
struct UdpProgress {
  std::uint64_t packets = 0, lost = 0, out_of_order = 0, duplicates = 0, send_drops = 0;
  std::uint64_t fin_packets = 0;
  double jitter_ms = 0;
};

class DatagramWorker final : public StreamWorker {
 public:
  using StreamWorker::StreamWorker;

  Status open(const Payload& payload) override;
  void run(std::stop_token& stop) override { cfg_.sender ? send_loop(stop) : recv_loop(stop); }
  std::optional<Clock::time_point> last_arrival() const override { return last_arrival_; }
  PathStats path_stats() const override {
    return send_ ? send_->stats() : recv_ ? recv_->stats() : PathStats{};
  }
  void sample(StreamSample& s) override;
  void end(StreamEnd& e) override;

 private:
  UdpProgress progress() const;
  void send_loop(std::stop_token& stop);
  void send_fin(std::uint64_t total);
  void write_header(char* at, std::uint64_t seq, std::int64_t now);
  bool read_iperf3(const Datagram& d, DgramHeader& h) const;
  void recv_loop(std::stop_token& stop);
  bool receive_batch(std::span<Datagram> got, UdpReceiveStats& stats);

  std::unique_ptr<DgramSendPath> send_;
  std::unique_ptr<DgramRecvPath> recv_;
  const char* pattern_ = nullptr;
  std::atomic<std::uint64_t> packets_{0}, lost_{0}, out_of_order_{0}, duplicates_{0};
  std::atomic<std::uint64_t> send_drops_{0}, fin_packets_{0}, jitter_ns_{0};
  std::optional<Clock::time_point> last_arrival_;  // receiver: when the last datagram came
  // Main thread: the figures at the last sample.
  UdpProgress last_;
  std::uint64_t last_socket_drops_ = 0;
};

}  // namespace

Status DatagramWorker::open(const Payload& payload) {
  pattern_ = payload.data();
  if (auto st = check_path(Mode::kDatagram, cfg_.sender, cfg_.path, "here"); !st) return st;
  DgramContext ctx{cfg_.fd, cfg_.block_len, cfg_.batch, payload.data()};
  if (cfg_.sender) {
    // Without IP_RECVERR the kernel hides ENOBUFS (a full queue below the socket) from UDP
    // senders; with it, each such drop is seen and counted.
    int one = 1;
    setsockopt(cfg_.fd, SOL_IP, IP_RECVERR, &one, sizeof one);
    setsockopt(cfg_.fd, SOL_IPV6, IPV6_RECVERR, &one, sizeof one);
    send_ = find_dgram_send_path(cfg_.path)->make();
    return send_->open(ctx);
  }
  if (setsockopt(cfg_.fd, SOL_SOCKET, SO_RCVTIMEO, &kReceivePoll, sizeof kReceivePoll) != 0)
    return Error{Errc::kSystem, errno_text("SO_RCVTIMEO", errno)};
  recv_ = find_dgram_recv_path(cfg_.path)->make();
  return recv_->open(ctx);
}

UdpProgress DatagramWorker::progress() const {
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

void DatagramWorker::send_loop(std::stop_token& stop) {
  // Sleeps end within a microsecond or so instead of the default 50 us slack.
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  const std::size_t len = cfg_.block_len;
  std::uint64_t limit = cfg_.byte_budget ? (cfg_.byte_budget + len - 1) / len
                                         : std::numeric_limits<std::uint64_t>::max();
  double pps = double(cfg_.rate) / (8.0 * double(len));
  // Catch-up after a stall is limited to 1 ms of datagrams (or one batch).
  const std::uint64_t per_call = send_->per_call(std::size_t(cfg_.batch));
  std::uint64_t max_debt = std::max<std::uint64_t>(std::uint64_t(pps / 1000), per_call);
  Pacer pacer(pps > 0 ? pps : 1, cfg_.burst, max_debt, Clock::now());
  std::uint64_t seq = 0, taken = 0, drops = 0;
  while (seq < limit && !stop.stop_requested()) {
    std::uint64_t n = std::min<std::uint64_t>(per_call, limit - seq);
    if (cfg_.rate > 0) {
      n = std::min(n, pacer.allowed(seq, Clock::now()));
      if (n == 0) {
        std::this_thread::sleep_until(pacer.due_at(seq));
        continue;
      }
    }
    char* room = send_->room();
    std::int64_t now = realtime_ns();
    for (std::uint64_t i = 0; i < n; ++i) write_header(room + i * len, seq + i, now);
    DgramResult r = send_->send(std::size_t(n));
    seq += r.count;
    taken += r.count;
    if (r.err == ENOBUFS) {
      // The queue below the socket dropped it: its sequence number is spent, and the receiver
      // will count it lost; we count where.
      std::uint64_t lost = send_->drops_whole_batch() ? n - r.count : 1;
      seq += lost;
      drops += lost;
    } else if (r.err == ECONNREFUSED) {
      fail(name() + ": the receiver's port is closed (ICMP port unreachable)");
      break;
    } else if (r.err != 0 && r.err != EINTR && r.err != EAGAIN) {
      fail(errno_text(name() + " send", r.err));
      break;
    }
    packets_.store(taken, std::memory_order_relaxed);
    send_drops_.store(drops, std::memory_order_relaxed);
    publish_bytes(taken * len);
  }
  DgramResult tail = send_->finish();
  if (tail.err) fail(errno_text(name() + " completion", tail.err));
  if (!cfg_.iperf3_seq_bits) send_fin(seq);
}

void DatagramWorker::write_header(char* at, std::uint64_t seq, std::int64_t now) {
  if (cfg_.iperf3_seq_bits)
    write_iperf3_dgram(at, seq + 1, now, cfg_.iperf3_seq_bits);  // iperf3 counts from 1
  else
    write_dgram_header(at, {seq, false, now});
}

// An iperf3 peer's datagram, numbered from 1; false when it is not one.
bool DatagramWorker::read_iperf3(const Datagram& d, DgramHeader& h) const {
  std::uint64_t seq = 0;
  if (d.len != cfg_.block_len ||
      !read_iperf3_dgram(d.data, d.len, cfg_.iperf3_seq_bits, seq, h.send_ns) || seq == 0)
    return false;
  h.seq = seq - 1;
  h.fin = false;
  return true;
}

// The FIN carries how many sequence numbers were used, so the receiver knows the trailing loss.
void DatagramWorker::send_fin(std::uint64_t total) {
  std::vector<char> datagram(cfg_.block_len, 0);
  write_dgram_header(datagram.data(), {total, true, realtime_ns()});
  for (int i = 0; i < kFinCopies; ++i) {
    (void)::send(cfg_.fd, datagram.data(), datagram.size(), MSG_DONTWAIT);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

void DatagramWorker::recv_loop(std::stop_token& stop) {
  std::array<Datagram, kMaxDgramBatch> got;
  UdpReceiveStats stats;
  std::span<Datagram> room(got.data(),
                           std::min(got.size(), recv_->per_call(std::size_t(cfg_.batch))));
  while (!stop.stop_requested()) {
    DgramResult r = recv_->recv(room);
    if (r.err == EAGAIN || r.err == EWOULDBLOCK || r.err == EINTR || r.err == ECONNREFUSED)
      continue;
    if (r.err != 0) {
      fail(errno_text(name() + " receive", r.err));
      break;
    }
    if (!receive_batch({got.data(), r.count}, stats)) break;
  }
}

// Counts one batch; false once the sender's FIN came (or the data was wrong).
bool DatagramWorker::receive_batch(std::span<Datagram> got, UdpReceiveStats& stats) {
  std::int64_t now = realtime_ns();
  bool more = true;
  bool counted = false;
  for (const Datagram& d : got) {
    DgramHeader h;
    if (cfg_.iperf3_seq_bits) {
      if (!read_iperf3(d, h)) continue;
      stats.on_datagram(h.seq, h.send_ns, now);
      last_arrival_ = Clock::now();
      continue;
    }
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
      fail(name() + ": datagram " + std::to_string(h.seq) + " differs from the pattern");
      return false;
    }
    stats.on_datagram(h.seq, h.send_ns, now);
    counted = true;
  }
  // One clock read per call, not per datagram: a batch arrives at one time anyway (`now`).
  if (counted) last_arrival_ = Clock::now();
  packets_.store(stats.packets(), std::memory_order_relaxed);
  lost_.store(stats.lost(), std::memory_order_relaxed);
  out_of_order_.store(stats.out_of_order(), std::memory_order_relaxed);
  duplicates_.store(stats.duplicates(), std::memory_order_relaxed);
  jitter_ns_.store(std::uint64_t(stats.jitter_ns()), std::memory_order_relaxed);
  publish_bytes(stats.packets() * cfg_.block_len);
  return more;
}

// The change since the last sample; jitter is the current estimate.
void DatagramWorker::sample(StreamSample& s) {
  UdpProgress now = progress();
  UdpCounts d;
  d.packets = now.packets - last_.packets;
  d.lost = now.lost - std::min(now.lost, last_.lost);  // late arrivals lower the count
  d.out_of_order = now.out_of_order - last_.out_of_order;
  d.duplicates = now.duplicates - last_.duplicates;
  d.send_drops = now.send_drops - last_.send_drops;
  d.jitter_ms = now.jitter_ms;
  if (!cfg_.sender) {
    std::uint64_t drops = socket_drops(cfg_.fd);
    d.socket_drops = drops - std::min(drops, last_socket_drops_);
    last_socket_drops_ = drops;
  }
  last_ = now;
  s.udp = d;
}

void DatagramWorker::end(StreamEnd& e) {
  UdpProgress p = progress();
  UdpCounts u;
  u.packets = p.packets;
  u.lost = p.lost;
  u.out_of_order = p.out_of_order;
  u.duplicates = p.duplicates;
  u.jitter_ms = p.jitter_ms;
  u.send_drops = p.send_drops;
  u.fin_packets = p.fin_packets;
  if (!cfg_.sender) u.socket_drops = socket_drops(cfg_.fd);
  e.udp = u;
}

std::unique_ptr<StreamWorker> make_datagram_worker(const StreamConfig& cfg) {
  return std::make_unique<DatagramWorker>(cfg);
}

}  // namespace nicperf
