// The emulated NIC's counters as part of the results model: parsed once from nicperf-nicd's
// stats reply, then shown as the NIC table (text) and end.nic (JSON).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nicperf/util/error.hpp"

namespace nicperf::nic {

struct NicQueueStats {
  unsigned queue = 0;
  int tid = 0;
  std::uint64_t frames = 0, bytes = 0, wire_segments = 0, wire_bytes = 0, drops = 0, lost = 0;
  std::uint64_t interrupts = 0, backpressure = 0, segmented = 0, steered = 0;
  std::uint64_t ring_used_max = 0, residence_p50_ns = 0, residence_p99_ns = 0;
  double ring_used_mean = 0, busy_ns = 0;
  // Interrupt time traced on this queue thread: the receiving host's softirq run in the NIC's
  // interrupt context (negative when not traced, e.g. below --cost full).
  double host_softirq_ns = -1;
  nlohmann::json frames_per_interrupt, residence_ns;  // histograms as the daemon sent them

  NicQueueStats& operator+=(const NicQueueStats& o);  // sums; maxima for ring and residence
  double frames_per_irq() const;
};

struct NicDirection {
  std::string name;  // "cli_to_srv" or "srv_to_cli"
  std::vector<NicQueueStats> queues;
  NicQueueStats total() const;
};

struct NicStats {
  double interval_s = 0;
  std::vector<NicDirection> directions;
  nlohmann::json settings;  // from info, when the caller added it
};

Expected<NicStats> nic_stats_from_json(const nlohmann::json& reply);
nlohmann::json to_json(const NicStats& s);
std::string nic_table(const NicStats& s);

}  // namespace nicperf::nic
