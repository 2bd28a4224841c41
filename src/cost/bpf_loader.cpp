// BpfTracer's loaded half: the skeleton of src/cost/bpf/irq_cost.bpf.c, its maps read at the
// window's edges, and the programs' own run time. Without NICPERF_HAVE_BPF start() says why.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cost/bpf_tracer.hpp"
#include "nicperf/util/clock.hpp"

#ifdef NICPERF_HAVE_BPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

#include "cost/bpf/irq_cost.h"
#include "irq_cost.skel.h"
#endif

namespace nicperf {

#ifndef NICPERF_HAVE_BPF

struct BpfTracer::Impl {};
Expected<std::unique_ptr<BpfTracer>> BpfTracer::start() {
  return Error{Errc::kSystem, bpf_refusal().value_or("built without BPF")};
}
BpfTracer::BpfTracer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BpfTracer::~BpfTracer() = default;
void BpfTracer::register_threads(const std::vector<pid_t>&, const std::vector<pid_t>&) {}
void BpfTracer::set_peer(pid_t) {}
std::uint64_t BpfTracer::mark_start() { return monotonic_ns(); }
std::uint64_t BpfTracer::mark_end() { return monotonic_ns(); }
bool BpfTracer::napi_traced() const { return false; }
BpfCounts BpfTracer::read() const { return {}; }

#else

namespace {

static_assert(kBpfStreamSlots == NP_STREAM_SLOTS && kBpfSlots == NP_SLOT_COUNT &&
              kBpfClasses == NP_CLASS_COUNT && kSoftirqVectors == NP_VECTORS &&
              kNapiHistBuckets == NP_NAPI_BUCKETS);

int quiet_libbpf(libbpf_print_level, const char*, va_list) { return 0; }

std::optional<NapiOffsets> napi_offsets() {
  for (const char* root : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
    std::ifstream in(std::string(root) + "/events/napi/napi_poll/format");
    if (!in) continue;
    std::stringstream s;
    s << in.rdbuf();
    return parse_napi_format(s.str());
  }
  return std::nullopt;
}

std::string load_error(const char* step, int err) {
  std::string why = std::string(step) + ": " + std::strerror(err);
  if (err == EPERM || err == EACCES) why += " (needs root or CAP_BPF and CAP_PERFMON)";
  return "BPF refused: " + why;
}

}  // namespace

// How napi:napi_poll is traced: the raw tracepoint, its device's name found through the kernel's
// BTF (CO-RE), or where that cannot load, the classic tracepoint with tracefs's field offsets.
// NICPERF_BPF_NAPI=tracepoint forces the classic one (the tests run both).
enum class NapiProg { kNone, kRaw, kClassic };

bool raw_napi_possible() {
  const char* v = std::getenv("NICPERF_BPF_NAPI");
  if (v && std::string(v) == "tracepoint") return false;
  return access("/sys/kernel/btf/vmlinux", R_OK) == 0;
}

struct BpfTracer::Impl {
  irq_cost* skel = nullptr;
  int cpus = 0;
  int stats_fd = -1;  // BPF_ENABLE_STATS, held while the window is open
  int streams = 0;
  NapiProg napi = NapiProg::kNone;
  ~Impl() {
    if (stats_fd >= 0) close(stats_fd);
    if (skel) irq_cost::destroy(skel);
  }
};

Expected<std::unique_ptr<BpfTracer>> BpfTracer::start() {
  if (auto why = bpf_refusal()) return Error{Errc::kSystem, *why};
  libbpf_set_print(quiet_libbpf);
  auto impl = std::make_unique<Impl>();
  impl->cpus = libbpf_num_possible_cpus();
  if (impl->cpus <= 0) return Error{Errc::kSystem, "BPF refused: cannot count the CPUs"};
  int err = 0;
  for (NapiProg napi : {NapiProg::kRaw, NapiProg::kClassic}) {
    if (napi == NapiProg::kRaw && !raw_napi_possible()) continue;
    if (impl->skel) irq_cost::destroy(impl->skel);
    impl->skel = irq_cost::open();
    if (!impl->skel) return Error{Errc::kSystem, load_error("open", errno)};
    auto off = napi == NapiProg::kClassic ? napi_offsets() : std::nullopt;
    if (off) {
      impl->skel->rodata->napi_dev_off = off->dev_name;
      impl->skel->rodata->napi_work_off = off->work;
      impl->skel->rodata->napi_budget_off = off->budget;
    }
    impl->napi = napi == NapiProg::kRaw || off ? napi : NapiProg::kNone;
    bpf_program__set_autoload(impl->skel->progs.napi_poll_raw, impl->napi == NapiProg::kRaw);
    bpf_program__set_autoload(impl->skel->progs.napi_poll, impl->napi == NapiProg::kClassic);
    err = irq_cost::load(impl->skel);
    if (!err) break;  // a raw_tp load that failed (no CO-RE match) tries the classic one
  }
  if (err) return Error{Errc::kSystem, load_error("load", -err)};
  impl->skel->bss->self_tgid = std::uint32_t(getpid());
  if ((err = irq_cost::attach(impl->skel))) return Error{Errc::kSystem, load_error("attach", -err)};
  return std::unique_ptr<BpfTracer>(new BpfTracer(std::move(impl)));
}

BpfTracer::BpfTracer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BpfTracer::~BpfTracer() = default;

bool BpfTracer::napi_traced() const { return impl_->napi != NapiProg::kNone; }

void BpfTracer::register_threads(const std::vector<pid_t>& streams,
                                 const std::vector<pid_t>& foreign) {
  int fd = bpf_map__fd(impl_->skel->maps.tid_slot);
  impl_->streams = std::min(int(streams.size()), kBpfStreamSlots);
  for (int i = 0; i < impl_->streams; ++i) {
    auto tid = std::uint32_t(streams[std::size_t(i)]), slot = std::uint32_t(i);
    bpf_map_update_elem(fd, &tid, &slot, BPF_ANY);
  }
  auto other = std::uint32_t(NP_SLOT_OTHER);
  for (pid_t t : foreign) {
    auto tid = std::uint32_t(t);
    bpf_map_update_elem(fd, &tid, &other, BPF_NOEXIST);
  }
  // The programs' per-CPU slot caches start again.
  impl_->skel->data->slot_gen = impl_->skel->data->slot_gen + 1;
}

void BpfTracer::set_peer(pid_t tgid) {
  impl_->skel->bss->peer_tgid = std::uint32_t(tgid);
  impl_->skel->data->slot_gen = impl_->skel->data->slot_gen + 1;
}

// NICPERF_BPF_STATS=1 turns on the kernel's BPF run-time statistics for the window, for the
// "collector:" figures. They are off by default because they cost as much as the programs: the
// kernel then reads sched_clock twice around every BPF program run on the host, and on a KVM
// guest that is a paravirtual clock read (pvclock_clocksource_read_nowd was 13.8% of the
// sender's --profile samples in a 64-byte UDP test with them on, absent with them off).
static bool bpf_stats_wanted() {
  const char* v = std::getenv("NICPERF_BPF_STATS");
  return v && std::string(v) == "1";
}

std::uint64_t BpfTracer::mark_start() {
  if (impl_->stats_fd < 0 && bpf_stats_wanted())
    impl_->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
  start_ = read();
  return monotonic_ns();
}

std::uint64_t BpfTracer::mark_end() {
  std::uint64_t now = monotonic_ns();
  window_ = read().since(start_);
  if (impl_->stats_fd >= 0) close(impl_->stats_fd);
  impl_->stats_fd = -1;
  return now;
}

namespace {

template <typename Key, typename Fn>
void each_key(int fd, Fn&& fn) {
  Key key{}, next{};
  Key* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    key = next;
    prev = &key;
    fn(key);
  }
}

IrqCharge charge_sum(const std::vector<np_charge>& v, std::uint64_t* entries = nullptr) {
  IrqCharge c;
  for (const auto& x : v) {
    c.ns += x.ns;
    c.count += x.count;
    if (entries) *entries += x.entries;
  }
  return c;
}

void add_poll_counts(NapiCount& into, const np_napi_val& v) {
  into.polls += v.polls;
  into.packets += v.packets;
  into.budget_exhausted += v.exhausted;
  for (int b = 0; b < kNapiHistBuckets; ++b) into.per_poll[std::size_t(b)] += v.hist[b];
}

}  // namespace

