// BpfTracer's loaded half: the skeleton of src/cost/bpf/irq_cost.bpf.c, its maps read at the
// window's edges, and the programs' own run time. Without NICPERF_HAVE_BPF start() says why.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <span>
#include <sstream>

#include "cost/bpf_tracer.hpp"
#include "nicperf/util/clock.hpp"

#ifdef NICPERF_HAVE_BPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

#include "cost/bpf/irq_cost.h"
#include "cost/bpf_impl.hpp"
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
BpfShareOffer BpfTracer::offer() const { return {}; }
Expected<std::unique_ptr<BpfTracer>> BpfTracer::join(const BpfShareOffer&, const BpfTracer&) {
  return Error{Errc::kSystem, "built without BPF"};
}

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

bool raw_napi_possible() {
  const char* v = std::getenv("NICPERF_BPF_NAPI");
  if (v && std::string(v) == "tracepoint") return false;
  return access("/sys/kernel/btf/vmlinux", R_OK) == 0;
}

void name_fds(irq_cost* skel, std::map<std::string, int>& out) {
  bpf_map* m = nullptr;
  bpf_object__for_each_map(m, skel->obj) {
    if (bpf_map__fd(m) >= 0) out[std::string("map:") + bpf_map__name(m)] = bpf_map__fd(m);
  }
  const bpf_object_skeleton* s = skel->skeleton;
  for (int i = 0; i < s->prog_cnt; ++i) {
    const bpf_prog_skeleton& p = s->progs[i];
    if (bpf_program__fd(*p.prog) >= 0)
      out[std::string("prog:") + p.name] = bpf_program__fd(*p.prog);
    if (p.link && *p.link) out[std::string("link:") + p.name] = bpf_link__fd(*p.link);
  }
}

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
  impl->bss = impl->skel->bss;
  impl->data = impl->skel->data;
  impl->bss->self_tgid = std::uint32_t(getpid());
  if ((err = irq_cost::attach(impl->skel))) return Error{Errc::kSystem, load_error("attach", -err)};
  name_fds(impl->skel, impl->fds);
  return std::unique_ptr<BpfTracer>(new BpfTracer(std::move(impl)));
}

BpfTracer::BpfTracer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BpfTracer::~BpfTracer() = default;

bool BpfTracer::napi_traced() const { return impl_->napi != NapiProg::kNone; }

void BpfTracer::register_threads(const std::vector<pid_t>& streams,
                                 const std::vector<pid_t>& foreign) {
  int fd = impl_->map("tid_slot");
  int slots = std::min(int(streams.size()), kBpfStreamSlots);
  for (int i = 0; i < slots; ++i) {
    auto tid = std::uint32_t(streams[std::size_t(i)]), slot = std::uint32_t(impl_->slot_base + i);
    bpf_map_update_elem(fd, &tid, &slot, BPF_ANY);
  }
  auto other = std::uint32_t(NP_SLOT_OTHER);
  for (pid_t t : foreign) {
    auto tid = std::uint32_t(t);
    bpf_map_update_elem(fd, &tid, &other, BPF_NOEXIST);
  }
  next_generation();
}

// The programs' per-CPU slot caches start again. Atomic: a joined peer bumps it too.
void BpfTracer::next_generation() {
  __atomic_fetch_add(&impl_->data->slot_gen, 1u, __ATOMIC_SEQ_CST);
}

