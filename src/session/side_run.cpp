#include "session/side_run.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <thread>

#include "nicperf/paths/registry.hpp"
#include "nicperf/util/units.hpp"

namespace nicperf {
namespace {

using std::chrono::duration;
using Seconds = duration<double>;

constexpr auto kEndGrace = std::chrono::seconds(10);
constexpr auto kUdpDrain = std::chrono::milliseconds(1000);

Clock::duration secs(double s) { return std::chrono::duration_cast<Clock::duration>(Seconds(s)); }

double tv(const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; }

Endpoint describe_fd(int id, int fd) {
  Endpoint e;
  e.id = id;
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  auto text = [](const sockaddr_storage& a, std::string& host, int& port) {
    char buf[INET6_ADDRSTRLEN] = "";
    if (a.ss_family == AF_INET) {
      auto* in = reinterpret_cast<const sockaddr_in*>(&a);
      inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
      port = ntohs(in->sin_port);
    } else if (a.ss_family == AF_INET6) {
      auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a);
      if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))  // a dual-stack server: show plain IPv4
        inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], buf, sizeof buf);
      else
        inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
      port = ntohs(in6->sin6_port);
    }
    host = buf;
  };
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
    text(ss, e.local_host, e.local_port);
  len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
    text(ss, e.remote_host, e.remote_port);
  return e;
}

// Datagrams the socket dropped because its receive buffer was full (sk_drops).
std::uint64_t socket_drops(int fd) {
  std::uint32_t info[SK_MEMINFO_VARS] = {};
  socklen_t len = sizeof info;
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, info, &len) != 0 || len <= SK_MEMINFO_DROPS * 4)
    return 0;
  return info[SK_MEMINFO_DROPS];
}

// Transmit drops of every device in this network namespace (/proc/net/dev follows the
// thread's namespace), or nullopt when it cannot be read.
std::optional<std::uint64_t> device_tx_drops() {
  std::FILE* f = std::fopen("/proc/net/dev", "r");
  if (!f) return std::nullopt;
  std::uint64_t sum = 0;
  char line[512];
  for (int n = 0; std::fgets(line, sizeof line, f); ++n) {
    char* colon = std::strchr(line, ':');
    if (n < 2 || !colon) continue;  // two header lines
    unsigned long long v[16] = {};
    if (std::sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
                    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10],
                    &v[11]) == 12)
      sum += v[11];  // transmit: bytes packets errs drop
  }
  std::fclose(f);
  return sum;
}

int int_option(int fd, int level, int name) {
  int value = 0;
  socklen_t len = sizeof value;
  return getsockopt(fd, level, name, &value, &len) == 0 ? value : 0;
}

}  // namespace

Status apply_socket_options(int fd, const TestSpec& spec) {
  if (spec.window > 0) {
    int w = static_cast<int>(spec.window);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &w, sizeof w) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &w, sizeof w) != 0)
      return Error{Errc::kSystem, errno_text("cannot set socket buffer size (-w)", errno)};
  }
  if (spec.fq_rate > 0) {
    // Bytes per second; the 64-bit form of the option takes rates past 34 Gbit/s.
    std::uint64_t bytes_per_s = spec.fq_rate / 8;
    if (setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &bytes_per_s, sizeof bytes_per_s) != 0)
      return Error{Errc::kSystem, errno_text("cannot set SO_MAX_PACING_RATE (--fq-rate)", errno)};
  }
  if (is_udp(spec)) return ok();
  if (spec.no_delay || spec.rr) {
    // --rr: a request must leave at once, not wait for the previous one's ACK (Nagle).
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
      return Error{Errc::kSystem, errno_text("cannot set TCP_NODELAY (-N)", errno)};
  }
  if (!spec.congestion.empty() &&
      setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, spec.congestion.data(),
                 socklen_t(spec.congestion.size())) != 0)
    return Error{Errc::kUsage, errno_text("congestion algorithm '" + spec.congestion +
                                              "' is not available (see "
                                              "/proc/sys/net/ipv4/tcp_allowed_congestion_control)",
                                          errno)};
  return ok();
}

TestRun::TestRun(Report& report, EventLoop& loop, Reporter& reporter)
    : report_(report), loop_(loop), reporter_(reporter) {}

