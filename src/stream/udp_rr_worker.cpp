// A --rr -u stream's thread: one request datagram, one response datagram, one transaction in
// flight per stream, as netperf's UDP_RR and neper's udp_rr. UDP may drop either datagram, so
// the client waits at most a timeout per transaction (10x the running p99, within 1 ms..1 s) and
// counts the transaction lost. Each request carries a sequence number that the server copies
// into its response, so a response that arrives after its transaction timed out is recognized
// and not taken as the answer to the next one.
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <thread>
#include <vector>

#include "nicperf/control/protocol.hpp"
#include "nicperf/stream/latency.hpp"
#include "nicperf/util/clock.hpp"
#include "stream/rr_latency.hpp"
#include "stream/udp_rr_timeout.hpp"
#include "stream/worker.hpp"

namespace nicperf {
namespace {

bool is_greeting(const char* p, std::size_t n) {
  return n == kGreetingSize && std::memcmp(p, kGreetingMagic, 4) == 0;
}

class UdpRrWorker final : public StreamWorker {
 public:
  using StreamWorker::StreamWorker;

  Status open(const Payload&) override;
  void run(std::stop_token& stop) override { cfg_.sender ? client_loop(stop) : server_loop(stop); }
  PathStats path_stats() const override { return {}; }

  void sample(StreamSample& s) override {
    if (!cfg_.sender) return;
    std::uint64_t n = transactions_.load(std::memory_order_relaxed);
    std::uint64_t lost = lost_.load(std::memory_order_relaxed);
    RrCounts rr;
    rr.transactions = n - last_transactions_;
    rr.latency = latency_.take_interval();
    rr.lost = lost - last_lost_;
    s.rr = std::move(rr);
    last_transactions_ = n;
    last_lost_ = lost;
  }
  void end(StreamEnd& e) override {
    if (!cfg_.sender) return;
    RrCounts rr;
    rr.transactions = transactions_.load(std::memory_order_relaxed);
    rr.latency = latency_.total();
    rr.lost = lost_.load(std::memory_order_relaxed);
    e.rr = std::move(rr);
  }

 private:
  enum class Wait { kAnswered, kTimedOut, kFailed };
  void client_loop(std::stop_token& stop);
  Wait await_response(std::uint64_t seq, std::uint64_t deadline, std::vector<char>& buf);
  void server_loop(std::stop_token& stop);
  void send_fin();
  // The sequence field's width: as much of a 64-bit number as both messages hold.
  std::size_t seq_bytes() const {
    return std::size_t(std::min<std::uint64_t>({cfg_.req_len, cfg_.resp_len, 8}));
  }

