// Stream: one data connection and the thread that owns it. The thread touches only its own path
// and buffer; the main thread reads the published counters (atomics) and TCP_INFO.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "nicperf/perf_counters.hpp"
#include "nicperf/send_path.hpp"

namespace nicperf {

using Clock = std::chrono::steady_clock;

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

 private:
  void run(std::stop_token stop);
  void send_loop(std::stop_token& stop);
  void recv_loop();
  void fail(std::string message);

  StreamConfig cfg_;
  std::function<void()> on_done_;
  std::unique_ptr<SendPath> send_;
  std::unique_ptr<RecvPath> recv_;
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