TestRun::~TestRun() {
  abort_streams();
  streams_.clear();  // joins and closes
}

void TestRun::set_limits(double stall_s, double max_s) {
  stall_timeout_ = secs(stall_s);
  max_seconds_ = max_s;
}

Status TestRun::prepare() {
  const TestSpec& spec = report_.spec;
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  sched_getaffinity(0, sizeof allowed, &allowed);
  for (int cpu : report_.is_client ? spec.client_cpus : spec.server_cpus)
    if (cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &allowed))
      return Error{Errc::kUsage, "CPU " + std::to_string(cpu) + " is not available to " +
                                     (report_.is_client ? "the client" : "the server") +
                                     " (it has " + std::to_string(CPU_COUNT(&allowed)) +
                                     " CPUs; see nproc)"};
  if (auto st = check_paths(); !st) return st;
  auto payload = Payload::create(spec.block_len, spec.random_payload);
  if (!payload) return payload.error();
  payload_.emplace(std::move(*payload));
  // Before the clock starts: opening the tracer's rings takes a while.
  auto level = parse_cost_level(spec.cost).value_or(CostLevel::kFull);
  if (level >= CostLevel::kCounters) cost_ = std::make_unique<CostCollector>(level, claims_);
  return ok();
}

// The paths this side will use must work here: say so before any connection is made.
Status TestRun::check_paths() const {
  const TestSpec& spec = report_.spec;
  bool sends = false, receives = false;
  for (int id = 0; id < connection_count(spec); ++id)
    (local_sends(report_, id) ? sends : receives) = true;
  const char* side = report_.is_client ? "on the client" : "on the server";
  if (const auto* s = find_send_path(spec.send_mode); sends && s)
    if (auto why = path_unavailable(*s); !why.empty())
      return Error{Errc::kUsage,
                   "send mode '" + spec.send_mode + "' is unavailable " + side + ": " + why};
  if (const auto* r = find_recv_path(spec.recv_mode); receives && r)
    if (auto why = path_unavailable(*r); !why.empty())
      return Error{Errc::kUsage,
                   "receive mode '" + spec.recv_mode + "' is unavailable " + side + ": " + why};
  return ok();
}

int TestRun::cpu_for(int id) const {
  const auto& cpus = report_.is_client ? report_.spec.client_cpus : report_.spec.server_cpus;
  return cpus.empty() ? -1 : cpus[std::size_t(id) % cpus.size()];
}

bool TestRun::has_stream(int id) const {
  return std::any_of(streams_.begin(), streams_.end(),
                     [id](const Track& t) { return t.stream->config().index == id; });
}

Status TestRun::add_stream(int id, int fd) {
  const TestSpec& spec = report_.spec;
  StreamConfig cfg;
  cfg.index = id;
  cfg.sender = local_sends(report_, id);
  cfg.fd = fd;
  cfg.cpu = cpu_for(id);
  cfg.byte_budget = cfg.sender ? stream_byte_budget(spec, id) : 0;
  cfg.verify = spec.verify && !cfg.sender;
  cfg.block_len = spec.block_len;
  cfg.mode = cfg.sender ? spec.send_mode : spec.recv_mode;
  cfg.depth = spec.uring_depth;
  cfg.udp = is_udp(spec);
  cfg.rate = spec.rate;
  cfg.burst = spec.burst;
  cfg.batch = spec.batch;
  cfg.rr = spec.rr;
  cfg.req_len = spec.req_len;
  cfg.resp_len = spec.resp_len;
  Track t;
  t.stream = std::make_unique<Stream>(cfg, [this] { loop_.wake(); });
  // Asio leaves O_NONBLOCK on sockets it used; the stream threads block instead.
  if (int flags = fcntl(fd, F_GETFL); flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
    return Error{Errc::kSystem, errno_text("cannot make data socket blocking", errno)};
  if (auto st = apply_socket_options(fd, spec); !st) return st;
  if (auto st = t.stream->open(*payload_); !st) return st;
  streams_.push_back(std::move(t));
  std::sort(streams_.begin(), streams_.end(), [](const Track& a, const Track& b) {
    return a.stream->config().index < b.stream->config().index;
  });
  return ok();
}

void TestRun::describe_connections() {
  report_.start.connected.clear();
  for (const auto& t : streams_)
    report_.start.connected.push_back(describe_fd(t.stream->config().index, t.stream->fd()));
  if (streams_.empty()) return;
  int fd = streams_.front().stream->fd();
  report_.start.tcp_mss_default = int_option(fd, IPPROTO_TCP, TCP_MAXSEG);
  report_.start.sndbuf_actual = int_option(fd, SOL_SOCKET, SO_SNDBUF);
  report_.start.rcvbuf_actual = int_option(fd, SOL_SOCKET, SO_RCVBUF);
  char cc[32] = "";
  socklen_t len = sizeof cc - 1;
  if (getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, &len) == 0) report_.local.congestion = cc;
}

