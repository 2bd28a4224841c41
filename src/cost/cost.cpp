#include "nicperf/cost/cost.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "cost/bpf_tracer.hpp"
#include "cost/softnet.hpp"
#include "cost/steal.hpp"
#include "nicperf/util/clock.hpp"

namespace nicperf {
namespace {

// The whole process's user and system time (getrusage), every thread: the rusage level's
// figures, and at the higher levels an independent total to check the per-thread sum by.
void process_times(double& utime_s, double& stime_s) {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  utime_s = s(u.ru_utime);
  stime_s = s(u.ru_stime);
}

std::vector<pid_t> process_tids() {
  std::vector<pid_t> tids;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') tids.push_back(pid_t(std::atoi(e->d_name)));
    closedir(d);
  }
  return tids;
}

// Whether the kernel keeps irq time out of task time (CONFIG_IRQ_TIME_ACCOUNTING).
bool kernel_irq_time_accounting() {
  gzFile f = gzopen("/proc/config.gz", "rb");
  if (!f) return false;  // unknown: assume the common default (off)
  char line[512];
  bool on = false;
  while (gzgets(f, line, sizeof line))
    if (std::string(line).rfind("CONFIG_IRQ_TIME_ACCOUNTING=y", 0) == 0) on = true;
  gzclose(f);
  return on;
}

double per_gb(double count, std::uint64_t bytes) { return bytes ? count * 1e9 / double(bytes) : 0; }

}  // namespace

IrqShare& IrqShare::operator+=(const IrqBucket& b) {
  net_rx += b.softirq[kNetRx];
  net_tx += b.softirq[kNetTx];
  softirq_other += b.softirq_other();
  hardirq += b.hardirq;
  return *this;
}

HostIdentity this_host() {
  HostIdentity h;
  h.pid = getpid();
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::getline(in, h.boot_id);
  return h;
}

std::map<unsigned, std::uint64_t> hardirq_ns_by_irq(const SideCost& c) {
  std::map<unsigned, std::uint64_t> out;
  for (const auto& [name, charge] : c.irqs) {
    char* end = nullptr;
    unsigned long irq = std::strtoul(name.c_str(), &end, 10);
    if (end != name.c_str() && *end == ':') out[unsigned(irq)] += charge.ns;
  }
  return out;
}

bool on_this_kernel(const HostIdentity& peer) {
  HostIdentity me = this_host();
  return !peer.boot_id.empty() && peer.boot_id == me.boot_id && peer.pid != me.pid;
}

std::string attribution_rule(const SideCost& c) {
  if (!c.traced) return "no interrupt tracing at this level";
  std::string rule =
      "each hardirq and softirq interval is charged to the task it interrupted (" +
      std::string(c.level == CostLevel::kBpf ? "the current task, summed in the kernel"
                                             : "the sample's tid") +
      "): this side's stream threads, the rest of this process, the peer process (same "
      "kernel: " +
      std::string(c.peer_on_host ? "yes" : "no") + "), or other (idle, ksoftirqd, unrelated)";
  rule += c.irq_time_accounting
              ? "; this kernel keeps irq time out of task time, so shares are added to it"
              : "; this kernel counts irq time inside the interrupted task's time "
                "(no CONFIG_IRQ_TIME_ACCOUNTING), so shares are parts of the task-clock";
  return rule;
}