// A joined set's peer is its owner, whose threads are already its self_tgid.
void BpfTracer::set_peer(pid_t tgid) {
  if (!impl_->skel) return;
  impl_->bss->peer_tgid = std::uint32_t(tgid);
  next_generation();
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

IrqCharge charge_sum(std::span<const np_charge> v, std::uint64_t* entries = nullptr) {
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

// Every (slot, class) entry in one batch where the kernel offers it, one lookup each where not.
std::vector<IrqCharge> read_slot_map(int fd, int cpus) {
  constexpr std::uint32_t n = NP_MAP_SLOTS * NP_CLASS_COUNT;
  std::vector<IrqCharge> raw(n);
  std::vector<std::uint32_t> keys(n);
  std::vector<np_charge> vals(std::size_t(n) * std::size_t(cpus));
  std::uint32_t count = n, out_batch = 0;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  int err = bpf_map_lookup_batch(fd, nullptr, &out_batch, keys.data(), vals.data(), &count, &opts);
  auto per_cpu = std::size_t(cpus);
  if ((err == 0 || errno == ENOENT) && count == n) {
    for (std::uint32_t i = 0; i < n; ++i)
      if (keys[i] < n) raw[keys[i]] = charge_sum({vals.data() + i * per_cpu, per_cpu});
    return raw;
  }
  for (std::uint32_t key = 0; key < n; ++key)
    if (bpf_map_lookup_elem(fd, &key, vals.data()) == 0)
      raw[key] = charge_sum({vals.data(), per_cpu});
  return raw;
}

}  // namespace

// The map's slots seen from this side: its own stream slots, the rest of its process, and the
// peer (the other side's stream slots and the rest of its process) when both share one set.
void BpfTracer::read_slots(BpfCounts& out) const {
  auto raw = read_slot_map(impl_->map("slot_class"), impl_->cpus);
  auto at = [&](int slot, int cls) -> const IrqCharge& {
    return raw[std::size_t(slot * kBpfClasses + cls)];
  };
  bool joined = impl_->skel == nullptr;
  int own = joined ? NP_GUEST_BASE : 0, other = joined ? 0 : NP_GUEST_BASE;
  int rest = joined ? NP_SLOT_PEER : NP_SLOT_REST, peer = joined ? NP_SLOT_REST : NP_SLOT_PEER;
  for (int cls = 0; cls < kBpfClasses; ++cls) {
    auto view = [&](int slot) -> IrqCharge& {
      return out.slot_class[std::size_t(slot * kBpfClasses + cls)];
    };
    for (int s = 0; s < kBpfStreamSlots; ++s) view(s) = at(own + s, cls);
    view(NP_SLOT_REST) = at(rest, cls);
    view(NP_SLOT_PEER) = at(peer, cls);
    for (int s = 0; s < kBpfStreamSlots; ++s) view(NP_SLOT_PEER) += at(other + s, cls);
    for (int s = NP_SLOT_IDLE; s < NP_SLOT_COUNT; ++s) view(s) = at(s, cls);
  }
}

// The raw_tp program's instances, summed per (device, CPU): a device has one per queue.
void BpfTracer::read_napi_instances(BpfCounts& out) const {
  std::vector<np_napi_inst> nv(std::size_t(impl_->cpus));
  int fd = impl_->map("napi_inst");
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
  std::vector<np_charge> vals(std::size_t(impl_->cpus));
  read_slots(out);
  int fd = impl_->map("vectors");
  for (std::uint32_t v = 0; v < kSoftirqVectors; ++v)
    if (bpf_map_lookup_elem(fd, &v, vals.data()) == 0)
      out.vectors[v] = charge_sum(vals, &out.entries[v]);
  fd = impl_->map("irqs");
  each_key<std::uint32_t>(fd, [&](std::uint32_t irq) {
    if (bpf_map_lookup_elem(fd, &irq, vals.data()) == 0) out.irqs[irq] = charge_sum(vals);
  });
  fd = impl_->map("other_tids");
  each_key<np_tid_key>(fd, [&](const np_tid_key& k) {
    if (bpf_map_lookup_elem(fd, &k, vals.data()) == 0)
      out.other_tids[{pid_t(k.tid), int(k.cls)}] = charge_sum(vals);
  });
  if (impl_->napi == NapiProg::kRaw) read_napi_instances(out);
  if (impl_->napi == NapiProg::kClassic) {
    std::vector<np_napi_val> nv(std::size_t(impl_->cpus));
    fd = impl_->map("napi");
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
  for (const auto& [key, pfd] : impl_->fds) {
    if (key.rfind("prog:", 0) != 0) continue;
    bpf_prog_info info{};
    std::uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(pfd, &info, &len) == 0)
      out.progs[key.substr(5)] = {info.run_time_ns, info.run_cnt};
  }
  return out;
}

#endif

}  // namespace nicperf
