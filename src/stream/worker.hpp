// StreamWorker: what one stream does, of one kind (bulk, datagram, rr). Stream owns the thread
// and its CPU; the worker owns the paths, the loop the thread runs, and the figures it keeps:
// the main thread asks it for each interval's progress and for the end figures, so nothing
// outside the worker branches on the kind.
#pragma once

#include <sys/time.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>

#include "nicperf/paths/send_path.hpp"
#include "nicperf/results/results.hpp"
#include "nicperf/stream/payload.hpp"
#include "nicperf/stream/stream.hpp"
#include "nicperf/util/clock.hpp"

namespace nicperf {

// How often a UDP receiver looks at its stop flag while no datagram comes.
inline constexpr timeval kReceivePoll{0, 100'000};
// A UDP test's FIN travels as datagrams too and may be lost, so it is sent this many times.
inline constexpr int kFinCopies = 3;

class StreamWorker {
 public:
  explicit StreamWorker(const StreamConfig& cfg) : cfg_(cfg) {}
  virtual ~StreamWorker() = default;
  StreamWorker(const StreamWorker&) = delete;
  StreamWorker& operator=(const StreamWorker&) = delete;

  // Main thread, before the stream thread exists.
  virtual Status open(const Payload& payload) = 0;
  // The stream thread: moves data until done, stopped or failed.
  virtual void run(std::stop_token& stop) = 0;
  // When the last byte counted arrived, if the worker knows better than "when run() returned"
  // (a UDP receiver waits out its drain time after the last datagram).
  virtual std::optional<Clock::time_point> last_arrival() const { return std::nullopt; }
  virtual PathStats path_stats() const = 0;

  // Main thread, while the stream runs: the measured window opens (after -O) ...
  virtual void begin_window() {}
  // ... the figures since the last sample go into s ...
  virtual void sample(StreamSample& s) = 0;
  // ... and, once the thread ended, the whole test's.
  virtual void end(StreamEnd& e) = 0;

  std::uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  // Valid once the thread ended.
  const std::string& error() const { return error_; }
  // The first failure wins. Stream thread only (or before it runs).
  void fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }

 protected:
  void publish_bytes(std::uint64_t n) { bytes_.store(n, std::memory_order_relaxed); }
  std::string name() const { return "stream " + std::to_string(cfg_.index); }

  const StreamConfig& cfg_;

 private:
  std::atomic<std::uint64_t> bytes_{0};
  std::string error_;
};

std::unique_ptr<StreamWorker> make_bulk_worker(const StreamConfig& cfg);
std::unique_ptr<StreamWorker> make_datagram_worker(const StreamConfig& cfg);
std::unique_ptr<StreamWorker> make_rr_worker(const StreamConfig& cfg);
std::unique_ptr<StreamWorker> make_udp_rr_worker(const StreamConfig& cfg);

// A socket's own counters, read by the main thread while its stream runs.
TcpSample read_tcp_info(int fd);
// Datagrams the socket dropped because its receive buffer was full (sk_drops).
std::uint64_t socket_drops(int fd);

}  // namespace nicperf
