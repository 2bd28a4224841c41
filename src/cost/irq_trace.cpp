#include "nicperf/cost/irq_trace.hpp"

#include <linux/perf_event.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "nicperf/cost/perf_counters.hpp"

namespace nicperf {
namespace {

constexpr std::size_t kIrqRingPages = 128;  // 512 KiB per CPU: no loss at 200k records/s
constexpr std::uint32_t kMaxIrqs = 4096;

const char* kTraceRoots[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};

// Finds a tracepoint id in tracefs, mounting tracefs at /sys/kernel/tracing if it is absent.
Expected<int> tracepoint_id(const std::string& name) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    for (const char* root : kTraceRoots) {
      std::ifstream in(std::string(root) + "/events/irq/" + name + "/id");
      int id = -1;
      if (in >> id) return id;
    }
    if (attempt == 0 && mount("nodev", "/sys/kernel/tracing", "tracefs", 0, nullptr) != 0)
      return Error{Errc::kSystem, errno_text("tracefs is not mounted and cannot be mounted at "
                                             "/sys/kernel/tracing (root needed)",
                                             errno)};
  }
  return Error{Errc::kSystem, "tracepoint irq:" + name + " not found in tracefs"};
}

pid_t tgid_of(pid_t tid) {
  if (tid == 0) return 0;
  std::ifstream in("/proc/" + std::to_string(tid) + "/status");
  std::string key;
  while (in >> key) {
    if (key == "Tgid:") {
      pid_t tgid = -1;
      in >> tgid;
      return tgid;
    }
    in.ignore(1 << 16, '\n');
  }
  return -1;  // already gone
}

}  // namespace

const char* softirq_name(std::uint32_t vec) {
  static const char* names[] = {"HI",       "TIMER",   "NET_TX", "NET_RX",  "BLOCK",
                                "IRQ_POLL", "TASKLET", "SCHED",  "HRTIMER", "RCU"};
  return vec < kSoftirqVectors ? names[vec] : "UNKNOWN";
}

IrqBucket& IrqBucket::operator+=(const IrqBucket& o) {
  for (int v = 0; v < kSoftirqVectors; ++v) softirq[std::size_t(v)] += o.softirq[std::size_t(v)];
  hardirq += o.hardirq;
  return *this;
}

IrqCharge IrqBucket::softirq_total() const {
  IrqCharge t;
  for (const auto& c : softirq) t += c;
  return t;
}

IrqCharge IrqBucket::softirq_other() const {
  IrqCharge t;
  for (std::uint32_t v = 0; v < kSoftirqVectors; ++v)
    if (v != kNetRx && v != kNetTx) t += softirq[v];
  return t;
}

IrqAccounting::IrqAccounting(int cpus) : cpus_(std::size_t(std::max(cpus, 1))) {}

void IrqAccounting::set_window(std::uint64_t start_ns, std::uint64_t end_ns) {
  start_ = start_ns;
  end_ = end_ns;
}

std::uint64_t IrqAccounting::clipped(std::uint64_t a, std::uint64_t b) const {
  a = std::max(a, start_);
  b = std::min(b, end_);
  return b > a ? b - a : 0;
}

void IrqAccounting::lost(int cpu, std::uint64_t records) {
  lost_ += records;
  if (cpu >= 0 && std::size_t(cpu) < cpus_.size()) cpus_[std::size_t(cpu)] = CpuState{};
}

void IrqAccounting::add(const TraceRecord& r) {
  if (r.cpu < 0 || std::size_t(r.cpu) >= cpus_.size()) return;
  CpuState& c = cpus_[std::size_t(r.cpu)];
  switch (r.kind) {
    case TraceKind::kSoftirqEntry:
      if (r.number >= kSoftirqVectors) return;
      c.softirq = {true, r.time_ns, r.tid, r.number, 0};
      if (in_window(r.time_ns)) ++entries_[r.number];
      return;
    case TraceKind::kSoftirqExit: {
      Open o = c.softirq;
      c.softirq = {};
      if (!o.active || o.number != r.number || r.time_ns < o.start) return;  // began before tracing
      std::uint64_t span = clipped(o.start, r.time_ns);
      IrqCharge& charge = by_tid_[o.tid].softirq[o.number];
      charge.ns += span - std::min(span, o.nested_ns);
      if (in_window(o.start)) ++charge.count;
      return;
    }
    case TraceKind::kIrqEntry:
      c.irq = {true, r.time_ns, r.tid, r.number, 0};
      return;
    case TraceKind::kIrqExit: {
      Open o = c.irq;
      c.irq = {};
      if (!o.active || o.number != r.number || r.time_ns < o.start) return;
      std::uint64_t span = clipped(o.start, r.time_ns);
      // A hardirq inside a softirq is charged once: as hardirq, and taken out of the softirq.
      if (c.softirq.active && o.start >= c.softirq.start) c.softirq.nested_ns += span;
      IrqCharge& charge = by_tid_[o.tid].hardirq;
      charge.ns += span;
      IrqCharge& irq = by_irq_[o.number];
      irq.ns += span;
      if (in_window(o.start)) {
        ++charge.count;
        ++irq.count;
      }
      return;
    }
  }
}

