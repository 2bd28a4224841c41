// Checks both traced cost levels (bpf and ring) must pass on one side's JSON cost.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>

namespace cost_checks {

using json = nlohmann::json;

inline std::uint64_t irq_sum(const json& share) {
  std::uint64_t ns = 0;
  for (const char* k : {"net_rx", "net_tx", "softirq_other", "hardirq"})
    ns += share[k]["ns"].get<std::uint64_t>();
  return ns;
}

// Traced softirq entries equal /proc/softirqs over the window (NET_TX 2, NET_RX 3; the two are
// read a few microseconds apart at each edge, so the events open there may differ), and the
// attributed time adds up to everything traced. Both sides run on this kernel (loopback).
// slack_ns: the bpf level reads its maps one after another, not at one instant, so an interval
// that completes between two reads at a window edge is in one map and not yet in the other.
inline void traced_side_adds_up(const json& k, std::uint64_t slack_ns = 0) {
  CHECK(k["lost_records"] == 0);
  for (int vec : {2, 3}) {
    CAPTURE(vec);
    double traced = k["softirq_entries_traced"][vec], proc = k["softirq_entries_proc"][vec];
    CHECK(std::abs(traced - proc) <= std::max(3.0, proc * 0.002));
  }
  CHECK(k["softirq_entries_traced"][3].get<double>() > 1000);
  const json& a = k["attribution"];
  std::uint64_t parts = irq_sum(a["streams"]) + irq_sum(a["rest_of_process"]) +
                        irq_sum(a["peer_process"]) + irq_sum(a["other"]);
  std::uint64_t total = irq_sum(k["traced_total"]);
  CHECK(std::max(parts, total) - std::min(parts, total) <= slack_ns);
  CHECK(a["peer_on_host"] == true);
}

}  // namespace cost_checks
