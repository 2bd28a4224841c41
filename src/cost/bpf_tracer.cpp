#include "cost/bpf_tracer.hpp"

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include "nicperf/util/clock.hpp"

namespace nicperf {

IrqBucket BpfCounts::bucket(int slot) const {
  IrqBucket b;
  b.softirq[kNetRx] = at(slot, BpfClass::kRx);
  b.softirq[kNetTx] = at(slot, BpfClass::kTx);
  b.softirq[0] = at(slot, BpfClass::kSoftOther);  // the other vectors, summed (as JSON does)
  b.hardirq = at(slot, BpfClass::kHard);
  return b;
}

IrqBucket BpfCounts::tid_bucket(pid_t tid) const {
  IrqBucket b;
  auto get = [&](BpfClass c) {
    auto it = other_tids.find({tid, int(c)});
    return it == other_tids.end() ? IrqCharge{} : it->second;
  };
  b.softirq[kNetRx] = get(BpfClass::kRx);
  b.softirq[kNetTx] = get(BpfClass::kTx);
  b.softirq[0] = get(BpfClass::kSoftOther);
  b.hardirq = get(BpfClass::kHard);
  return b;
}

namespace {

IrqCharge minus(const IrqCharge& a, const IrqCharge& b) {
  return {a.ns - std::min(a.ns, b.ns), a.count - std::min(a.count, b.count)};
}

template <typename Key>
std::map<Key, IrqCharge> minus(const std::map<Key, IrqCharge>& a,
                               const std::map<Key, IrqCharge>& b) {
  std::map<Key, IrqCharge> out;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    IrqCharge d = it == b.end() ? v : minus(v, it->second);
    if (d.count || d.ns) out[k] = d;
  }
  return out;
}

std::uint64_t sub(std::uint64_t a, std::uint64_t b) { return a - std::min(a, b); }

NapiCount minus(const NapiCount& a, const NapiCount& b) {
  NapiCount d = a;
  d.polls = sub(a.polls, b.polls);
  d.packets = sub(a.packets, b.packets);
  d.budget_exhausted = sub(a.budget_exhausted, b.budget_exhausted);
  for (std::size_t i = 0; i < d.per_poll.size(); ++i)
    d.per_poll[i] = sub(a.per_poll[i], b.per_poll[i]);
  return d;
}

}  // namespace

BpfCounts BpfCounts::since(const BpfCounts& begin) const {
  BpfCounts d;
  for (std::size_t i = 0; i < slot_class.size(); ++i)
    d.slot_class[i] = minus(slot_class[i], begin.slot_class[i]);
  for (std::size_t v = 0; v < vectors.size(); ++v) {
    d.vectors[v] = minus(vectors[v], begin.vectors[v]);
    d.entries[v] = sub(entries[v], begin.entries[v]);
  }
  d.irqs = minus(irqs, begin.irqs);
  d.other_tids = minus(other_tids, begin.other_tids);
  for (const auto& [k, v] : napi) {
    auto it = begin.napi.find(k);
    NapiCount n = it == begin.napi.end() ? v : minus(v, it->second);
    if (n.polls) d.napi[k] = n;
  }
  for (const auto& [name, p] : progs) {
    auto it = begin.progs.find(name);
    BpfProgStats b = it == begin.progs.end() ? BpfProgStats{} : it->second;
    d.progs[name] = {sub(p.run_ns, b.run_ns), sub(p.runs, b.runs)};
  }
  return d;
}

std::optional<NapiOffsets> parse_napi_format(const std::string& format) {
  NapiOffsets o;
  bool dev = false, work = false, budget = false;
  std::istringstream in(format);
  std::string line;
  static const std::regex field(R"(field:([^;]*[ *])(\w+);\s*offset:(\d+);)");
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_search(line, m, field)) continue;
    auto off = std::uint32_t(std::stoul(m[3].str()));
    if (m[2] == "dev_name" && m[1].str().find("__data_loc") != std::string::npos) {
      o.dev_name = off;
      dev = true;
    } else if (m[2] == "work") {
      o.work = off;
      work = true;
    } else if (m[2] == "budget") {
      o.budget = off;
      budget = true;
    }
  }
  if (!dev || !work || !budget) return std::nullopt;
  return o;
}

int napi_bucket(int work) {
  if (work <= 0) return 0;
  int b = 1;
  for (int edge = 2; edge <= 128 && work >= edge; edge *= 2) ++b;
  return std::min(b, kNapiHistBuckets - 1);
}

std::optional<std::string> bpf_refusal() {
  if (const char* v = std::getenv("NICPERF_DISABLE_BPF"); v && *v && std::string(v) != "0")
    return "BPF refused: NICPERF_DISABLE_BPF=" + std::string(v);
#ifndef NICPERF_HAVE_BPF
#ifdef NICPERF_BPF_MISSING
  return std::string("built without BPF: ") + NICPERF_BPF_MISSING;
#else
  return std::string("built without BPF");
#endif
#else
  return std::nullopt;
#endif
}

}  // namespace nicperf