  std::atomic<std::uint64_t> transactions_{0}, lost_{0};
  RrLatency latency_;
  std::uint64_t last_transactions_ = 0, last_lost_ = 0;  // main thread
};

Status UdpRrWorker::open(const Payload&) {
  if (auto st = check_path(Mode::kUdpRr, cfg_.sender, cfg_.path, "here"); !st) return st;
  if (cfg_.sender) return ok();
  if (setsockopt(cfg_.fd, SOL_SOCKET, SO_RCVTIMEO, &kReceivePoll, sizeof kReceivePoll) != 0)
    return Error{Errc::kSystem, errno_text("SO_RCVTIMEO", errno)};
  return ok();
}

void UdpRrWorker::client_loop(std::stop_token& stop) {
  std::vector<char> request(cfg_.req_len, 'q'), response(cfg_.resp_len + 1);
  std::uint64_t limit =
      cfg_.byte_budget ? (cfg_.byte_budget + cfg_.req_len - 1) / cfg_.req_len : ~std::uint64_t(0);
  std::uint64_t done = 0, lost = 0;
  const std::size_t k = seq_bytes();
  RrTimeout timeout;
  for (std::uint64_t seq = 0; seq < limit && !stop.stop_requested(); ++seq) {
    std::memcpy(request.data(), &seq, k);  // little-endian: the low bytes first
    std::uint64_t t0 = monotonic_ns();
    if (::send(cfg_.fd, request.data(), request.size(), 0) < 0 && errno != ENOBUFS &&
        errno != EINTR) {
      fail(errno == ECONNREFUSED ? name() + ": the server's port is closed (ICMP port unreachable)"
                                 : errno_text(name() + " request", errno));
      break;
    }
    Wait w = await_response(seq, t0 + timeout.ns(), response);
    if (w == Wait::kFailed) break;
    publish_bytes((seq + 1) * cfg_.req_len);  // the requests sent, answered or not
    if (w == Wait::kTimedOut) {
      lost_.store(++lost, std::memory_order_relaxed);
      continue;
    }
    std::uint64_t ns = monotonic_ns() - t0;
    latency_.record(ns);
    timeout.on_answer(latency_.total());
    transactions_.store(++done, std::memory_order_relaxed);
  }
  send_fin();
}

// Reads until the response numbered seq arrives or the deadline passes; late responses to
// earlier transactions and stray greeting echoes are read and dropped.
UdpRrWorker::Wait UdpRrWorker::await_response(std::uint64_t seq, std::uint64_t deadline,
                                              std::vector<char>& buf) {
  const std::size_t k = seq_bytes();
  for (;;) {
    std::uint64_t now = monotonic_ns();
    if (now >= deadline) return Wait::kTimedOut;
    std::uint64_t left = deadline - now;
    timespec ts{time_t(left / 1'000'000'000), long(left % 1'000'000'000)};
    pollfd p{cfg_.fd, POLLIN, 0};
    int rc = ppoll(&p, 1, &ts, nullptr);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) {
      fail(errno_text(name() + " poll", errno));
      return Wait::kFailed;
    }
    if (rc == 0) return Wait::kTimedOut;
    ssize_t n = ::recv(cfg_.fd, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) {
      fail(errno == ECONNREFUSED ? name() + ": the server's port is closed (ICMP port unreachable)"
                                 : errno_text(name() + " response", errno));
      return Wait::kFailed;
    }
    if (std::size_t(n) != cfg_.resp_len || is_greeting(buf.data(), std::size_t(n))) continue;
    if (std::memcmp(buf.data(), &seq, k) == 0) return Wait::kAnswered;
  }
}

// The end of the test is a zero-length datagram (no request is that short).
void UdpRrWorker::send_fin() {
  for (int i = 0; i < kFinCopies; ++i) {
    (void)::send(cfg_.fd, nullptr, 0, MSG_DONTWAIT);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

// Answers every request with a response carrying its sequence field, until the client's FIN or
// the stop (a lost FIN: the run stops receivers after a drain time).
void UdpRrWorker::server_loop(std::stop_token& stop) {
  std::vector<char> request(std::max<std::size_t>(cfg_.req_len, kGreetingSize) + 1);
  std::vector<char> response(cfg_.resp_len, 'r');
  const std::size_t k = seq_bytes();
  std::uint64_t done = 0;
  while (!stop.stop_requested()) {
    ssize_t n = ::recv(cfg_.fd, request.data(), request.size(), 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNREFUSED)
        continue;
      fail(errno_text(name() + " request", errno));
      break;
    }
    if (n == 0) break;  // the client's FIN
    if (std::size_t(n) != cfg_.req_len || is_greeting(request.data(), std::size_t(n))) continue;
    std::memcpy(response.data(), request.data(), k);
    // A response the stack drops is the client's lost transaction, not an error here.
    (void)::send(cfg_.fd, response.data(), response.size(), MSG_DONTWAIT);
    publish_bytes(++done * cfg_.req_len);
  }
}

}  // namespace

std::unique_ptr<StreamWorker> make_udp_rr_worker(const StreamConfig& cfg) {
  return std::make_unique<UdpRrWorker>(cfg);
}

}  // namespace nicperf