DerivedCost derive(const SideCost& c) {
  DerivedCost d;
  CounterValues all = c.streams;
  all += c.rest;
  double cpu_ns = all.cpu_ns();
  if (c.irq_time_accounting)
    cpu_ns += double(c.streams_irq.softirq_ns() + c.process_irq.softirq_ns());
  if (c.wall_s > 0) d.cpu_percent = 100.0 * cpu_ns / (c.wall_s * 1e9);
  if (c.bytes) d.cpu_ns_per_byte = cpu_ns / double(c.bytes);
  if (all.has_hardware && c.bytes) d.cycles_per_byte = all.cycles / double(c.bytes);
  if (all.has_hardware && all.cycles > 0) d.ipc = all.instructions / all.cycles;
  double ticks = all.utime_s + all.stime_s;
  if (ticks > 0) {
    d.user_share = all.utime_s / ticks;
    d.kernel_share = all.stime_s / ticks;
  }
  IrqShare mine = c.streams_irq;
  mine.net_rx += c.process_irq.net_rx;
  mine.net_tx += c.process_irq.net_tx;
  mine.softirq_other += c.process_irq.softirq_other;
  mine.hardirq += c.process_irq.hardirq;
  if (cpu_ns > 0) {
    d.softirq_share = double(mine.softirq_ns()) / cpu_ns;
    d.hardirq_share = double(mine.hardirq.ns) / cpu_ns;
  }
  d.softirqs_per_gb =
      per_gb(double(mine.net_rx.count + mine.net_tx.count + mine.softirq_other.count), c.bytes);
  d.net_rx_per_gb = per_gb(double(mine.net_rx.count), c.bytes);
  d.interrupts_per_gb = per_gb(double(mine.hardirq.count), c.bytes);
  d.context_switches_per_gb = per_gb(double(all.context_switches), c.bytes);
  if (c.wall_s > 0) d.collector_percent = 100.0 * c.collector.cpu_ns() / (c.wall_s * 1e9);
  if (all.schedstat_ns > 0 && all.task_clock_ns > 0)
    d.task_clock_vs_scheduler = all.task_clock_ns / all.schedstat_ns - 1.0;
  return d;
}

CostFallback fall_back(CostFallback from, CostLevel failed, const std::string& why) {
  // full is tried as bpf, its best level.
  if (failed == CostLevel::kFull) failed = CostLevel::kBpf;
  if (from.level == CostLevel::kFull) from.level = CostLevel::kBpf;
  // rusage and off always run; a level above the current one was not in use.
  if (failed <= CostLevel::kRusage || from.level < failed) return from;
  from.level = CostLevel(int(failed) - 1);
  from.reason = from.reason.empty() ? why : from.reason + "; " + why;
  return from;
}

CostCollector::CostCollector(CostLevel requested, ThreadClaims* claims)
    : requested_(requested),
      level_(requested == CostLevel::kFull ? CostLevel::kBpf : requested),
      claims_(claims) {
  start_tracing();
}

// Each tracing level that cannot start here hands over to the one below, with its reason.
void CostCollector::start_tracing() {
  if (level_ == CostLevel::kBpf) {
    auto b = BpfTracer::start();
    if (b)
      bpf_ = std::move(*b);
    else
      degrade(CostLevel::kBpf, b.error().message);
  }
  const char* cross = std::getenv("NICPERF_COST_CROSSCHECK");
  if (bpf_ && cross && std::string(cross) == "ring")
    if (auto t = IrqTracer::start()) crosscheck_ = std::move(*t);
  if (level_ == CostLevel::kRing) {
    auto t = IrqTracer::start();
    if (t)
      tracer_ = std::move(*t);
    else
      degrade(CostLevel::kRing, "interrupt tracing unavailable: " + t.error().message);
  }
}

CostCollector::~CostCollector() {
  if (claims_) claims_->release(this);
}

void CostCollector::degrade(CostLevel failed, const std::string& why) {
  CostFallback f = fall_back({level_, reason_}, failed, why);
  level_ = f.level;
  reason_ = std::move(f.reason);
  if (level_ < CostLevel::kRing) tracer_.reset();
  if (level_ < CostLevel::kBpf) bpf_.reset();
}

void CostCollector::set_peer(const HostIdentity& peer) {
  if (bpf_ && on_this_kernel(peer)) bpf_->set_peer(peer.pid);
}

void CostCollector::attach(const std::vector<std::pair<int, pid_t>>& stream_tids) {
  if (level_ < CostLevel::kCounters) return;
  bool hardware = true;
  auto open_one = [&](int id, pid_t tid) -> std::optional<Attached> {
    auto c = ThreadCounters::open(tid, hardware);
    if (!c) {
      degrade(CostLevel::kCounters, c.error().message);
      return std::nullopt;
    }
    if (hw_reason_.empty() && !c->hardware_reason().empty()) hw_reason_ = c->hardware_reason();
    hardware = c->hardware_reason().empty();  // no use asking again for every thread
    Attached a;
    a.id = id;
    a.tid = tid;
    a.counters.emplace(std::move(*c));
    return a;
  };
  for (auto [id, tid] : stream_tids) {
    auto a = open_one(id, tid);
    if (!a) return;
    streams_.push_back(std::move(*a));
  }
  pid_t tracer_tid = tracer_ ? tracer_->thread_tid() : 0;
  std::vector<pid_t> mine{tracer_tid};
  for (const auto& a : streams_) mine.push_back(a.tid);
  if (claims_) claims_->claim(this, mine);
  foreign_ = claimed_by_others();
  std::vector<pid_t> stream_tids_only;
  for (const auto& a : streams_) stream_tids_only.push_back(a.tid);
  side_cpus_ = cpus_of(stream_tids_only);
  if (bpf_) bpf_->register_threads(stream_tids_only, foreign_);
  for (pid_t tid : process_tids()) {
    bool is_stream = std::any_of(streams_.begin(), streams_.end(),
                                 [tid](const Attached& a) { return a.tid == tid; });
    bool is_foreign = std::find(foreign_.begin(), foreign_.end(), tid) != foreign_.end();
    if (is_stream || is_foreign) continue;
    auto a = open_one(-1, tid);
    if (!a) return;
    if (tid == tracer_tid)
      collector_ = std::move(*a);
    else
      rest_.push_back(std::move(*a));
  }
}

