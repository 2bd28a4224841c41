#include "nicperf/stream/stream.hpp"

#include <linux/sock_diag.h>
#include <linux/tcp.h>  // glibc's tcp_info lacks tcpi_snd_wnd
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nicperf/paths/dgram_path.hpp"
#include "nicperf/paths/registry.hpp"
#include "stream/worker.hpp"

namespace nicperf {
namespace {

std::unique_ptr<StreamWorker> make_worker(const StreamConfig& cfg) {
  switch (cfg.kind) {
    case Mode::kDatagram:
      return make_datagram_worker(cfg);
    case Mode::kRr:
      return make_rr_worker(cfg);
    case Mode::kUdpRr:
      return make_udp_rr_worker(cfg);
    case Mode::kBulk:
      break;
  }
  return make_bulk_worker(cfg);
}

template <class Info>
Status check_in(const Info* info, const std::string& what, const std::string& path,
                const std::string& where) {
  if (!info) return Error{Errc::kUsage, "unknown " + what + " '" + path + "'"};
  if (auto why = path_unavailable(*info); !why.empty())
    return Error{Errc::kUsage, what + " '" + path + "' is unavailable " + where + ": " + why};
  return ok();
}

}  // namespace

Status check_path(Mode kind, bool sender, const std::string& path, const std::string& where) {
  switch (kind) {
    case Mode::kRr:
    case Mode::kUdpRr:
      return ok();  // plain write and read
    case Mode::kDatagram:
      return sender ? check_in(find_dgram_send_path(path), "UDP send mode", path, where)
                    : check_in(find_dgram_recv_path(path), "UDP receive mode", path, where);
    case Mode::kBulk:
      break;
  }
  return sender ? check_in(find_send_path(path), "send mode", path, where)
                : check_in(find_recv_path(path), "receive mode", path, where);
}

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

std::uint64_t socket_drops(int fd) {
  std::uint32_t info[SK_MEMINFO_VARS] = {};
  socklen_t len = sizeof info;
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, info, &len) != 0 || len <= SK_MEMINFO_DROPS * 4)
    return 0;
  return info[SK_MEMINFO_DROPS];
}

Stream::Stream(StreamConfig cfg, std::function<void()> on_done)
    : cfg_(std::move(cfg)), on_done_(std::move(on_done)), worker_(make_worker(cfg_)) {}

Stream::~Stream() {
  abort();
  join();
  if (cfg_.fd >= 0) close(cfg_.fd);
}

Status Stream::open(const Payload& payload) { return worker_->open(payload); }

std::uint64_t Stream::bytes() const { return worker_->bytes(); }
const std::string& Stream::error() const { return worker_->error(); }
PathStats Stream::path_stats() const { return worker_->path_stats(); }
void Stream::begin_window() { worker_->begin_window(); }
void Stream::sample(StreamSample& s) { worker_->sample(s); }
void Stream::end_figures(StreamEnd& e) { worker_->end(e); }

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

void Stream::pin() {
  if (cfg_.cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cfg_.cpu, &set);
  if (int err = pthread_setaffinity_np(pthread_self(), sizeof set, &set); err != 0)
    worker_->fail(errno_text(
        "cannot pin stream " + std::to_string(cfg_.index) + " to CPU " + std::to_string(cfg_.cpu),
        err));
}

void Stream::run(std::stop_token stop) {
  tid_.store(gettid(), std::memory_order_release);
  // Counters are attached to this tid before the first byte moves.
  go_.wait(false, std::memory_order_acquire);
  pin();
  if (worker_->error().empty() && !stop.stop_requested()) worker_->run(stop);
  end_time_ = worker_->last_arrival().value_or(Clock::now());
  read_own_clocks(final_clocks_);
  done_.store(true, std::memory_order_release);
  if (on_done_) on_done_();
}

}  // namespace nicperf