void TestRun::start() {
  const TestSpec& spec = report_.spec;
  for (auto& t : streams_) t.stream->start();
  attach_cost();  // before the clock starts: the streams wait for release()
  t0_ = Clock::now();
  report_.start.timesecs = std::time(nullptr);
  origin_ = last_tick_ = last_progress_ = t0_;
  if (spec.omit <= 0) {
    begin_measurement(t0_);
    t0_ = origin_;  // the collector's own window start, to the nanosecond
  }
  next_tick_ = spec.interval > 0 ? t0_ + secs(spec.interval) : Clock::time_point::max();
  stop_at_ = spec.bytes ? Clock::time_point::max() : t0_ + secs(spec.omit + spec.duration);
  for (auto& t : streams_) t.stream->release();
}

// The counters follow thread ids: wait (briefly) until every stream thread has one.
void TestRun::attach_cost() {
  if (!cost_) return;
  std::vector<std::pair<int, pid_t>> tids;
  for (auto& t : streams_) {
    for (int i = 0; i < 1000 && t.stream->tid() == 0; ++i)
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    tids.emplace_back(t.stream->config().index, t.stream->tid());
  }
  cost_->attach(tids);
}

void TestRun::begin_measurement(Clock::time_point now) {
  for (auto& t : streams_) {
    t.omit_bytes = t.last_bytes = t.stream->bytes();
    TcpSample s = read_tcp_info(t.stream->fd());
    t.omit_retrans = t.last_retrans = s.total_retrans;
  }
  getrusage(RUSAGE_SELF, &rusage0_);
  if (is_udp(report_.spec)) tx_drops0_ = device_tx_drops();
  if (on_begin_) on_begin_();
  if (cost_) {
    // The collector's window start is the measured origin, to the nanosecond.
    now = Clock::time_point(std::chrono::nanoseconds(cost_->begin()));
    last_task_clock_ = cost_->stream_task_clock();
  }
  begin_bytes_.clear();
  for (auto& t : streams_) begin_bytes_.push_back(t.stream->bytes());
  origin_ = last_tick_ = now;
  measuring_ = true;
  if (report_.spec.interval > 0) next_tick_ = now + secs(report_.spec.interval);
}

double TestRun::since_origin(Clock::time_point t) const {
  return std::max(0.0, Seconds(t - origin_).count());
}

void TestRun::sample(Clock::time_point now) {
  IntervalRecord rec;
  std::vector<double> clocks = cost_ ? cost_->stream_task_clock() : std::vector<double>{};
  for (auto& t : streams_) {
    StreamSample s;
    s.id = t.stream->config().index;
    s.sender = t.stream->config().sender;
    s.start = since_origin(last_tick_);
    s.end = since_origin(now);
    std::uint64_t bytes = t.stream->bytes();
    s.bytes = bytes - t.last_bytes;
    t.last_bytes = bytes;
    s.omitted = !measuring_;
    std::size_t i = std::size_t(&t - streams_.data());
    if (i < clocks.size() && i < last_task_clock_.size()) {
      s.task_clock_ns = clocks[i] - last_task_clock_[i];
      last_task_clock_[i] = clocks[i];
    }
    if (t.stream->config().udp) {
      s.udp = udp_delta(t);
    } else if (t.stream->config().rr && s.sender) {
      std::uint64_t n = t.stream->transactions();
      s.rr = RrCounts{n - t.last_transactions, t.stream->take_interval_latency()};
      t.last_transactions = n;
    } else if (s.sender && !t.stream->config().rr) {
      t.tcp = s.tcp = read_tcp_info(t.stream->fd());
      s.retransmits = s.tcp.total_retrans - std::min(t.last_retrans, s.tcp.total_retrans);
      t.last_retrans = s.tcp.total_retrans;
      t.max_cwnd = std::max(t.max_cwnd, s.tcp.snd_cwnd);
      t.max_wnd = std::max(t.max_wnd, s.tcp.snd_wnd);
      t.max_rtt = std::max(t.max_rtt, s.tcp.rtt_us);
      t.min_rtt = t.rtt_count ? std::min(t.min_rtt, s.tcp.rtt_us) : s.tcp.rtt_us;
      t.rtt_sum += s.tcp.rtt_us;
      ++t.rtt_count;
    }
    rec.streams.push_back(s);
  }
  last_tick_ = now;
  report_.intervals.push_back(rec);
  reporter_.on_interval(report_, report_.intervals.back());
}

