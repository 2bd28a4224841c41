// Stream: one data connection and the thread that owns it. The thread touches only its own path
// and buffer; the main thread reads the published counters (atomics) and TCP_INFO.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>

#include "nicperf/paths/dgram_path.hpp"
#include "nicperf/util/clock.hpp"
#include "nicperf/stream/latency.hpp"
#include "nicperf/cost/perf_counters.hpp"
#include "nicperf/paths/send_path.hpp"
#include "nicperf/stream/udp_stats.hpp"

namespace nicperf {


struct TcpSample {
  bool valid = false;
  std::uint32_t total_retrans = 0;
  std::uint64_t snd_cwnd = 0;  // bytes
  std::uint64_t snd_wnd = 0;   // bytes
  std::uint32_t rtt_us = 0;
  std::uint32_t rttvar_us = 0;
  std::uint32_t pmtu = 0;
  std::uint32_t snd_mss = 0;
};

TcpSample read_tcp_info(int fd);

struct StreamConfig {
  int index = 0;
  bool sender = false;
  int fd = -1;
  int cpu = -1;                   // pin the thread here, -1 = no pinning
  std::uint64_t byte_budget = 0;  // sender: stop after this many bytes, 0 = until stopped
  bool verify = false;
  std::size_t block_len = 0;
  std::string mode;  // path name
  int depth = 8;     // async paths: operations in flight
  // UDP: datagrams of block_len bytes, paced at rate bits/s (0 = unpaced) in bursts of `burst`.
  bool udp = false;
  std::uint64_t rate = 0;
  int burst = 0;
  int batch = 16;
  // --rr: the client writes req_len bytes and reads resp_len back; the server echoes.
  bool rr = false;
  std::size_t req_len = 1, resp_len = 1;
};

// A UDP stream's running figures (published by its thread, read by the main thread).
struct UdpProgress {
  std::uint64_t packets = 0, lost = 0, out_of_order = 0, duplicates = 0, send_drops = 0;
  std::uint64_t fin_packets = 0;
  double jitter_ms = 0;
};

class Stream {
 public:
  // Takes ownership of cfg.fd. on_done runs on the stream thread when it finishes.
  Stream(StreamConfig cfg, std::function<void()> on_done);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  Status open(const Payload& payload);  // creates the path; before start()
  void start();                         // the thread publishes its tid, then waits for release()
  void release();                       // lets a started stream move data
  void request_stop();                  // sender: stop after the current call
  void abort();                         // unblocks a stuck thread by shutting the socket down
  void join();

  const StreamConfig& config() const { return cfg_; }
  int fd() const { return cfg_.fd; }
  std::uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  bool done() const { return done_.load(std::memory_order_acquire); }
  // Valid once done(): when the last byte moved, and the error if the stream failed.
  Clock::time_point end_time() const { return end_time_; }
  const std::string& error() const { return error_; }
  pid_t tid() const { return tid_.load(std::memory_order_acquire); }  // 0 until the thread runs
  // The thread's own utime, stime and schedstat read just before it ended; valid once done().
  const CounterValues& final_clocks() const { return final_clocks_; }
  PathStats path_stats() const;
  UdpProgress udp_progress() const;
  std::uint64_t transactions() const { return transactions_.load(std::memory_order_relaxed); }
  // --rr: the latencies recorded since the last call; the whole test's once done().
  LatencyHistogram take_interval_latency();
  const LatencyHistogram& latency() const { return latency_; }

 private:
  void run(std::stop_token stop);
  void send_loop(std::stop_token& stop);
  void recv_loop();
  void fail(std::string message);
  Status open_udp(const Payload& payload);
  void udp_send_loop(std::stop_token& stop);
  void udp_recv_loop(std::stop_token& stop);
  bool udp_receive_batch(std::span<Datagram> got, UdpReceiveStats& stats);
  void send_fin(std::uint64_t total);
  void rr_client_loop(std::stop_token& stop);
  void rr_server_loop();
  void record_latency(std::uint64_t ns);

  StreamConfig cfg_;
  std::function<void()> on_done_;
  std::unique_ptr<SendPath> send_;
  std::unique_ptr<RecvPath> recv_;
  std::unique_ptr<DgramSendPath> dsend_;
  std::unique_ptr<DgramRecvPath> drecv_;
  const char* pattern_ = nullptr;
  std::atomic<std::uint64_t> packets_{0}, lost_{0}, out_of_order_{0}, duplicates_{0};
  std::atomic<std::uint64_t> send_drops_{0}, fin_packets_{0}, jitter_ns_{0};
  std::optional<Clock::time_point> last_arrival_;  // UDP receiver: when the last datagram came
  std::atomic<std::uint64_t> transactions_{0};
  LatencyHistogram latency_;  // the stream thread's own until done()
  std::mutex interval_mutex_;
  LatencyHistogram interval_latency_;
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<bool> done_{false};
  Clock::time_point end_time_{};
  std::string error_;
  std::atomic<pid_t> tid_{0};
  std::atomic<bool> go_{false};
  CounterValues final_clocks_;
  std::jthread thread_;
};

}  // namespace nicperf