// The raw_tp program's instances, summed per (device, CPU): a device has one per queue.
void BpfTracer::read_napi_instances(BpfCounts& out) const {
  std::vector<np_napi_inst> nv(std::size_t(impl_->cpus));
  int fd = bpf_map__fd(impl_->skel->maps.napi_inst);
  each_key<std::uint64_t>(fd, [&](std::uint64_t k) {
    if (bpf_map_lookup_elem(fd, &k, nv.data()) != 0) return;
    for (int cpu = 0; cpu < impl_->cpus; ++cpu) {
      const np_napi_inst& v = nv[std::size_t(cpu)];
      if (!v.v.polls) continue;
      std::string dev(v.dev, strnlen(v.dev, sizeof v.dev));
      NapiCount& n = out.napi[{dev, cpu}];
      n.dev = dev;
      n.cpu = cpu;
      add_poll_counts(n, v.v);
    }
  });
}

BpfCounts BpfTracer::read() const {
  BpfCounts out;
  const auto& maps = impl_->skel->maps;
  std::vector<np_charge> vals(std::size_t(impl_->cpus));
  int fd = bpf_map__fd(maps.slot_class);
  auto read_slot = [&](int slot) {
    for (int cls = 0; cls < kBpfClasses; ++cls) {
      auto key = std::uint32_t(slot * kBpfClasses + cls);
      if (bpf_map_lookup_elem(fd, &key, vals.data()) == 0) out.slot_class[key] = charge_sum(vals);
    }
  };
  // Only the slots in use: the stream slots past this test's streams stay empty.
  for (int s = 0; s < impl_->streams; ++s) read_slot(s);
  for (int s = kBpfStreamSlots; s < kBpfSlots; ++s) read_slot(s);
  fd = bpf_map__fd(maps.vectors);
  for (std::uint32_t v = 0; v < kSoftirqVectors; ++v)
    if (bpf_map_lookup_elem(fd, &v, vals.data()) == 0)
      out.vectors[v] = charge_sum(vals, &out.entries[v]);
  fd = bpf_map__fd(maps.irqs);
  each_key<std::uint32_t>(fd, [&](std::uint32_t irq) {
    if (bpf_map_lookup_elem(fd, &irq, vals.data()) == 0) out.irqs[irq] = charge_sum(vals);
  });
  fd = bpf_map__fd(maps.other_tids);
  each_key<np_tid_key>(fd, [&](const np_tid_key& k) {
    if (bpf_map_lookup_elem(fd, &k, vals.data()) == 0)
      out.other_tids[{pid_t(k.tid), int(k.cls)}] = charge_sum(vals);
  });
  if (impl_->napi == NapiProg::kRaw) read_napi_instances(out);
  if (impl_->napi == NapiProg::kClassic) {
    std::vector<np_napi_val> nv(std::size_t(impl_->cpus));
    fd = bpf_map__fd(maps.napi);
    each_key<np_napi_key>(fd, [&](const np_napi_key& k) {
      if (bpf_map_lookup_elem(fd, &k, nv.data()) != 0) return;
      std::string dev(k.dev, strnlen(k.dev, sizeof k.dev));
      for (int cpu = 0; cpu < impl_->cpus; ++cpu) {
        const np_napi_val& v = nv[std::size_t(cpu)];
        if (!v.polls) continue;
        NapiCount n{dev, cpu, 0, 0, 0, {}};
        add_poll_counts(n, v);
        out.napi[{dev, cpu}] = n;
      }
    });
  }
  // Without the statistics on, run_time_ns and run_cnt do not move: no figure rather than 0.
  if (impl_->stats_fd < 0) return out;
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, impl_->skel->obj) {
    int pfd = bpf_program__fd(prog);
    if (pfd < 0) continue;
    bpf_prog_info info{};
    std::uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(pfd, &info, &len) == 0)
      out.progs[bpf_program__name(prog)] = {info.run_time_ns, info.run_cnt};
  }
  return out;
}

#endif

}  // namespace nicperf