// A UDP stream's change since the last sample; jitter is the current estimate.
UdpCounts TestRun::udp_delta(Track& t) {
  UdpProgress now = t.stream->udp_progress();
  UdpCounts d;
  d.packets = now.packets - t.last_udp.packets;
  d.lost = now.lost - std::min(now.lost, t.last_udp.lost);  // late arrivals lower the count
  d.out_of_order = now.out_of_order - t.last_udp.out_of_order;
  d.duplicates = now.duplicates - t.last_udp.duplicates;
  d.send_drops = now.send_drops - t.last_udp.send_drops;
  d.jitter_ms = now.jitter_ms;
  if (!t.stream->config().sender) {
    std::uint64_t drops = socket_drops(t.stream->fd());
    d.socket_drops = drops - std::min(drops, t.last_socket_drops);
    t.last_socket_drops = drops;
  }
  t.last_udp = now;
  return d;
}

Clock::time_point TestRun::step(Clock::time_point now) {
  const TestSpec& spec = report_.spec;
  if (!measuring_ && now >= t0_ + secs(spec.omit)) {
    if (spec.interval > 0 && now > last_tick_) sample(now);
    begin_measurement(now);
  }
  if (spec.interval > 0 && now >= next_tick_) {
    sample(now);
    while (next_tick_ <= now) next_tick_ += secs(spec.interval);
  }
  if (!stopped_ && now >= stop_at_) stop_senders();
  // UDP has no end of stream: a receiver whose sender's FIN was lost stops after a drain time.
  if (is_udp(spec) && stop_at_ != Clock::time_point::max() && now >= stop_at_ + kUdpDrain)
    for (auto& t : streams_)
      if (!t.stream->config().sender) t.stream->request_stop();

  std::uint64_t total = 0;
  for (const auto& t : streams_) total += t.stream->bytes();
  if (total != progress_bytes_) {
    progress_bytes_ = total;
    last_progress_ = now;
  }
  bool stalled = now - last_progress_ > stall_timeout_;
  bool overdue = stop_at_ != Clock::time_point::max() && now > stop_at_ + kEndGrace;
  bool too_long = max_seconds_ > 0 && now > t0_ + secs(max_seconds_);
  if ((stalled || overdue || too_long) && !run_error_) {
    run_error_ = Error{Errc::kTimeout,
                       stalled ? "no data moved for " + fixed(Seconds(stall_timeout_).count(), 1) +
                                     " s: the peer stalled (see --rcv-timeout)"
                       : too_long ? "the test ran past the server's limit of " +
                                        fixed(max_seconds_, 0) + " s (--max-duration)"
                                  : "the peer did not finish within 10 s of the end"};
    abort_streams();
  }
  auto wake = std::min({next_tick_, now + std::chrono::milliseconds(100),
                        stopped_ ? Clock::time_point::max() : stop_at_});
  if (!measuring_) wake = std::min(wake, t0_ + secs(spec.omit));
  return wake;
}

bool TestRun::streams_done() const {
  return std::all_of(streams_.begin(), streams_.end(),
                     [](const Track& t) { return t.stream->done(); });
}

void TestRun::stop_senders() {
  stopped_ = true;
  for (auto& t : streams_)
    if (t.stream->config().sender) t.stream->request_stop();
}

void TestRun::abort_streams() {
  stopped_ = true;
  for (auto& t : streams_) t.stream->abort();
}