std::uint64_t CostCollector::begin() {
  auto snap = [](Attached& a) {
    a.begin = a.counters->read();
    read_thread_clocks(a.tid, a.begin);
  };
  for (auto& a : streams_) snap(a);
  for (auto& a : rest_) snap(a);
  if (collector_) snap(*collector_);
  if (level_ >= CostLevel::kCounters) {
    proc_begin_ = read_proc_softirqs();
    steal_begin_ = read_steal();
  }
  if (level_ != CostLevel::kOff) (softnet_ = std::make_unique<SoftnetWindow>())->begin();
  process_times(utime_begin_s_, stime_begin_s_);
  if (crosscheck_) crosscheck_->mark_start();
  begin_ns_ = tracer_ ? tracer_->mark_start() : bpf_ ? bpf_->mark_start() : monotonic_ns();
  return begin_ns_;
}

std::vector<double> CostCollector::stream_task_clock() const {
  std::vector<double> out;
  for (const auto& a : streams_) out.push_back(a.counters ? a.counters->read().task_clock_ns : 0);
  return out;
}

std::optional<IrqBucket> CostCollector::stream_irq_so_far() const {
  if (level_ == CostLevel::kBpf && bpf_) {
    BpfCounts w = bpf_->so_far();
    IrqBucket b;
    for (std::size_t i = 0; i < streams_.size() && int(i) < kBpfStreamSlots; ++i)
      b += w.bucket(int(i));
    return b;
  }
  if (level_ != CostLevel::kRing || !tracer_) return std::nullopt;
  std::vector<pid_t> tids;
  for (const auto& a : streams_) tids.push_back(a.tid);
  return tracer_->charged_so_far(tids);
}

void CostCollector::end() {
  end_ns_ = tracer_ ? tracer_->mark_end() : bpf_ ? bpf_->mark_end() : monotonic_ns();
  if (crosscheck_) {
    crosscheck_->mark_end();
    crosscheck_->stop();
  }
  process_times(utime_end_s_, stime_end_s_);
  if (softnet_) softnet_->end();
  if (level_ < CostLevel::kCounters) return;
  proc_end_ = read_proc_softirqs();
  steal_end_ = read_steal();
  for (pid_t tid : claimed_by_others())
    if (std::find(foreign_.begin(), foreign_.end(), tid) == foreign_.end()) foreign_.push_back(tid);
  auto snap = [](Attached& a) {
    a.end = a.counters->read();
    a.clocks_at_end = read_thread_clocks(a.tid, a.end);
  };
  for (auto& a : streams_) snap(a);
  for (auto& a : rest_) snap(a);
  if (collector_) snap(*collector_);
  if (tracer_) tracer_->stop();
}

std::optional<IrqBucket> CostCollector::traced_irq(pid_t tid) const {
  if (bpf_ && level_ == CostLevel::kBpf) return traced_bpf(tid);
  if (!tracer_ || level_ < CostLevel::kRing) return std::nullopt;
  const auto& by_tid = tracer_->accounting().by_tid();
  auto it = by_tid.find(tid);
  return it == by_tid.end() ? IrqBucket{} : it->second;
}

std::optional<SideCost> CostCollector::result(const CostInputs& in) const {
  switch (level_) {
    case CostLevel::kOff:
      return std::nullopt;
    case CostLevel::kRusage:
      return rusage_result(in);
    case CostLevel::kCounters:
    case CostLevel::kRing:
    case CostLevel::kBpf:
    case CostLevel::kFull:
      break;
  }
  return counters_result(in);
}

