#include "session/side_run.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <thread>

#include "nicperf/util/clock.hpp"
#include "nicperf/util/units.hpp"

namespace nicperf {
namespace {

using std::chrono::duration;
using Seconds = duration<double>;

constexpr auto kUdpDrain = std::chrono::milliseconds(1000);

// iperf3's cpu_utilization_percent, from the same measurement as the cost figures.
CpuUsage cpu_usage(const SideCost& c) {
  DerivedCost d = derive(c);
  // The rusage level has no figures without a window.
  bool valid = c.level >= CostLevel::kCounters || c.wall_s > 0;
  if (!valid) return {};
  return {true, d.cpu_percent, d.cpu_percent * d.user_share, d.cpu_percent * d.kernel_share};
}

}  // namespace

SideRun::SideRun(Report& report, EventLoop& loop, Reporter& reporter)
    : report_(report), loop_(loop), reporter_(reporter) {}

SideRun::~SideRun() {
  abort_streams();
  streams_.clear();  // joins and closes
}

void SideRun::set_limits(double stall_s, double max_s) {
  stall_timeout_ = seconds_of(stall_s);
  max_seconds_ = max_s;
}

Status SideRun::prepare() {
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
  if (auto st = open_file(); !st) return st;
  auto payload = !file_.empty() && sends_any()
                     ? Payload::from_file(file_)
                     : Payload::create(spec.block_len, spec.random_payload);
  if (!payload) return payload.error();
  payload_.emplace(std::move(*payload));
  // Before the clock starts: opening the tracer's rings takes a while.
  cost_ = std::make_unique<CostCollector>(spec.cost, claims_);
  return ok();
}

std::optional<Json> SideRun::bpf_offer() const {
  auto o = cost_ ? cost_->bpf_offer(report_.peer) : std::nullopt;
  if (!o) return std::nullopt;
  return to_json(*o);
}

void SideRun::join_bpf(const Json& offer) {
  if (!cost_) return;
  if (auto o = share_offer_from_json(offer)) cost_->join_bpf(*o, report_.peer);
}

bool SideRun::sends_any() const {
  for (int id = 0; id < connection_count(report_.spec); ++id)
    if (local_sends(report_, id)) return true;
  return false;
}

// -F on a receiving side: the file is emptied now, as iperf3 opens it (O_TRUNC, owner only).
Status SideRun::open_file() {
  if (file_.empty() || sends_any()) return ok();
  sink_.reset(open(file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, S_IRUSR | S_IWUSR));
  if (!sink_) return Error{Errc::kUsage, errno_text("-F " + file_ + ": cannot write it", errno)};
  return ok();
}

// The paths this side will use must work here: say so before any connection is made.
Status SideRun::check_paths() const {
  const TestSpec& spec = report_.spec;
  bool sends = false, receives = false;
  for (int id = 0; id < connection_count(spec); ++id)
    (local_sends(report_, id) ? sends : receives) = true;
  const char* side = report_.is_client ? "on the client" : "on the server";
  if (sends)
    if (auto st = check_path(spec.mode, true, spec.send_mode, side); !st) return st;
  if (receives)
    if (auto st = check_path(spec.mode, false, spec.recv_mode, side); !st) return st;
  return ok();
}

int SideRun::cpu_for(int id) const {
  const auto& cpus = report_.is_client ? report_.spec.client_cpus : report_.spec.server_cpus;
  return cpus.empty() ? -1 : cpus[std::size_t(id) % cpus.size()];
}

bool SideRun::has_stream(int id) const {
  return std::any_of(streams_.begin(), streams_.end(),
                     [id](const Track& t) { return t.stream->config().index == id; });
}

Status SideRun::add_stream(int id, int fd) {
  const TestSpec& spec = report_.spec;
  StreamConfig cfg;
  cfg.kind = spec.mode;
  cfg.index = id;
  cfg.sender = local_sends(report_, id);
  cfg.fd = fd;
  cfg.cpu = cpu_for(id);
  cfg.byte_budget = cfg.sender ? stream_byte_budget(spec, id) : 0;
  cfg.verify = spec.verify && !cfg.sender;
  cfg.sink_fd = cfg.sender ? -1 : sink_.get();
  cfg.block_len = spec.block_len;
  cfg.path = cfg.sender ? spec.send_mode : spec.recv_mode;
  cfg.depth = spec.uring_depth;
  cfg.rate = spec.rate;
  cfg.burst = spec.burst;
  cfg.batch = spec.batch;
  cfg.req_len = spec.req_len;
  cfg.resp_len = spec.resp_len;
  cfg.iperf3_seq_bits = iperf3_seq_bits_;
  Track t;
  t.stream = std::make_unique<Stream>(cfg, [this] { loop_.wake(); });
  if (auto st = make_blocking(fd); !st) return st;
  if (auto st = apply_socket_options(fd, spec); !st) return st;
  if (auto st = t.stream->open(*payload_); !st) return st;
  streams_.push_back(std::move(t));
  std::sort(streams_.begin(), streams_.end(), [](const Track& a, const Track& b) {
    return a.stream->config().index < b.stream->config().index;
  });
  return ok();
}

void SideRun::describe_connections() {
  report_.start.connected.clear();
  for (const auto& t : streams_)
    report_.start.connected.push_back(describe_fd(t.stream->config().index, t.stream->fd()));
  if (streams_.empty()) return;
  SocketFacts f = socket_facts(streams_.front().stream->fd());
  report_.start.tcp_mss_default = f.mss;
  report_.start.sndbuf_actual = f.sndbuf;
  report_.start.rcvbuf_actual = f.rcvbuf;
  if (f.congestion) report_.local.congestion = *f.congestion;
}

void SideRun::start() {
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
  next_tick_ = spec.interval > 0 ? t0_ + seconds_of(spec.interval) : Clock::time_point::max();
  stop_at_ = spec.bytes ? Clock::time_point::max() : t0_ + seconds_of(spec.omit + spec.duration);
  for (auto& t : streams_) t.stream->release();
}

// The counters follow thread ids: wait (briefly) until every stream thread has one.
void SideRun::attach_cost() {
  std::vector<std::pair<int, pid_t>> tids;
  for (auto& t : streams_) {
    for (int i = 0; i < 1000 && t.stream->tid() == 0; ++i)
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    tids.emplace_back(t.stream->config().index, t.stream->tid());
  }
  cost_->set_peer(report_.peer);  // the bpf level tells the peer's threads apart in the kernel
  cost_->attach(tids);
  if (report_.spec.profile) {
    profile_ =
        ProfileSampler::open_process(claims_ ? claims_->others(cost_.get()) : std::vector<pid_t>{});
    if (!profile_) profile_note_ = "perf_event sampling refused on this side";
  }
}

void SideRun::begin_measurement(Clock::time_point now) {
  for (auto& t : streams_) {
    t.omit_bytes = t.last_bytes = t.stream->bytes();
    t.stream->begin_window();
  }
  if (is_udp(report_.spec)) tx_drops0_ = device_tx_drops();
  if (on_begin_) on_begin_();
  std::vector<int> fds;
  for (auto& t : streams_) fds.push_back(t.stream->fd());
  nic_dev_.begin(fds, nic_dev_name_);
  note_stream_cpus();
  // The collector's window start is the measured origin, to the nanosecond.
  now = Clock::time_point(std::chrono::nanoseconds(cost_->begin()));
  last_task_clock_ = cost_->stream_task_clock();
  std::vector<pid_t> tids;
  for (auto& t : streams_) tids.push_back(t.stream->tid());
  cpu_meter_.begin(tids, cost_.get());
  if (profile_)
    profile_->begin(std::uint64_t(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count()));
  begin_bytes_.clear();
  for (auto& t : streams_) begin_bytes_.push_back(t.stream->bytes());
  origin_ = last_tick_ = now;
  measuring_ = true;
  if (report_.spec.interval > 0) next_tick_ = now + seconds_of(report_.spec.interval);
}

double SideRun::since_origin(Clock::time_point t) const {
  return std::max(0.0, Seconds(t - origin_).count());
}

void SideRun::note_stream_cpus() {
  std::vector<pid_t> tids;
  for (auto& t : streams_) tids.push_back(t.stream->tid());
  nic_dev_.note_cpus(tids);
}

void SideRun::sample(Clock::time_point now) {
  note_stream_cpus();
  IntervalRecord rec;
  std::vector<double> clocks = cost_->stream_task_clock();
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
    t.stream->sample(s);
    rec.streams.push_back(s);
  }
  rec.cpu = cpu_meter_.sample(since_origin(last_tick_), since_origin(now));
  last_tick_ = now;
  report_.intervals.push_back(rec);
  reporter_.on_interval(report_, report_.intervals.back());
}