IrqBucket IrqAccounting::total() const {
  IrqBucket t;
  for (const auto& [tid, b] : by_tid_) t += b;
  return t;
}

std::array<std::uint64_t, kSoftirqVectors> read_proc_softirqs() {
  std::array<std::uint64_t, kSoftirqVectors> out{};
  std::ifstream in("/proc/softirqs");
  std::string line;
  std::getline(in, line);  // CPU header
  for (std::uint32_t v = 0; v < kSoftirqVectors && std::getline(in, line); ++v) {
    std::istringstream fields(line);
    std::string name;
    fields >> name;
    for (std::uint64_t n; fields >> n;) out[v] += n;
  }
  return out;
}

std::map<std::uint32_t, std::string> read_irq_names() {
  std::map<std::uint32_t, std::string> names;
  std::ifstream in("/proc/interrupts");
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string label;
    fields >> label;
    if (label.empty() || label.back() != ':') continue;
    label.pop_back();
    char* end = nullptr;
    unsigned long irq = std::strtoul(label.c_str(), &end, 10);
    if (*end != '\0') continue;  // NMI, LOC, ... are not numbered IRQs
    std::string tok, last;
    while (fields >> tok) last = tok;  // the device name is the last column
    names[std::uint32_t(irq)] = last;
  }
  return names;
}

struct IrqTracer::CpuRing {
  int cpu = 0;
  std::vector<int> fds;
  void* base = nullptr;
  std::size_t size = 0;
  std::vector<char> scratch;
  ~CpuRing() {
    if (base) munmap(base, size);
    for (int fd : fds) ::close(fd);
  }
};

IrqTracer::IrqTracer(int cpus) : accounting_(cpus) {}

