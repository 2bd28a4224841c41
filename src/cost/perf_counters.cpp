#include "nicperf/cost/perf_counters.hpp"

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <utility>

namespace nicperf {
namespace {

int perf_open(perf_event_attr& attr, pid_t tid, int group) {
  return int(syscall(SYS_perf_event_open, &attr, tid, -1, group, PERF_FLAG_FD_CLOEXEC));
}

perf_event_attr attr_for(std::uint32_t type, std::uint64_t config) {
  perf_event_attr a{};
  a.size = sizeof a;
  a.type = type;
  a.config = config;
  a.read_format =
      PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
  a.disabled = 0;
  return a;
}

// Reads a group's record into `g` (see decode_group).
bool read_group(int fd, std::size_t n, GroupRead& g) {
  std::vector<std::uint64_t> buf(3 + n);
  ssize_t got = ::read(fd, buf.data(), buf.size() * sizeof(std::uint64_t));
  if (got < 0) return false;
  buf.resize(std::size_t(got) / sizeof(std::uint64_t));
  return decode_group(buf, n, g);
}

}  // namespace

CounterValues& CounterValues::operator+=(const CounterValues& o) {
  task_clock_ns += o.task_clock_ns;
  context_switches += o.context_switches;
  migrations += o.migrations;
  page_faults += o.page_faults;
  has_hardware = has_hardware || o.has_hardware;
  cycles += o.cycles;
  instructions += o.instructions;
  cycles_user += o.cycles_user;
  cycles_kernel += o.cycles_kernel;
  hw_enabled_ns += o.hw_enabled_ns;
  hw_running_ns += o.hw_running_ns;
  utime_s += o.utime_s;
  stime_s += o.stime_s;
  schedstat_ns += o.schedstat_ns;
  return *this;
}

CounterValues CounterValues::operator-(const CounterValues& o) const {
  CounterValues d = *this;
  d.task_clock_ns -= o.task_clock_ns;
  d.context_switches -= o.context_switches;
  d.migrations -= o.migrations;
  d.page_faults -= o.page_faults;
  d.cycles -= o.cycles;
  d.instructions -= o.instructions;
  d.cycles_user -= o.cycles_user;
  d.cycles_kernel -= o.cycles_kernel;
  d.hw_enabled_ns -= o.hw_enabled_ns;
  d.hw_running_ns -= o.hw_running_ns;
  d.utime_s -= o.utime_s;
  d.stime_s -= o.stime_s;
  d.schedstat_ns -= o.schedstat_ns;
  return d;
}

bool read_thread_times(pid_t tid, double& utime_s, double& stime_s) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  auto close_paren = line.rfind(')');  // the command name may hold spaces
  if (close_paren == std::string::npos) return false;
  std::istringstream rest(line.substr(close_paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  double hz = double(sysconf(_SC_CLK_TCK));
  utime_s = double(utime) / hz;
  stime_s = double(stime) / hz;
  return true;
}

bool read_thread_clocks(pid_t tid, CounterValues& v) {
  return read_thread_times(tid, v.utime_s, v.stime_s) && read_schedstat(tid, v.schedstat_ns);
}

void read_own_clocks(CounterValues& v) {
  read_thread_times(pid_t(gettid()), v.utime_s, v.stime_s);
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);  // includes the slice not yet in schedstat
  v.schedstat_ns = double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

Expected<ThreadCounters> ThreadCounters::open(pid_t tid, bool hardware) {
  ThreadCounters c;
  c.tid_ = tid;
  const std::uint64_t sw[] = {PERF_COUNT_SW_TASK_CLOCK, PERF_COUNT_SW_CONTEXT_SWITCHES,
                              PERF_COUNT_SW_CPU_MIGRATIONS, PERF_COUNT_SW_PAGE_FAULTS};
  for (auto config : sw) {
    auto a = attr_for(PERF_TYPE_SOFTWARE, config);
    int fd = perf_open(a, tid, c.sw_.empty() ? -1 : c.sw_.front());
    if (fd < 0) {
      int err = errno;
      return Error{Errc::kSystem, errno_text("perf_event_open on thread " + std::to_string(tid) +
                                                 " (see /proc/sys/kernel/perf_event_paranoid)",
                                             err)};
    }
    c.sw_.push_back(fd);
  }
  if (!hardware) {
    c.hw_reason_ = "hardware counters not requested";
    return c;
  }
  // cycles, instructions, cycles in user space only, cycles in the kernel only.
  struct Hw {
    std::uint64_t config;
    bool no_kernel, no_user;
  };
  const Hw hw[] = {{PERF_COUNT_HW_CPU_CYCLES, false, false},
                   {PERF_COUNT_HW_INSTRUCTIONS, false, false},
                   {PERF_COUNT_HW_CPU_CYCLES, true, false},
                   {PERF_COUNT_HW_CPU_CYCLES, false, true}};
  for (const auto& h : hw) {
    auto a = attr_for(PERF_TYPE_HARDWARE, h.config);
    a.exclude_kernel = h.no_kernel;
    a.exclude_user = h.no_user;
    int fd = perf_open(a, tid, c.hw_.empty() ? -1 : c.hw_.front());
    if (fd < 0) {
      c.hw_reason_ = hw_refusal(errno);
      for (int f : c.hw_) ::close(f);
      c.hw_.clear();
      break;
    }
    c.hw_.push_back(fd);
  }
  return c;
}

ThreadCounters::ThreadCounters(ThreadCounters&& o) noexcept
    : tid_(o.tid_),
      sw_(std::move(o.sw_)),
      hw_(std::move(o.hw_)),
      hw_reason_(std::move(o.hw_reason_)) {
  o.sw_.clear();
  o.hw_.clear();
}

ThreadCounters& ThreadCounters::operator=(ThreadCounters&& o) noexcept {
  if (this != &o) {
    close_all();
    tid_ = o.tid_;
    sw_ = std::move(o.sw_);
    hw_ = std::move(o.hw_);
    hw_reason_ = std::move(o.hw_reason_);
    o.sw_.clear();
    o.hw_.clear();
  }
  return *this;
}

ThreadCounters::~ThreadCounters() { close_all(); }

void ThreadCounters::close_all() {
  for (int f : sw_) ::close(f);
  for (int f : hw_) ::close(f);
  sw_.clear();
  hw_.clear();
}

bool decode_group(std::span<const std::uint64_t> buf, std::size_t n, GroupRead& g) {
  if (buf.size() < 3 + n || buf[0] != n) return false;
  g.enabled = buf[1];
  g.running = buf[2];
  g.values.assign(buf.begin() + 3, buf.begin() + 3 + std::ptrdiff_t(n));
  return true;
}

void apply_software_group(const GroupRead& g, CounterValues& v) {
  if (g.values.size() < kSoftwareEvents) return;
  v.task_clock_ns = double(g.values[0]);
  v.context_switches = g.values[1];
  v.migrations = g.values[2];
  v.page_faults = g.values[3];
}

void apply_hardware_group(const GroupRead& g, CounterValues& v) {
  // A group that never ran has no estimate to scale: its figures stay absent, not zero.
  if (g.values.size() < kHardwareEvents || g.running == 0) return;
  double scale = double(g.enabled) / double(g.running);
  v.has_hardware = true;
  v.cycles = double(g.values[0]) * scale;
  v.instructions = double(g.values[1]) * scale;
  v.cycles_user = double(g.values[2]) * scale;
  v.cycles_kernel = double(g.values[3]) * scale;
  v.hw_enabled_ns = double(g.enabled);
  v.hw_running_ns = double(g.running);
}

std::string hw_refusal(int err) {
  if (err == ENOENT || err == EOPNOTSUPP || err == ENODEV)
    return "no hardware PMU on this machine (software events only): cycles and instructions "
           "cannot be counted";
  if (err == EACCES || err == EPERM)
    return "hardware counters not permitted (perf_event_paranoid; run as root or with "
           "CAP_PERFMON)";
  return errno_text("hardware counters refused", err);
}

CounterValues ThreadCounters::read() const {
  CounterValues v;
  GroupRead g;
  if (!sw_.empty() && read_group(sw_.front(), sw_.size(), g)) apply_software_group(g, v);
  if (!hw_.empty() && read_group(hw_.front(), hw_.size(), g)) apply_hardware_group(g, v);
  return v;
}

}  // namespace nicperf