Clock::time_point SideRun::step(Clock::time_point now) {
  const TestSpec& spec = report_.spec;
  if (!measuring_ && now >= t0_ + seconds_of(spec.omit)) {
    if (spec.interval > 0 && now > last_tick_) sample(now);
    begin_measurement(now);
  }
  if (spec.interval > 0 && now >= next_tick_) {
    sample(now);
    while (next_tick_ <= now) next_tick_ += seconds_of(spec.interval);
  }
  if (profile_) profile_->drain();  // every step is at most 100 ms apart: no ring fills
  if (!stopped_ && now >= stop_at_) stop_senders();
  // UDP has no end of stream: a receiver whose sender's FIN was lost stops after a drain time.
  if (uses_udp(spec) && stop_at_ != Clock::time_point::max() && now >= stop_at_ + kUdpDrain)
    for (auto& t : streams_)
      if (!t.stream->config().sender) t.stream->request_stop();
  check_end(now);
  auto wake = std::min({next_tick_, now + std::chrono::milliseconds(100),
                        stopped_ ? Clock::time_point::max() : stop_at_});
  if (!measuring_) wake = std::min(wake, t0_ + seconds_of(spec.omit));
  return wake;
}

// Aborts a test whose data stopped moving, whose peer did not finish, or that ran too long.
void SideRun::check_end(Clock::time_point now) {
  std::uint64_t total = 0;
  for (const auto& t : streams_) total += t.stream->bytes();
  if (total != progress_bytes_) {
    progress_bytes_ = total;
    last_progress_ = now;
  }
  bool stalled = now - last_progress_ > stall_timeout_;
  bool overdue =
      stop_at_ != Clock::time_point::max() && now > stop_at_ + seconds_of(kEndGraceSeconds);
  bool too_long = max_seconds_ > 0 && now > t0_ + seconds_of(max_seconds_);
  if ((stalled || overdue || too_long) && !run_error_) {
    run_error_ = Error{Errc::kTimeout,
                       stalled ? "no data moved for " + fixed(Seconds(stall_timeout_).count(), 1) +
                                     " s: the peer stalled (see --rcv-timeout)"
                       : too_long ? "the test ran past the server's limit of " +
                                        fixed(max_seconds_, 0) + " s (--max-duration)"
                                  : "the peer did not finish within 10 s of the end"};
    abort_streams();
  }
  if (auto bps = rate_window_ ? rate_window_->exceeded(now, total) : std::nullopt;
      bps && !run_error_) {
    run_error_ = rate_window_->error(*bps);
    rate_exceeded_ = true;
    if (tell_rate_peer_) tell_rate_peer_(*run_error_);
    abort_streams();
  }
}

