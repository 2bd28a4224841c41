#include "nicperf/cost/cost.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>

namespace nicperf {
namespace {

using Json = nlohmann::json;

// The whole process's CPU time (getrusage): an independent total to check the per-thread sum by.
double process_cpu_ns() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto ns = [](const timeval& t) { return double(t.tv_sec) * 1e9 + double(t.tv_usec) * 1e3; };
  return ns(u.ru_utime) + ns(u.ru_stime);
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

Json charge_json(const IrqCharge& c) { return {{"ns", c.ns}, {"count", c.count}}; }

Json share_json(const IrqShare& s) {
  return {{"net_rx", charge_json(s.net_rx)},
          {"net_tx", charge_json(s.net_tx)},
          {"softirq_other", charge_json(s.softirq_other)},
          {"hardirq", charge_json(s.hardirq)}};
}

Json counters_json(const CounterValues& v) {
  Json j = {{"task_clock_ns", v.task_clock_ns},
            {"context_switches", v.context_switches},
            {"cpu_migrations", v.migrations},
            {"page_faults", v.page_faults},
            {"utime_s", v.utime_s},
            {"stime_s", v.stime_s},
            {"schedstat_ns", v.schedstat_ns}};
  if (v.has_hardware) {
    j["cycles"] = v.cycles;
    j["instructions"] = v.instructions;
    j["cycles_user"] = v.cycles_user;
    j["cycles_kernel"] = v.cycles_kernel;
    j["multiplexed_share"] = v.multiplexed_share();
  }
  return j;
}

IrqCharge charge_from(const Json& j) {
  return {j.at("ns").get<std::uint64_t>(), j.at("count").get<std::uint64_t>()};
}

IrqShare share_from(const Json& j) {
  IrqShare s;
  s.net_rx = charge_from(j.at("net_rx"));
  s.net_tx = charge_from(j.at("net_tx"));
  s.softirq_other = charge_from(j.at("softirq_other"));
  s.hardirq = charge_from(j.at("hardirq"));
  return s;
}

CounterValues counters_from(const Json& j) {
  CounterValues v;
  v.task_clock_ns = j.at("task_clock_ns").get<double>();
  v.context_switches = j.at("context_switches").get<std::uint64_t>();
  v.migrations = j.at("cpu_migrations").get<std::uint64_t>();
  v.page_faults = j.at("page_faults").get<std::uint64_t>();
  v.utime_s = j.at("utime_s").get<double>();
  v.stime_s = j.at("stime_s").get<double>();
  v.schedstat_ns = j.at("schedstat_ns").get<double>();
  if (j.contains("cycles")) {
    v.has_hardware = true;
    v.cycles = j.at("cycles").get<double>();
    v.instructions = j.at("instructions").get<double>();
    v.cycles_user = j.at("cycles_user").get<double>();
    v.cycles_kernel = j.at("cycles_kernel").get<double>();
  }
  return v;
}

double per_gb(double count, std::uint64_t bytes) { return bytes ? count * 1e9 / double(bytes) : 0; }

}  // namespace

const char* cost_level_name(CostLevel level) {
  switch (level) {
    case CostLevel::kOff:
      return "off";
    case CostLevel::kRusage:
      return "rusage";
    case CostLevel::kCounters:
      return "counters";
    case CostLevel::kFull:
      return "full";
  }
  return "off";
}

std::optional<CostLevel> parse_cost_level(const std::string& name) {
  for (auto l : {CostLevel::kOff, CostLevel::kRusage, CostLevel::kCounters, CostLevel::kFull})
    if (name == cost_level_name(l)) return l;
  return std::nullopt;
}

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

std::string attribution_rule(const SideCost& c) {
  if (!c.traced) return "no interrupt tracing at this level";
  std::string rule =
      "each hardirq and softirq interval is charged to the task it interrupted (the sample's "
      "tid): this side's stream threads, the rest of this process, the peer process (same "
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

Json to_json(const SideCost& c) {
  DerivedCost d = derive(c);
  Json per_stream = Json::array();
  for (const auto& s : c.per_stream)
    per_stream.push_back(
        {{"id", s.id},
         {"bytes", s.bytes},
         {"counters", counters_json(s.counters)},
         {"irq", share_json(s.irq)},
         {"cpu_ns_per_byte", s.bytes ? s.counters.cpu_ns() / double(s.bytes) : 0}});
  Json irqs = Json::array();
  for (const auto& [name, ch] : c.irqs)
    irqs.push_back({{"name", name}, {"ns", ch.ns}, {"count", ch.count}});
  Json derived = {{"cpu_percent", d.cpu_percent},
                  {"cpu_ns_per_byte", d.cpu_ns_per_byte},
                  {"cpu_seconds_per_gb", d.cpu_ns_per_byte},  // ns/byte == s/GB
                  {"cycles_per_byte", d.cycles_per_byte ? Json(*d.cycles_per_byte) : Json()},
                  {"ipc", d.ipc ? Json(*d.ipc) : Json()},
                  {"user_share", d.user_share},
                  {"kernel_share", d.kernel_share},
                  {"softirq_share", d.softirq_share},
                  {"hardirq_share", d.hardirq_share},
                  {"softirqs_per_gb", d.softirqs_per_gb},
                  {"net_rx_softirqs_per_gb", d.net_rx_per_gb},
                  {"interrupts_per_gb", d.interrupts_per_gb},
                  {"context_switches_per_gb", d.context_switches_per_gb},
                  {"collector_cpu_percent", d.collector_percent},
                  {"task_clock_vs_scheduler", d.task_clock_vs_scheduler}};
  Json j = {{"level", cost_level_name(c.level)},
            {"requested", cost_level_name(c.requested)},
            {"reason", c.reason},
            {"hardware_reason", c.hardware_reason},
            {"wall_seconds", c.wall_s},
            {"process_rusage_ns", c.process_rusage_ns},
            {"bytes", c.bytes},
            {"streams", counters_json(c.streams)},
            {"rest_of_process", counters_json(c.rest)},
            {"collector", counters_json(c.collector)},
            {"per_stream", per_stream},
            {"derived", derived},
            {"rule", attribution_rule(c)},
            {"irq_time_accounting", c.irq_time_accounting}};
  if (c.traced) {
    Json traced = Json::array(), proc = Json::array();
    for (int v = 0; v < kSoftirqVectors; ++v) {
      traced.push_back(c.traced_softirqs[std::size_t(v)]);
      proc.push_back(c.proc_softirqs[std::size_t(v)]);
    }
    j["attribution"] = {{"streams", share_json(c.streams_irq)},
                        {"rest_of_process", share_json(c.process_irq)},
                        {"peer_process", share_json(c.peer_irq)},
                        {"other", share_json(c.other_irq)},
                        {"peer_on_host", c.peer_on_host}};
    j["softirq_entries_traced"] = traced;
    j["softirq_entries_proc"] = proc;
    j["lost_records"] = c.lost_records;
    IrqShare total;
    total += c.traced_total;
    j["traced_total"] = share_json(total);
    j["irqs"] = irqs;
  }
  return j;
}

Expected<SideCost> cost_from_json(const Json& j) {
  try {
    SideCost c;
    auto level = parse_cost_level(j.at("level").get<std::string>());
    auto requested = parse_cost_level(j.at("requested").get<std::string>());
    if (!level || !requested) return Error{Errc::kProtocol, "peer cost has an unknown level"};
    c.level = *level;
    c.requested = *requested;
    c.reason = j.at("reason").get<std::string>().substr(0, 512);
    c.hardware_reason = j.at("hardware_reason").get<std::string>().substr(0, 512);
    c.wall_s = j.at("wall_seconds").get<double>();
    c.process_rusage_ns = j.at("process_rusage_ns").get<double>();
    c.bytes = j.at("bytes").get<std::uint64_t>();
    c.streams = counters_from(j.at("streams"));
    c.rest = counters_from(j.at("rest_of_process"));
    c.collector = counters_from(j.at("collector"));
    c.irq_time_accounting = j.at("irq_time_accounting").get<bool>();
    const auto& per_stream = j.at("per_stream");
    if (per_stream.size() > 512) return Error{Errc::kProtocol, "peer cost lists too many streams"};
    for (const auto& s : per_stream)
      c.per_stream.push_back({s.at("id").get<int>(), counters_from(s.at("counters")),
                              share_from(s.at("irq")), s.at("bytes").get<std::uint64_t>()});
    if (j.contains("attribution")) {
      const auto& a = j.at("attribution");
      c.traced = true;
      c.streams_irq = share_from(a.at("streams"));
      c.process_irq = share_from(a.at("rest_of_process"));
      c.peer_irq = share_from(a.at("peer_process"));
      c.other_irq = share_from(a.at("other"));
      c.peer_on_host = a.at("peer_on_host").get<bool>();
      c.lost_records = j.at("lost_records").get<std::uint64_t>();
      IrqShare total = share_from(j.at("traced_total"));
      c.traced_total.softirq[kNetRx] = total.net_rx;
      c.traced_total.softirq[kNetTx] = total.net_tx;
      c.traced_total.softirq[0] = total.softirq_other;  // the other vectors, summed
      c.traced_total.hardirq = total.hardirq;
      const auto& traced = j.at("softirq_entries_traced");
      const auto& proc = j.at("softirq_entries_proc");
      for (std::size_t v = 0; v < kSoftirqVectors && v < traced.size() && v < proc.size(); ++v) {
        c.traced_softirqs[v] = traced[v].get<std::uint64_t>();
        c.proc_softirqs[v] = proc[v].get<std::uint64_t>();
      }
      for (const auto& irq : j.at("irqs")) {
        if (c.irqs.size() >= 256) break;
        c.irqs.emplace_back(
            irq.at("name").get<std::string>().substr(0, 64),
            IrqCharge{irq.at("ns").get<std::uint64_t>(), irq.at("count").get<std::uint64_t>()});
      }
    }
    return c;
  } catch (const nlohmann::json::exception& e) {
    return Error{Errc::kProtocol, std::string("peer cost figures are malformed: ") + e.what()};
  }
}

CostCollector::CostCollector(CostLevel requested, ThreadClaims* claims)
    : requested_(requested), level_(requested), claims_(claims) {
  if (level_ == CostLevel::kFull) {
    auto t = IrqTracer::start();
    if (t)
      tracer_ = std::move(*t);
    else
      degrade(CostLevel::kCounters, "interrupt tracing unavailable: " + t.error().message);
  }
}

CostCollector::~CostCollector() {
  if (claims_) claims_->release(this);
}

void CostCollector::degrade(CostLevel to, const std::string& why) {
  level_ = to;
  if (reason_.empty())
    reason_ = why;
  else
    reason_ += "; " + why;
  if (to < CostLevel::kFull) tracer_.reset();
}

void CostCollector::attach(const std::vector<std::pair<int, pid_t>>& stream_tids) {
  if (level_ < CostLevel::kCounters) return;
  bool hardware = true;
  auto open_one = [&](int id, pid_t tid) -> std::optional<Attached> {
    auto c = ThreadCounters::open(tid, hardware);
    if (!c) {
      degrade(CostLevel::kRusage, c.error().message);
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
  proc_begin_ = read_proc_softirqs();
  rusage_begin_ns_ = process_cpu_ns();
  begin_ns_ = tracer_ ? tracer_->mark_start()
                      : std::uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
  return begin_ns_;
}

std::vector<double> CostCollector::stream_task_clock() const {
  std::vector<double> out;
  for (const auto& a : streams_) out.push_back(a.counters ? a.counters->read().task_clock_ns : 0);
  return out;
}

void CostCollector::end() {
  end_ns_ = tracer_ ? tracer_->mark_end()
                    : std::uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
  proc_end_ = read_proc_softirqs();
  for (pid_t tid : claimed_by_others())
    if (std::find(foreign_.begin(), foreign_.end(), tid) == foreign_.end()) foreign_.push_back(tid);
  rusage_end_ns_ = process_cpu_ns();
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
  if (!tracer_ || level_ < CostLevel::kFull) return std::nullopt;
  const auto& by_tid = tracer_->accounting().by_tid();
  auto it = by_tid.find(tid);
  return it == by_tid.end() ? IrqBucket{} : it->second;
}

SideCost CostCollector::result(const std::vector<std::uint64_t>& stream_bytes,
                               const std::vector<CounterValues>& final_clocks,
                               const HostIdentity& peer) const {
  SideCost c;
  c.level = level_;
  c.requested = requested_;
  c.reason = reason_;
  c.hardware_reason = hw_reason_;
  c.wall_s = double(end_ns_ - std::min(begin_ns_, end_ns_)) / 1e9;
  c.irq_time_accounting = kernel_irq_time_accounting();
  c.process_rusage_ns = rusage_end_ns_ - rusage_begin_ns_;
  if (level_ < CostLevel::kCounters) return c;
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    const Attached& a = streams_[i];
    CounterValues end = a.end;
    // A stream thread that ended before end() left its own last clock readings.
    if (!a.clocks_at_end && i < final_clocks.size()) {
      end.utime_s = final_clocks[i].utime_s;
      end.stime_s = final_clocks[i].stime_s;
      end.schedstat_ns = final_clocks[i].schedstat_ns;
    }
    CounterValues d = end - a.begin;
    StreamCost s;
    s.id = a.id;
    s.counters = d;
    s.bytes = i < stream_bytes.size() ? stream_bytes[i] : 0;
    c.bytes += s.bytes;
    c.streams += d;
    c.per_stream.push_back(s);
  }
  for (const auto& a : rest_) c.rest += a.end - a.begin;
  if (collector_) c.collector = collector_->end - collector_->begin;
  if (!tracer_) return c;
  c.traced = true;
  const IrqAccounting& acc = tracer_->accounting();
  c.lost_records = acc.lost_records();
  c.traced_softirqs = acc.entries();
  c.traced_total = acc.total();
  for (int v = 0; v < kSoftirqVectors; ++v)
    c.proc_softirqs[std::size_t(v)] = proc_end_[std::size_t(v)] - proc_begin_[std::size_t(v)];
  HostIdentity me = this_host();
  c.peer_on_host = !peer.boot_id.empty() && peer.boot_id == me.boot_id;
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
  return c;
}

}  // namespace nicperf
