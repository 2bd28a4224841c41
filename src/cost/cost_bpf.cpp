// The bpf level's figures: the window's map diffs (BpfTracer) laid out as the SideCost the ring
// level fills, so the report, the JSON and the truth checks read both levels alike.
#include <algorithm>
#include <cstdio>

#include "cost/bpf_tracer.hpp"
#include "nicperf/cost/cost.hpp"

namespace nicperf {
namespace {

IrqShare share_of(const IrqBucket& b) {
  IrqShare s;
  s += b;
  return s;
}

}  // namespace

void CostCollector::attribute_bpf(const CostInputs& in, SideCost& c) const {
  const BpfCounts& w = bpf_->window();
  c.traced = true;
  c.bpf_programs = bpf_programs_.empty() ? "own" : bpf_programs_;
  if (crosscheck_) {
    const IrqAccounting& acc = crosscheck_->accounting();
    c.crosscheck_ring.emplace();
    *c.crosscheck_ring += acc.total();
    c.crosscheck_ring_streams.emplace();
    c.crosscheck_ring_lost = acc.lost_records();
    for (const auto& a : streams_)
      if (auto it = acc.by_tid().find(a.tid); it != acc.by_tid().end())
        *c.crosscheck_ring_streams += it->second;
  }
  c.peer_on_host = on_this_kernel(in.peer);
  for (std::size_t i = 0; i < streams_.size() && i < c.per_stream.size(); ++i) {
    IrqBucket b = int(i) < kBpfStreamSlots ? w.bucket(int(i)) : IrqBucket{};
    c.per_stream[i].irq += b;
    c.streams_irq += b;
  }
  c.process_irq = share_of(w.bucket(int(BpfSlot::kRest)));
  IrqBucket peer = w.bucket(int(BpfSlot::kPeer));
  if (c.peer_on_host)
    c.peer_irq = share_of(peer);
  else
    c.other_irq += peer;  // the kernel knew no peer: nothing lands here
  for (BpfSlot s : {BpfSlot::kIdle, BpfSlot::kKsoftirqd, BpfSlot::kNapi, BpfSlot::kOther})
    c.other_irq += w.bucket(int(s));
  for (int v = 0; v < kSoftirqVectors; ++v) {
    auto i = std::size_t(v);
    c.traced_total.softirq[i] = w.vectors[i];
    c.traced_softirqs[i] = w.entries[i];
    c.proc_softirqs[i] = proc_end_[i] - proc_begin_[i];
  }
  for (int slot = 0; slot < kBpfSlots; ++slot)
    c.traced_total.hardirq += w.at(slot, BpfClass::kHard);
  auto names = read_irq_names();
  for (const auto& [irq, charge] : w.irqs) {
    auto n = names.find(irq);
    c.irqs.emplace_back(std::to_string(irq) + ":" + (n == names.end() ? "?" : n->second), charge);
  }
  for (const auto& [key, n] : w.napi) c.napi.push_back(n);
  BpfRunCost run;
  for (const auto& [name, p] : w.progs) {
    run.run_ns += p.run_ns;
    run.runs += p.runs;
  }
  if (!w.progs.empty()) c.bpf_run = run;
}

std::optional<BpfShareOffer> CostCollector::bpf_offer(const HostIdentity& peer) const {
  if (!bpf_ || level_ != CostLevel::kBpf || !on_this_kernel(peer)) return std::nullopt;
  BpfShareOffer o = bpf_->offer();
  if (o.fds.empty()) return std::nullopt;
  return o;
}

void CostCollector::join_bpf(const BpfShareOffer& offer, const HostIdentity& peer) {
  if (!bpf_ || level_ != CostLevel::kBpf) return;
  if (!on_this_kernel(peer) || offer.pid != peer.pid) {
    bpf_programs_ = "own: the set offered is not the peer's on this kernel";
    return;
  }
  auto joined = BpfTracer::join(offer, *bpf_);
  if (!joined) {
    bpf_programs_ = "own: the peer's set could not be joined (" + joined.error().message + ")";
    return;
  }
  bpf_ = std::move(*joined);  // this side's own set is detached and freed here
  bpf_programs_ = "the peer's (pid " + std::to_string(offer.pid) +
                  "): one set on this kernel serves both sides";
}

std::string bpf_run_text(const SideCost& c) {
  if (!c.bpf_run) return "";
  double per_s = c.wall_s > 0 ? double(c.bpf_run->runs) / c.wall_s : 0;
  double pct = c.wall_s > 0 ? 100.0 * double(c.bpf_run->run_ns) / (c.wall_s * 1e9) : 0;
  char buf[160];
  std::snprintf(buf, sizeof buf,
                "collector: %.0f ns per event, %.0f events/s, %.2f%% of one CPU (in-kernel)",
                c.bpf_run->ns_per_event(), per_s, pct);
  return buf;
}

std::optional<IrqBucket> CostCollector::traced_bpf(pid_t tid) const {
  for (std::size_t i = 0; i < streams_.size() && int(i) < kBpfStreamSlots; ++i)
    if (streams_[i].tid == tid) return bpf_->window().bucket(int(i));
  return bpf_->window().tid_bucket(tid);
}

}  // namespace nicperf