bool SideRun::streams_done() const {
  return std::all_of(streams_.begin(), streams_.end(),
                     [](const Track& t) { return t.stream->done(); });
}

void SideRun::stop_senders() {
  stopped_ = true;
  for (auto& t : streams_)
    if (t.stream->config().sender) t.stream->request_stop();
}

void SideRun::abort_streams() {
  stopped_ = true;
  for (auto& t : streams_) t.stream->abort();
}

Status SideRun::run(ControlChannel& control, const std::function<Status(const Frame&)>& on_frame,
                    const std::function<void()>& on_signal) {
  Reader<Frame> read = [&control](Clock::time_point deadline, const std::function<bool()>& stop) {
    return control.read(deadline, stop);
  };
  return run_loop(read, on_frame, on_signal, nullptr);
}

Status SideRun::run(const ControlRead& read, const std::function<Status(const Json&)>& on_frame,
                    const std::function<void()>& on_signal, const std::function<bool()>& done) {
  return run_loop(read, on_frame, on_signal, done);
}

bool SideRun::senders_done() const {
  return std::all_of(streams_.begin(), streams_.end(),
                     [](const Track& t) { return !t.stream->config().sender || t.stream->done(); });
}

std::vector<int> SideRun::sender_fds() const {
  std::vector<int> fds;
  for (const auto& t : streams_)
    if (t.stream->config().sender) fds.push_back(t.stream->fd());
  return fds;
}

std::uint64_t SideRun::bytes_moved(bool senders) const {
  std::uint64_t n = 0;
  for (const auto& t : streams_)
    if (t.stream->config().sender == senders) n += t.stream->bytes();
  return n;
}

