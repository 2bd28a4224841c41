// Stream: one data connection and the thread that owns it, pinned to its CPU. What the thread
// does is a StreamWorker chosen once from the stream's kind (bulk, datagram, rr); the thread
// touches only its worker, and the main thread reads the worker's published figures.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <thread>

#include "nicperf/cost/perf_counters.hpp"
#include "nicperf/paths/send_path.hpp"
#include "nicperf/spec/spec.hpp"
#include "nicperf/util/clock.hpp"

namespace nicperf {

// A TCP sender's socket figures (TCP_INFO), sampled by its bulk worker.
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

struct StreamConfig {
  Mode kind = Mode::kBulk;
  int index = 0;
  bool sender = false;
  int fd = -1;
  int cpu = -1;                   // pin the thread here, -1 = no pinning
  std::uint64_t byte_budget = 0;  // sender: stop after this many bytes, 0 = until stopped
  bool verify = false;
  int sink_fd = -1;  // receiver, -F: what arrives is written here too (not owned)
  std::size_t block_len = 0;
  std::string path;  // the send or receive path's name
  int depth = 8;     // async paths: operations in flight
  // Datagrams of block_len bytes, paced at rate bits/s (0 = unpaced) in bursts of `burst`.
  std::uint64_t rate = 0;
  int burst = 0;
  int batch = 16;
  // --rr: the client writes req_len bytes and reads resp_len back; the server echoes.
  std::size_t req_len = 1, resp_len = 1;
  // UDP: 0 = nicperf's datagram header; 32 or 64 = iperf3's, with a sequence number that wide
  // (a stock iperf3 peer, --iperf3).
  int iperf3_seq_bits = 0;
};

// The one check that a stream's path works here (the probes' answers are cached): before any
// connection is made, and again as each stream opens. `where`: "here", "on the client", ...
Status check_path(Mode kind, bool sender, const std::string& path, const std::string& where);

class StreamWorker;
struct StreamSample;
struct StreamEnd;

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
  std::uint64_t bytes() const;
  bool done() const { return done_.load(std::memory_order_acquire); }
  // Valid once done(): when the last byte moved, and the error if the stream failed.
  Clock::time_point end_time() const { return end_time_; }
  const std::string& error() const;
  pid_t tid() const { return tid_.load(std::memory_order_acquire); }  // 0 until the thread runs
  // The thread's own utime, stime and schedstat read just before it ended; valid once done().
  const CounterValues& final_clocks() const { return final_clocks_; }
  PathStats path_stats() const;

  // The worker's figures (main thread): the measured window opens; the figures since the last
  // sample; the whole test's, after join().
  void begin_window();
  void sample(StreamSample& s);
  void end_figures(StreamEnd& e);

 private:
  void run(std::stop_token stop);
  void pin();

  StreamConfig cfg_;
  std::function<void()> on_done_;
  std::unique_ptr<StreamWorker> worker_;
  std::atomic<bool> done_{false};
  Clock::time_point end_time_{};
  std::atomic<pid_t> tid_{0};
  std::atomic<bool> go_{false};
  CounterValues final_clocks_;
  std::jthread thread_;
};

}  // namespace nicperf
