#include "nicperf/stream/stream.hpp"

#include <linux/tcp.h>  // glibc's tcp_info lacks tcpi_snd_wnd
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include "nicperf/paths/registry.hpp"
#include "nicperf/stream/payload.hpp"
#include "nicperf/cost/perf_counters.hpp"

namespace nicperf {

TcpSample read_tcp_info(int fd) {
  TcpSample s;
  tcp_info info{};
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return s;
  s.valid = true;
  s.total_retrans = info.tcpi_total_retrans;
  s.snd_cwnd = std::uint64_t(info.tcpi_snd_cwnd) * info.tcpi_snd_mss;
  s.snd_wnd = info.tcpi_snd_wnd;
  s.rtt_us = info.tcpi_rtt;
  s.rttvar_us = info.tcpi_rttvar;
  s.pmtu = info.tcpi_pmtu;
  s.snd_mss = info.tcpi_snd_mss;
  return s;
}

Stream::Stream(StreamConfig cfg, std::function<void()> on_done)
    : cfg_(std::move(cfg)), on_done_(std::move(on_done)) {}

Stream::~Stream() {
  abort();
  join();
  if (cfg_.fd >= 0) close(cfg_.fd);
}

Status Stream::open(const Payload& payload) {
  if (cfg_.udp) return open_udp(payload);
  if (cfg_.rr) return ok();  // plain write and read
  PathContext ctx{cfg_.fd, &payload, cfg_.block_len, cfg_.depth};
  if (cfg_.sender) {
    auto* info = find_send_path(cfg_.mode);
    if (!info) return Error{Errc::kUsage, "unknown send mode '" + cfg_.mode + "'"};
    if (auto why = path_unavailable(*info); !why.empty())
      return Error{Errc::kUsage, "send mode '" + cfg_.mode + "' is unavailable here: " + why};
    send_ = info->make();
    return send_->open(ctx);
  }
  auto* info = find_recv_path(cfg_.mode);
  if (!info) return Error{Errc::kUsage, "unknown receive mode '" + cfg_.mode + "'"};
  if (auto why = path_unavailable(*info); !why.empty())
    return Error{Errc::kUsage, "receive mode '" + cfg_.mode + "' is unavailable here: " + why};
  recv_ = info->make();
  return recv_->open(ctx);
}

void Stream::start() {
  // Only the main thread handles signals: block them before the thread exists so it inherits
  // the mask, then restore ours.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  thread_ = std::jthread([this](std::stop_token st) { run(st); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void Stream::release() {
  go_.store(true, std::memory_order_release);
  go_.notify_all();
}

void Stream::request_stop() { thread_.request_stop(); }

void Stream::abort() {
  thread_.request_stop();
  release();
  if (cfg_.fd >= 0 && !done()) shutdown(cfg_.fd, SHUT_RDWR);
}

void Stream::join() {
  if (thread_.joinable()) thread_.join();
}

PathStats Stream::path_stats() const {
  if (send_) return send_->stats();
  if (recv_) return recv_->stats();
  if (dsend_) return dsend_->stats();
  if (drecv_) return drecv_->stats();
  return {};
}

void Stream::run(std::stop_token stop) {
  tid_.store(gettid(), std::memory_order_release);
  // Counters are attached to this tid before the first byte moves.
  go_.wait(false, std::memory_order_acquire);
  if (cfg_.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cfg_.cpu, &set);
    if (int err = pthread_setaffinity_np(pthread_self(), sizeof set, &set); err != 0)
      fail(errno_text(
          "cannot pin stream " + std::to_string(cfg_.index) + " to CPU " + std::to_string(cfg_.cpu),
          err));
  }
  if (error_.empty() && !stop.stop_requested()) {
    if (cfg_.udp)
      cfg_.sender ? udp_send_loop(stop) : udp_recv_loop(stop);
    else if (cfg_.rr)
      cfg_.sender ? rr_client_loop(stop) : rr_server_loop();
    else if (cfg_.sender)
      send_loop(stop);
    else
      recv_loop();
  }
  end_time_ = last_arrival_.value_or(Clock::now());
  read_own_clocks(final_clocks_);
  done_.store(true, std::memory_order_release);
  if (on_done_) on_done_();
}

void Stream::fail(std::string message) {
  if (error_.empty()) error_ = std::move(message);
}

void Stream::send_loop(std::stop_token& stop) {
  std::uint64_t budget =
      cfg_.byte_budget ? cfg_.byte_budget : std::numeric_limits<std::uint64_t>::max();
  std::uint64_t sent = 0;
  while (sent < budget && !stop.stop_requested()) {
    IoResult r = send_->send(std::size_t(std::min<std::uint64_t>(budget - sent, SIZE_MAX)));
    if (r.err == EINTR || r.err == EAGAIN) continue;
    if (r.err != 0) {
      fail(errno_text("stream " + std::to_string(cfg_.index) + " send", r.err));
      break;
    }
    sent += r.bytes;
    bytes_.store(sent, std::memory_order_relaxed);
  }
  IoResult tail = send_->finish();
  sent += tail.bytes;
  bytes_.store(sent, std::memory_order_relaxed);
  if (tail.err) fail(errno_text("stream " + std::to_string(cfg_.index) + " completion", tail.err));
  // The receiver counts until EOF, so the last byte sent is the last byte counted.
  shutdown(cfg_.fd, SHUT_WR);
}

void Stream::recv_loop() {
  std::uint64_t got = 0;
  for (;;) {
    IoResult r = recv_->recv();
    if (r.err == EINTR || r.err == EAGAIN) continue;
    if (r.err != 0) {
      fail(errno_text("stream " + std::to_string(cfg_.index) + " receive", r.err));
      break;
    }
    if (r.bytes == 0) break;
    if (cfg_.verify && r.data) {
      if (auto bad = find_mismatch(r.data, r.bytes, got, cfg_.block_len)) {
        fail("stream " + std::to_string(cfg_.index) +
             ": received data differs from the pattern at byte offset " + std::to_string(*bad));
        shutdown(cfg_.fd, SHUT_RDWR);
        break;
      }
    }
    got += r.bytes;
    bytes_.store(got, std::memory_order_relaxed);
  }
}

}  // namespace nicperf