void SideRun::wait_delivered() {
  auto until = Clock::now() + std::chrono::seconds(5);
  for (int fd : sender_fds()) {
    for (auto queued = unsent_bytes(fd); Clock::now() < until && queued && *queued > 0;
         queued = unsent_bytes(fd))
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void SideRun::wait_quiet(Clock::duration quiet, Clock::duration limit) {
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

template <class Msg>
Status SideRun::run_loop(const Reader<Msg>& read, const std::function<Status(const Msg&)>& on_frame,
                         const std::function<void()>& on_signal,
                         const std::function<bool()>& done) {
  auto finished = [&] { return done ? done() : streams_done(); };
  while (!finished()) {
    auto wake = step(Clock::now());
    auto frame = read(wake, [&] { return finished() || loop_.signal_pending(); });
    if (loop_.take_signal() != 0 && on_signal) on_signal();
    if (!frame) {
      abort_streams();
      return run_error_ ? *run_error_ : frame.error();  // the cause, not the peer leaving
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

void SideRun::finish() {
  note_stream_cpus();
  for (auto& t : streams_) t.stream->join();
  Clock::time_point end = origin_;
  SideEnd& side = report_.local;
  side.streams.clear();
  for (auto& t : streams_) {
    Stream& s = *t.stream;
    StreamEnd e;
    e.id = s.config().index;
    e.sender = s.config().sender;
    e.bytes_total = s.bytes();
    e.bytes_omitted = std::min(t.omit_bytes, e.bytes_total);
    e.seconds = since_origin(std::max(s.end_time(), origin_));
    end = std::max(end, s.end_time());
    s.end_figures(e);
    e.path = s.path_stats();
    e.error = s.error();
    side.streams.push_back(std::move(e));
  }
  bool sends = std::any_of(streams_.begin(), streams_.end(),
                           [](const Track& t) { return t.stream->config().sender; });
  if (auto drops = device_tx_drops(); sends && tx_drops0_ && drops)
    side.device_tx_drops = *drops - std::min(*drops, *tx_drops0_);
  finish_cost(end);
}

void SideRun::finish_cost(Clock::time_point end) {
  cost_->end();
  report_.local.nic_dev = nic_dev_.end();
  CostInputs in;
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    const Stream& s = *streams_[i].stream;
    in.stream_bytes.push_back(s.bytes() - (i < begin_bytes_.size() ? begin_bytes_[i] : 0));
    in.final_clocks.push_back(s.final_clocks());
  }
  in.peer = report_.peer;
  in.data_seconds = Seconds(end - origin_).count();
  SideEnd& side = report_.local;
  if (profile_) {
    std::uint64_t bytes = 0;
    for (std::uint64_t b : in.stream_bytes) bytes += b;
    side.profile = profile_->finish(monotonic_ns(), bytes);
    profile_.reset();
  } else if (report_.spec.profile) {
    side.profile.emplace();
    side.profile->event = "cpu-clock";
    side.profile->rate_hz = kProfileRateHz;
    side.profile->note = profile_note_;
  }
  side.interval_cpu.clear();
  for (const auto& iv : report_.intervals)
    if (iv.cpu) side.interval_cpu.push_back(*iv.cpu);
  side.cost = cost_->result(in);
  if (side.cost && side.cost->traced && side.nic_dev)
    nic::add_vector_hardirq(*side.nic_dev, hardirq_ns_by_irq(*side.cost));
  side.cpu = side.cost ? cpu_usage(*side.cost) : CpuUsage{};
}

// With IFF_NAPI the receiving host's NET_RX runs in the NIC thread that wrote the frame, as on
// a real host the softirq runs on the CPU the IRQ went to: it is the host's receive work, shown
// apart from the NIC's own time and never charged to a stream.
void SideRun::attribute_nic_softirq(nic::NicStats& nic) const {
  for (auto& d : nic.directions) {
    for (auto& q : d.queues) {
      auto irq = cost_->traced_irq(q.tid);
      if (!irq) return;
      q.host_softirq_ns = double(irq->softirq_total().ns + irq->hardirq.ns);
    }
  }
}

std::optional<Error> SideRun::stream_error() const {
  for (const auto& t : streams_)
    if (!t.stream->error().empty()) return Error{Errc::kTestFailed, t.stream->error()};
  return std::nullopt;
}

}  // namespace nicperf
