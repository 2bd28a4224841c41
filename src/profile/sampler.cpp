// The sampler: one perf_event per thread with its own mmap ring, read by the owner thread.
#include <dirent.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "nicperf/profile/profile.hpp"
#include "profile/symbols.hpp"

namespace nicperf {
namespace {

// 32 data pages (128 KiB) hold ~0.3 s of samples at the default rate with deep chains; the
// owner drains every 100 ms.
constexpr std::size_t kSampleRingPages = 32;

int perf_open(perf_event_attr& a, pid_t tid) {
  return int(syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC));
}

perf_event_attr sampler_attr(bool cycles, bool kernel) {
  perf_event_attr a{};
  a.size = sizeof a;
  if (cycles) {
    a.type = PERF_TYPE_HARDWARE;
    a.config = PERF_COUNT_HW_CPU_CYCLES;
    a.freq = 1;
    a.sample_freq = std::uint64_t(kProfileRateHz);
  } else {
    a.type = PERF_TYPE_SOFTWARE;
    a.config = PERF_COUNT_SW_CPU_CLOCK;
    a.sample_period = std::uint64_t(1e9 / kProfileRateHz);  // ns of the thread's CPU
  }
  a.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CALLCHAIN;
  a.use_clockid = 1;  // the window's clock
  a.clockid = CLOCK_MONOTONIC;
  a.exclude_hv = 1;
  a.exclude_kernel = kernel ? 0 : 1;
  a.exclude_callchain_kernel = kernel ? 0 : 1;
  return a;
}

}  // namespace

struct ProfileSampler::Ring {
  int fd = -1;
  void* base = nullptr;
  std::size_t len = 0;
  ~Ring() {
    if (base) munmap(base, len);
    if (fd >= 0) ::close(fd);
  }
};

std::unique_ptr<ProfileSampler> ProfileSampler::open(const std::vector<pid_t>& tids) {
  std::unique_ptr<ProfileSampler> p(new ProfileSampler());
  std::size_t page = std::size_t(sysconf(_SC_PAGESIZE));
  // Cycles where a PMU exists, else the software clock (no PMU in most VMs). Kernel chains
  // need root or CAP_PERFMON at perf_event_paranoid 2; without them user code only.
  bool cycles = true, kernel = true;
  for (pid_t tid : tids) {
    int fd = -1;
    for (;;) {
      perf_event_attr a = sampler_attr(cycles, kernel);
      fd = perf_open(a, tid);
      if (fd >= 0) break;
      int err = errno;
      if (err == ESRCH) break;  // the thread ended: nothing to sample
      if (cycles) {
        cycles = false;
      } else if (kernel && (err == EACCES || err == EPERM)) {
        kernel = false;
        p->note_ =
            "no kernel frames: perf_event_paranoid forbids them without root or "
            "CAP_PERFMON (sysctl -w kernel.perf_event_paranoid=1)";
      } else {
        p->note_ = std::string("sampler refused: ") + std::strerror(err);
        break;
      }
    }
    if (fd < 0) continue;
    auto r = std::make_unique<Ring>();
    r->fd = fd;
    r->len = (1 + kSampleRingPages) * page;
    r->base = mmap(nullptr, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (r->base == MAP_FAILED) {
      r->base = nullptr;
      continue;
    }
    p->rings_.push_back(std::move(r));
  }
  if (p->rings_.empty()) return nullptr;
  p->event_ = cycles ? "cycles" : "cpu-clock";
  p->kernel_chains_ = kernel;
  return p;
}

std::unique_ptr<ProfileSampler> ProfileSampler::open_process(const std::vector<pid_t>& exclude) {
  std::vector<pid_t> tids;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) {
      pid_t tid = pid_t(std::atoi(e->d_name));
      if (tid > 0 && std::find(exclude.begin(), exclude.end(), tid) == exclude.end())
        tids.push_back(tid);
    }
    closedir(d);
  }
  return open(tids);
}

ProfileSampler::~ProfileSampler() = default;

void ProfileSampler::drain() {
  for (auto& r : rings_) {
    auto* meta = static_cast<perf_event_mmap_page*>(r->base);
    auto* data = static_cast<const unsigned char*>(r->base) + meta->data_offset;
    std::uint64_t size = meta->data_size;
    std::uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
    std::uint64_t tail = meta->data_tail;
    std::vector<unsigned char> rec;
    while (tail + sizeof(perf_event_header) <= head) {
      perf_event_header h;
      for (std::size_t i = 0; i < sizeof h; ++i)
        reinterpret_cast<unsigned char*>(&h)[i] = data[(tail + i) % size];
      if (h.size < sizeof h || tail + h.size > head) break;
      rec.resize(h.size);
      for (std::size_t i = 0; i < h.size; ++i) rec[i] = data[(tail + i) % size];  // may wrap
      tail += h.size;
      const auto* body = reinterpret_cast<const std::uint64_t*>(rec.data() + sizeof h);
      std::size_t words = (h.size - sizeof h) / 8;
      if (h.type == PERF_RECORD_LOST && words >= 2) {
        lost_ += body[1];
      } else if (h.type == PERF_RECORD_SAMPLE && words >= 4) {
        // ip, pid|tid, time, nr, ips[nr]
        std::uint64_t time = body[2];
        if (time < begin_ns_) continue;  // before the window: never counted
        std::uint64_t nr = std::min<std::uint64_t>(body[3], words - 4);
        ProfileSample s;
        s.time_ns = time;
        s.tid = pid_t(body[1] >> 32);
        samples_.push_back(std::move(s));
        raw_ips_.emplace_back(body + 4, body + 4 + nr);
        if (nr == 0) raw_ips_.back().push_back(body[0]);
      }
    }
    __atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
  }
}

Profile ProfileSampler::finish(std::uint64_t end_ns, std::uint64_t bytes) {
  for (auto& r : rings_) ioctl(r->fd, PERF_EVENT_IOC_DISABLE, 0);
  drain();
  Symbolizer sym;
  std::vector<ProfileSample> in;
  for (std::size_t i = 0; i < samples_.size(); ++i) {
    if (samples_[i].time_ns < begin_ns_ || samples_[i].time_ns > end_ns) continue;
    ProfileSample s = samples_[i];
    s.frames = sym.frames(raw_ips_[i]);
    in.push_back(std::move(s));
  }
  FoldWindow w;
  w.begin_ns = begin_ns_;
  w.end_ns = end_ns;
  w.bytes = bytes;
  Profile p = fold_samples(in, w);
  p.event = event_;
  p.lost = lost_;
  p.kernel_chains = kernel_chains_;
  p.outside = samples_.size() - in.size();
  p.threads = int(rings_.size());
  std::string notes = note_;
  if (kernel_chains_ && !sym.kernel_note().empty())
    notes += (notes.empty() ? "" : "; ") + sym.kernel_note();
  p.note = notes;
  rings_.clear();
  return p;
}

}  // namespace nicperf