Expected<std::unique_ptr<IrqTracer>> IrqTracer::start() {
  const char* names[] = {"softirq_entry", "softirq_exit", "irq_handler_entry", "irq_handler_exit"};
  const TraceKind kinds[] = {TraceKind::kSoftirqEntry, TraceKind::kSoftirqExit,
                             TraceKind::kIrqEntry, TraceKind::kIrqExit};
  int ids[4];
  for (int i = 0; i < 4; ++i) {
    auto id = tracepoint_id(names[i]);
    if (!id) return id.error();
    ids[i] = *id;
  }
  int cpus = int(sysconf(_SC_NPROCESSORS_CONF));
  std::unique_ptr<IrqTracer> t(new IrqTracer(cpus));
  for (int i = 0; i < 4; ++i) t->kinds_[std::uint16_t(ids[i])] = kinds[i];
  long page = sysconf(_SC_PAGESIZE);
  for (int cpu = 0; cpu < cpus; ++cpu) {
    auto ring = std::make_unique<CpuRing>();
    ring->cpu = cpu;
    for (int i = 0; i < 4; ++i) {
      perf_event_attr a{};
      a.size = sizeof a;
      a.type = PERF_TYPE_TRACEPOINT;
      a.config = std::uint64_t(ids[i]);
      a.sample_period = 1;
      a.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU | PERF_SAMPLE_RAW;
      a.use_clockid = 1;
      a.clockid = CLOCK_MONOTONIC;
      a.watermark = 1;
      a.wakeup_watermark = std::uint32_t(kIrqRingPages * std::size_t(page) / 4);
      int fd = int(syscall(SYS_perf_event_open, &a, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC));
      if (fd < 0) {
        if (errno == ENODEV || errno == EINVAL) break;  // offline CPU
        return Error{Errc::kSystem, errno_text("cannot trace irq:" + std::string(names[i]) +
                                                   " system-wide (root or CAP_PERFMON needed)",
                                               errno)};
      }
      ring->fds.push_back(fd);
    }
    if (ring->fds.size() != 4) continue;
    ring->size = std::size_t(page) * (kIrqRingPages + 1);
    ring->base = mmap(nullptr, ring->size, PROT_READ | PROT_WRITE, MAP_SHARED, ring->fds[0], 0);
    if (ring->base == MAP_FAILED) {
      ring->base = nullptr;
      return Error{Errc::kSystem, errno_text("cannot map the trace ring", errno)};
    }
    for (std::size_t i = 1; i < ring->fds.size(); ++i)
      if (ioctl(ring->fds[i], PERF_EVENT_IOC_SET_OUTPUT, ring->fds[0]) != 0)
        return Error{Errc::kSystem, errno_text("PERF_EVENT_IOC_SET_OUTPUT", errno)};
    t->rings_.push_back(std::move(ring));
  }
  if (t->rings_.empty()) return Error{Errc::kSystem, "no CPU could be traced"};
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  t->thread_ = std::thread([p = t.get()] { p->run(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return t;
}

IrqTracer::~IrqTracer() { stop(); }

std::uint64_t IrqTracer::mark_start() {
  std::lock_guard lock(drain_mutex_);
  window_start_ = monotonic_ns();
  accounting_.set_window(window_start_, window_end_);
  return window_start_;
}

std::uint64_t IrqTracer::mark_end() {
  std::lock_guard lock(drain_mutex_);
  window_end_ = monotonic_ns();
  accounting_.set_window(window_start_, window_end_);
  return window_end_;
}

IrqBucket IrqTracer::charged_so_far(const std::vector<pid_t>& tids) {
  std::lock_guard lock(drain_mutex_);
  for (auto& r : rings_) drain(*r);
  IrqBucket sum;
  for (pid_t tid : tids)
    if (auto it = accounting_.by_tid().find(tid); it != accounting_.by_tid().end())
      sum += it->second;
  return sum;
}

void IrqTracer::stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  thread_.join();
  std::lock_guard lock(drain_mutex_);
  for (auto& r : rings_) drain(*r);  // what arrived until the end
}

void IrqTracer::run() {
  thread_tid_.store(gettid());
  std::vector<pollfd> fds;
  for (auto& r : rings_) fds.push_back({r->fds[0], POLLIN, 0});
  while (!stop_.load()) {
    poll(fds.data(), fds.size(), 20);
    std::lock_guard lock(drain_mutex_);
    for (auto& r : rings_) drain(*r);
  }
}

std::uint64_t walk_ring(const char* data, std::uint64_t size, std::uint64_t tail,
                        std::uint64_t head, std::vector<char>& scratch, const RecordFn& fn) {
  auto copy_out = [&](void* dst, std::uint64_t from, std::size_t n) {
    std::uint64_t first = std::min<std::uint64_t>(n, size - from);
    std::memcpy(dst, data + from, first);
    std::memcpy(static_cast<char*>(dst) + first, data, n - first);
  };
  while (tail < head) {
    perf_event_header hdr;
    std::uint64_t at = tail % size;
    copy_out(&hdr, at, sizeof hdr);
    if (hdr.size < sizeof hdr || hdr.size > head - tail) break;  // torn: try again later
    scratch.resize(hdr.size);
    copy_out(scratch.data(), at, hdr.size);
    fn(hdr.type, scratch.data(), hdr.size);
    tail += hdr.size;
  }
  return tail;
}

// Sample layout for TID | TIME | CPU | RAW: pid, tid (u32 each), time (u64), cpu, res (u32
// each), raw size (u32), raw data. Raw: common_type (u16) first, the number at offset 8.
std::optional<TraceRecord> parse_sample(const char* rec, std::size_t size,
                                        const std::map<std::uint16_t, TraceKind>& kinds) {
  const std::size_t fixed_part = sizeof(perf_event_header) + 8 + 8 + 8 + 4;
  if (size < fixed_part + 12) return std::nullopt;
  const char* p = rec + sizeof(perf_event_header);
  std::uint32_t tid = 0, raw_size = 0, cpu = 0;
  std::uint64_t time = 0;
  std::memcpy(&tid, p + 4, 4);
  std::memcpy(&time, p + 8, 8);
  std::memcpy(&cpu, p + 16, 4);
  std::memcpy(&raw_size, p + 24, 4);
  const char* raw = p + 28;
  if (raw_size < 12 || fixed_part + raw_size > size) return std::nullopt;
  std::uint16_t type = 0;
  std::uint32_t number = 0;
  std::memcpy(&type, raw, 2);
  std::memcpy(&number, raw + 8, 4);
  auto kind = kinds.find(type);
  if (kind == kinds.end()) return std::nullopt;
  bool irq = kind->second == TraceKind::kIrqEntry || kind->second == TraceKind::kIrqExit;
  if (irq && number >= kMaxIrqs) return std::nullopt;
  return TraceRecord{int(cpu), pid_t(tid), time, kind->second, number};
}

void IrqTracer::drain(CpuRing& ring) {
  auto* meta = static_cast<perf_event_mmap_page*>(ring.base);
  const char* data = static_cast<const char*>(ring.base) + meta->data_offset;
  std::uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
  std::uint64_t tail =
      walk_ring(data, meta->data_size, meta->data_tail, head, ring.scratch,
                [&](std::uint32_t type, const char* rec, std::size_t size) {
                  if (type == PERF_RECORD_SAMPLE) {
                    if (auto r = parse_sample(rec, size, kinds_)) {
                      if (!tgids_.count(r->tid))
                        tgids_[r->tid] = tgid_of(r->tid);  // while it exists
                      accounting_.add(*r);
                    }
                  } else if (type == PERF_RECORD_LOST && size >= sizeof(perf_event_header) + 16) {
                    std::uint64_t lost_count = 0;
                    std::memcpy(&lost_count, rec + sizeof(perf_event_header) + 8, 8);
                    accounting_.lost(ring.cpu, lost_count);
                  }
                });
  __atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
}

}  // namespace nicperf
