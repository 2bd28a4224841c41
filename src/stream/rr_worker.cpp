// A --rr stream's thread: the client writes a request and times until the whole response is
// back; the server reads each request and answers it. One transaction in flight per stream,
// as netperf's TCP_RR and neper's tcp_rr.
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <vector>

#include "nicperf/stream/latency.hpp"
#include "nicperf/util/clock.hpp"
#include "stream/rr_latency.hpp"
#include "stream/worker.hpp"

namespace nicperf {
namespace {

// 0 on success, else errno (EPIPE-like -1 for a peer that closed).
int write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return errno;
    p += w;
    n -= std::size_t(w);
  }
  return 0;
}

// Reads exactly n bytes: 0 on success, -1 when the peer closed before the first byte, ECONNRESET
// when it closed midway, else errno.
int read_exact(int fd, char* p, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, p + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno;
    if (r == 0) return got == 0 ? -1 : ECONNRESET;
    got += std::size_t(r);
  }
  return 0;
}

class RrWorker final : public StreamWorker {
 public:
  using StreamWorker::StreamWorker;

  Status open(const Payload&) override {
    return check_path(Mode::kRr, cfg_.sender, cfg_.path, "here");
  }
  void run(std::stop_token& stop) override { cfg_.sender ? client_loop(stop) : server_loop(); }
  PathStats path_stats() const override { return {}; }

  // The client's transactions since the last sample; the server only echoes.
  void sample(StreamSample& s) override {
    if (!cfg_.sender) return;
    std::uint64_t n = transactions_.load(std::memory_order_relaxed);
    s.rr.emplace();
    s.rr->transactions = n - last_transactions_;
    s.rr->latency = latency_.take_interval();
    last_transactions_ = n;
  }
  void end(StreamEnd& e) override {
    if (!cfg_.sender) return;
    e.rr.emplace();
    e.rr->transactions = transactions_.load(std::memory_order_relaxed);
    e.rr->latency = latency_.total();
  }

 private:
  void client_loop(std::stop_token& stop);
  void server_loop();
  void count(std::uint64_t done) {
    transactions_.store(done, std::memory_order_relaxed);
    publish_bytes(done * cfg_.req_len);
  }

  std::atomic<std::uint64_t> transactions_{0};
  RrLatency latency_;
  std::uint64_t last_transactions_ = 0;  // main thread
};

void RrWorker::client_loop(std::stop_token& stop) {
  std::vector<char> request(cfg_.req_len, 'q'), response(cfg_.resp_len);
  std::uint64_t limit =
      cfg_.byte_budget ? (cfg_.byte_budget + cfg_.req_len - 1) / cfg_.req_len : ~std::uint64_t(0);
  std::uint64_t done = 0;
  const std::string name = StreamWorker::name();
  while (done < limit && !stop.stop_requested()) {
    std::uint64_t t0 = monotonic_ns();
    if (int err = write_all(cfg_.fd, request.data(), request.size()); err) {
      fail(errno_text(name + " request", err));
      break;
    }
    if (int err = read_exact(cfg_.fd, response.data(), response.size()); err) {
      fail(err < 0 ? name + ": the server closed the connection mid-test"
                   : errno_text(name + " response", err));
      break;
    }
    latency_.record(monotonic_ns() - t0);
    ++done;
    count(done);
  }
  // The server answers every request it read, then sees our EOF and closes.
  shutdown(cfg_.fd, SHUT_WR);
}

void RrWorker::server_loop() {
  std::vector<char> request(cfg_.req_len), response(cfg_.resp_len, 'r');
  std::uint64_t done = 0;
  const std::string name = StreamWorker::name();
  for (;;) {
    int err = read_exact(cfg_.fd, request.data(), request.size());
    if (err < 0) break;  // the client finished
    if (err) {
      fail(errno_text(name + " request", err));
      break;
    }
    if (int werr = write_all(cfg_.fd, response.data(), response.size()); werr) {
      fail(errno_text(name + " response", werr));
      break;
    }
    ++done;
    count(done);
  }
  shutdown(cfg_.fd, SHUT_WR);
}

}  // namespace

std::unique_ptr<StreamWorker> make_rr_worker(const StreamConfig& cfg) {
  return std::make_unique<RrWorker>(cfg);
}

}  // namespace nicperf