Status TestRun::run(ControlChannel& control, const std::function<Status(const Json&)>& on_frame,
                    const std::function<void()>& on_signal) {
  auto read = [&control](Clock::time_point deadline, const std::function<bool()>& stop) {
    return control.read(deadline, stop);
  };
  return run(read, on_frame, on_signal, nullptr);
}

bool TestRun::senders_done() const {
  return std::all_of(streams_.begin(), streams_.end(),
                     [](const Track& t) { return !t.stream->config().sender || t.stream->done(); });
}

std::vector<int> TestRun::sender_fds() const {
  std::vector<int> fds;
  for (const auto& t : streams_)
    if (t.stream->config().sender) fds.push_back(t.stream->fd());
  return fds;
}

std::uint64_t TestRun::bytes_moved(bool senders) const {
  std::uint64_t n = 0;
  for (const auto& t : streams_)
    if (t.stream->config().sender == senders) n += t.stream->bytes();
  return n;
}

void TestRun::wait_delivered() {
  auto until = Clock::now() + std::chrono::seconds(5);
  for (int fd : sender_fds()) {
    int queued = 1;
    while (Clock::now() < until && ioctl(fd, SIOCOUTQ, &queued) == 0 && queued > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void TestRun::wait_quiet(Clock::duration quiet, Clock::duration limit) {
  auto until = Clock::now() + limit;
  std::uint64_t last = bytes_moved(false) + bytes_moved(true);
  auto last_change = Clock::now();
  while (Clock::now() < until && Clock::now() - last_change < quiet && !streams_done()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::uint64_t now_bytes = bytes_moved(false) + bytes_moved(true);
    if (now_bytes != last) {
      last = now_bytes;
      last_change = Clock::now();
    }
  }
}

Status TestRun::run(const ControlRead& read, const std::function<Status(const Json&)>& on_frame,
                    const std::function<void()>& on_signal, const std::function<bool()>& done) {
  auto finished = [&] { return done ? done() : streams_done(); };
  while (!finished()) {
    auto wake = step(Clock::now());
    auto frame = read(wake, [&] { return finished() || loop_.signal_pending(); });
    if (loop_.take_signal() != 0 && on_signal) on_signal();
    if (!frame) {
      abort_streams();
      return frame.error();
    }
    if (*frame) {
      if (auto st = on_frame(**frame); !st) {
        abort_streams();
        return st;
      }
    }
  }
  Clock::time_point end = last_tick_;
  for (const auto& t : streams_) end = std::max(end, t.stream->end_time());
  if (!streams_done()) end = std::max(end, Clock::now());
  if (!measuring_) begin_measurement(end);
  if (report_.spec.interval > 0 && Seconds(end - last_tick_).count() >= 0.1 * report_.spec.interval)
    sample(end);
  if (run_error_) return *run_error_;
  return ok();
}

void TestRun::finish() {
  for (auto& t : streams_) t.stream->join();
  Clock::time_point end = origin_;
  SideEnd& side = report_.local;
  side.streams.clear();
  for (auto& t : streams_) {
    const Stream& s = *t.stream;
    StreamEnd e;
    e.id = s.config().index;
    e.sender = s.config().sender;
    e.bytes_total = s.bytes();
    e.bytes_omitted = std::min(t.omit_bytes, e.bytes_total);
    e.seconds = since_origin(std::max(s.end_time(), origin_));
    end = std::max(end, s.end_time());
    if (s.config().udp) {
      e.udp = udp_end(t);
    } else if (s.config().rr && e.sender) {
      e.rr = RrCounts{s.transactions(), s.latency()};
    } else if (e.sender && !s.config().rr) {
      TcpSample tcp = read_tcp_info(s.fd());
      e.retransmits = tcp.total_retrans - std::min(t.omit_retrans, tcp.total_retrans);
      e.max_snd_cwnd = std::max(t.max_cwnd, tcp.snd_cwnd);
      e.max_snd_wnd = std::max(t.max_wnd, tcp.snd_wnd);
      e.max_rtt = std::max(t.max_rtt, tcp.rtt_us);
      e.min_rtt = t.rtt_count ? std::min(t.min_rtt, tcp.rtt_us) : tcp.rtt_us;
      e.mean_rtt = std::uint32_t((t.rtt_sum + tcp.rtt_us) / (t.rtt_count + 1));
    }
    e.path = s.path_stats();
    e.error = s.error();
    side.streams.push_back(std::move(e));
  }
  bool sends = std::any_of(streams_.begin(), streams_.end(),
                           [](const Track& t) { return t.stream->config().sender; });
  if (auto drops = device_tx_drops(); sends && tx_drops0_ && drops)
    side.device_tx_drops = *drops - std::min(*drops, *tx_drops0_);
  rusage now{};
  getrusage(RUSAGE_SELF, &now);
  double wall = Seconds(end - origin_).count();
  if (wall > 0) {
    side.cpu.valid = true;
    side.cpu.user = 100.0 * (tv(now.ru_utime) - tv(rusage0_.ru_utime)) / wall;
    side.cpu.system = 100.0 * (tv(now.ru_stime) - tv(rusage0_.ru_stime)) / wall;
    side.cpu.total = side.cpu.user + side.cpu.system;
  }
  finish_cost(end);
}

void TestRun::finish_cost(Clock::time_point end) {
  SideEnd& side = report_.local;
  auto level = parse_cost_level(report_.spec.cost).value_or(CostLevel::kFull);
  if (level == CostLevel::kOff) {
    side.cpu = {};
    return;
  }
  if (!cost_ || cost_->level() < CostLevel::kCounters) {
    // rusage: the whole process, as iperf3 measures it.
    SideCost c;
    c.level = CostLevel::kRusage;
    c.requested = level;
    if (cost_) c.reason = cost_->reason();
    c.wall_s = Seconds(end - origin_).count();
    c.rest.task_clock_ns = side.cpu.total / 100.0 * c.wall_s * 1e9;
    c.rest.utime_s = side.cpu.user / 100.0 * c.wall_s;
    c.rest.stime_s = side.cpu.system / 100.0 * c.wall_s;
    for (std::size_t i = 0; i < streams_.size(); ++i)
      c.bytes += streams_[i].stream->bytes() - (i < begin_bytes_.size() ? begin_bytes_[i] : 0);
    side.cost = c;
    return;
  }
  cost_->end();
  std::vector<std::uint64_t> bytes;
  std::vector<CounterValues> clocks;
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    bytes.push_back(streams_[i].stream->bytes() - (i < begin_bytes_.size() ? begin_bytes_[i] : 0));
    clocks.push_back(streams_[i].stream->final_clocks());
  }
  side.cost = cost_->result(bytes, clocks, report_.peer);
  // iperf3's cpu_utilization_percent, from the same measurement as the cost figures.
  DerivedCost d = derive(*side.cost);
  side.cpu = {true, d.cpu_percent, d.cpu_percent * d.user_share, d.cpu_percent * d.kernel_share};
}

// With IFF_NAPI the receiving host's NET_RX runs in the NIC thread that wrote the frame, as on
// a real host the softirq runs on the CPU the IRQ went to: it is the host's receive work, shown
// apart from the NIC's own time and never charged to a stream.
void TestRun::attribute_nic_softirq(nic::NicStats& nic) const {
  if (!cost_) return;
  for (auto& d : nic.directions) {
    for (auto& q : d.queues) {
      auto irq = cost_->traced_irq(q.tid);
      if (!irq) return;
      q.host_softirq_ns = double(irq->softirq_total().ns + irq->hardirq.ns);
    }
  }
}

UdpCounts TestRun::udp_end(const Track& t) const {
  UdpProgress p = t.stream->udp_progress();
  UdpCounts u;
  u.packets = p.packets;
  u.lost = p.lost;
  u.out_of_order = p.out_of_order;
  u.duplicates = p.duplicates;
  u.jitter_ms = p.jitter_ms;
  u.send_drops = p.send_drops;
  u.fin_packets = p.fin_packets;
  if (!t.stream->config().sender) u.socket_drops = socket_drops(t.stream->fd());
  return u;
}

std::optional<Error> TestRun::stream_error() const {
  for (const auto& t : streams_)
    if (!t.stream->error().empty()) return Error{Errc::kTestFailed, t.stream->error()};
  return std::nullopt;
}

}  // namespace nicperf
