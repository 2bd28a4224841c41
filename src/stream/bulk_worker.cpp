// A TCP byte stream's thread: the sender pushes through its send path until its budget or the
// stop, the receiver counts (and may verify) until EOF. The sender's socket figures (TCP_INFO)
// are sampled by the main thread.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <limits>
#include <optional>
#include <thread>

#include "nicperf/paths/registry.hpp"
#include "stream/pacer.hpp"
#include "stream/worker.hpp"

namespace nicperf {
namespace {

class BulkWorker final : public StreamWorker {
 public:
  using StreamWorker::StreamWorker;

  Status open(const Payload& payload) override {
    if (auto st = check_path(Mode::kBulk, cfg_.sender, cfg_.path, "here"); !st) return st;
    PathContext ctx{cfg_.fd, &payload, cfg_.block_len, cfg_.depth};
    if (cfg_.sender) {
      send_ = find_send_path(cfg_.path)->make();
      return send_->open(ctx);
    }
    recv_ = find_recv_path(cfg_.path)->make();
    return recv_->open(ctx);
  }

  void run(std::stop_token& stop) override { cfg_.sender ? send_loop(stop) : recv_loop(); }

  PathStats path_stats() const override {
    return send_ ? send_->stats() : recv_ ? recv_->stats() : PathStats{};
  }

  void begin_window() override {
    omit_retrans_ = last_retrans_ = read_tcp_info(cfg_.fd).total_retrans;
  }

  void sample(StreamSample& s) override {
    if (!cfg_.sender) return;
    s.tcp = read_tcp_info(cfg_.fd);
    s.retransmits = s.tcp.total_retrans - std::min(last_retrans_, s.tcp.total_retrans);
    last_retrans_ = s.tcp.total_retrans;
    max_cwnd_ = std::max(max_cwnd_, s.tcp.snd_cwnd);
    max_wnd_ = std::max(max_wnd_, s.tcp.snd_wnd);
    max_rtt_ = std::max(max_rtt_, s.tcp.rtt_us);
    min_rtt_ = rtt_count_ ? std::min(min_rtt_, s.tcp.rtt_us) : s.tcp.rtt_us;
    rtt_sum_ += s.tcp.rtt_us;
    ++rtt_count_;
  }

  void end(StreamEnd& e) override {
    if (!cfg_.sender) return;
    TcpSample tcp = read_tcp_info(cfg_.fd);
    e.retransmits = tcp.total_retrans - std::min(omit_retrans_, tcp.total_retrans);
    e.max_snd_cwnd = std::max(max_cwnd_, tcp.snd_cwnd);
    e.max_snd_wnd = std::max(max_wnd_, tcp.snd_wnd);
    e.max_rtt = std::max(max_rtt_, tcp.rtt_us);
    e.min_rtt = rtt_count_ ? std::min(min_rtt_, tcp.rtt_us) : tcp.rtt_us;
    e.mean_rtt = std::uint32_t((rtt_sum_ + tcp.rtt_us) / (rtt_count_ + 1));
  }

 private:
  void send_loop(std::stop_token& stop);
  // Sleeps until block number `blocks` is due; false when stopped meanwhile.
  bool wait_for_turn(Pacer& pacer, std::uint64_t blocks, std::stop_token& stop);
  static constexpr std::uint64_t kMaxCatchUpBlocks = 64;
  void recv_loop();
  bool write_sink(const char* data, std::size_t n);

  std::unique_ptr<SendPath> send_;
  std::unique_ptr<RecvPath> recv_;
  // The sender's TCP_INFO history, main thread only.
  std::uint32_t omit_retrans_ = 0, last_retrans_ = 0;
  std::uint64_t max_cwnd_ = 0, max_wnd_ = 0;
  std::uint32_t max_rtt_ = 0, min_rtt_ = 0;
  std::uint64_t rtt_sum_ = 0, rtt_count_ = 0;
};

void BulkWorker::send_loop(std::stop_token& stop) {
  std::uint64_t budget =
      cfg_.byte_budget ? cfg_.byte_budget : std::numeric_limits<std::uint64_t>::max();
  std::uint64_t sent = 0;
  // -b on TCP paces the average per stream, as iperf3 does; a late sender may catch up.
  std::optional<Pacer> pacer;
  if (cfg_.rate)
    pacer.emplace(double(cfg_.rate) / (8.0 * double(cfg_.block_len)), cfg_.burst, kMaxCatchUpBlocks,
                  Pacer::Clock::now());
  while (sent < budget && !stop.stop_requested()) {
    if (pacer && !wait_for_turn(*pacer, sent / cfg_.block_len, stop)) break;
    IoResult r = send_->send(std::size_t(std::min<std::uint64_t>(budget - sent, SIZE_MAX)));
    if (r.err == EINTR || r.err == EAGAIN) continue;
    if (r.err != 0) {
      fail(errno_text(name() + " send", r.err));
      break;
    }
    sent += r.bytes;
    publish_bytes(sent);
  }
  IoResult tail = send_->finish();
  sent += tail.bytes;
  publish_bytes(sent);
  if (tail.err) fail(errno_text(name() + " completion", tail.err));
  // The receiver counts until EOF, so the last byte sent is the last byte counted.
  shutdown(cfg_.fd, SHUT_WR);
}

bool BulkWorker::wait_for_turn(Pacer& pacer, std::uint64_t blocks, std::stop_token& stop) {
  while (pacer.allowed(blocks, Pacer::Clock::now()) == 0) {
    if (stop.stop_requested()) return false;
    // Short naps, so a stop is seen within a few milliseconds even at a slow rate.
    auto due = pacer.due_at(blocks);
    std::this_thread::sleep_until(
        std::min(due, Pacer::Clock::now() + std::chrono::milliseconds(5)));
  }
  return true;
}

void BulkWorker::recv_loop() {
  std::uint64_t got = 0;
  for (;;) {
    IoResult r = recv_->recv();
    if (r.err == EINTR || r.err == EAGAIN) continue;
    if (r.err != 0) {
      fail(errno_text(name() + " receive", r.err));
      break;
    }
    if (r.bytes == 0) break;
    if (cfg_.verify && r.data) {
      if (auto bad = find_mismatch(r.data, r.bytes, got, cfg_.block_len)) {
        fail(name() + ": received data differs from the pattern at byte offset " +
             std::to_string(*bad));
        shutdown(cfg_.fd, SHUT_RDWR);
        break;
      }
    }
    if (cfg_.sink_fd >= 0 && r.data && !write_sink(r.data, r.bytes)) break;
    got += r.bytes;
    publish_bytes(got);
  }
}

// -F on the receiving side: every byte received goes to the file, in order.
bool BulkWorker::write_sink(const char* data, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(cfg_.sink_fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      fail(errno_text(name() + ": writing the -F file", w < 0 ? errno : ENOSPC));
      shutdown(cfg_.fd, SHUT_RDWR);
      return false;
    }
    data += w;
    n -= std::size_t(w);
  }
  return true;
}

}  // namespace

std::unique_ptr<StreamWorker> make_bulk_worker(const StreamConfig& cfg) {
  return std::make_unique<BulkWorker>(cfg);
}

}  // namespace nicperf