// The whole process over the window, as iperf3 measures it: no per-thread or interrupt figures.
SideCost CostCollector::rusage_result(const CostInputs& in) const {
  SideCost c;
  c.level = CostLevel::kRusage;
  c.requested = requested_;
  c.reason = reason_;
  if (softnet_) c.softnet = softnet_->deltas();
  c.wall_s = in.data_seconds;
  if (c.wall_s > 0) {
    c.rest.utime_s = utime_end_s_ - utime_begin_s_;
    c.rest.stime_s = stime_end_s_ - stime_begin_s_;
    c.rest.task_clock_ns = (c.rest.utime_s + c.rest.stime_s) * 1e9;
  }
  for (std::uint64_t b : in.stream_bytes) c.bytes += b;
  return c;
}

SideCost CostCollector::counters_result(const CostInputs& in) const {
  SideCost c;
  c.level = level_;
  c.requested = requested_;
  c.reason = reason_;
  if (softnet_) c.softnet = softnet_->deltas();
  c.hardware_reason = hw_reason_;
  c.wall_s = double(end_ns_ - std::min(begin_ns_, end_ns_)) / 1e9;
  c.irq_time_accounting = kernel_irq_time_accounting();
  c.process_rusage_ns = (utime_end_s_ - utime_begin_s_ + stime_end_s_ - stime_begin_s_) * 1e9;
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    const Attached& a = streams_[i];
    CounterValues end = a.end;
    // A stream thread that ended before end() left its own last clock readings.
    if (!a.clocks_at_end && i < in.final_clocks.size()) {
      end.utime_s = in.final_clocks[i].utime_s;
      end.stime_s = in.final_clocks[i].stime_s;
      end.schedstat_ns = in.final_clocks[i].schedstat_ns;
    }
    CounterValues d = end - a.begin;
    StreamCost s;
    s.id = a.id;
    s.counters = d;
    s.bytes = i < in.stream_bytes.size() ? in.stream_bytes[i] : 0;
    c.bytes += s.bytes;
    c.streams += d;
    c.per_stream.push_back(s);
  }
  for (const auto& a : rest_) c.rest += a.end - a.begin;
  if (collector_) c.collector = collector_->end - collector_->begin;
  if (!steal_end_.empty()) {
    c.steal_ns = steal_between(steal_begin_, steal_end_, side_cpus_);
    c.steal_cpus = int(side_cpus_.size());
  }
  if (tracer_) attribute_irq(in, c);
  if (bpf_) attribute_bpf(in, c);
  return c;
}

// Level ring: each traced interrupt interval goes to the task it interrupted.
void CostCollector::attribute_irq(const CostInputs& in, SideCost& c) const {
  c.traced = true;
  const IrqAccounting& acc = tracer_->accounting();
  c.lost_records = acc.lost_records();
  c.traced_softirqs = acc.entries();
  c.traced_total = acc.total();
  for (int v = 0; v < kSoftirqVectors; ++v)
    c.proc_softirqs[std::size_t(v)] = proc_end_[std::size_t(v)] - proc_begin_[std::size_t(v)];
  HostIdentity me = this_host();
  const HostIdentity& peer = in.peer;
  c.peer_on_host = on_this_kernel(peer);
  for (const auto& [tid, bucket] : acc.by_tid()) {
    StreamCost* stream = nullptr;
    for (std::size_t i = 0; i < streams_.size() && i < c.per_stream.size(); ++i)
      if (streams_[i].tid == tid) stream = &c.per_stream[i];
    auto tg = tracer_->tgids().find(tid);
    pid_t tgid = tg == tracer_->tgids().end() ? -1 : tg->second;
    if (stream) {
      stream->irq += bucket;
      c.streams_irq += bucket;
    } else if (tid != 0 && tgid == me.pid &&
               std::find(foreign_.begin(), foreign_.end(), tid) == foreign_.end()) {
      c.process_irq += bucket;
    } else if (tid != 0 && c.peer_on_host && tgid == peer.pid) {
      c.peer_irq += bucket;
    } else {
      c.other_irq += bucket;
    }
  }
  auto names = read_irq_names();
  for (const auto& [irq, charge] : acc.by_irq()) {
    auto n = names.find(irq);
    c.irqs.emplace_back(std::to_string(irq) + ":" + (n == names.end() ? "?" : n->second), charge);
  }
}

}  // namespace nicperf
