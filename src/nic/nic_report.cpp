#include "nicperf/nic/nic_report.hpp"

#include <algorithm>
#include <cstdio>

#include "nicperf/util/units.hpp"

namespace nicperf::nic {

NicQueueStats& NicQueueStats::operator+=(const NicQueueStats& o) {
  for (auto [a, b] : {std::pair{&frames, o.frames},
                      {&bytes, o.bytes},
                      {&wire_segments, o.wire_segments},
                      {&wire_bytes, o.wire_bytes},
                      {&drops, o.drops},
                      {&lost, o.lost},
                      {&interrupts, o.interrupts},
                      {&backpressure, o.backpressure},
                      {&segmented, o.segmented},
                      {&steered, o.steered}}) {
    *a += b;
  }
  ring_used_max = std::max(ring_used_max, o.ring_used_max);
  ring_used_mean = std::max(ring_used_mean, o.ring_used_mean);
  residence_p50_ns = std::max(residence_p50_ns, o.residence_p50_ns);
  residence_p99_ns = std::max(residence_p99_ns, o.residence_p99_ns);
  busy_ns += o.busy_ns;
  if (o.host_softirq_ns >= 0) host_softirq_ns = std::max(0.0, host_softirq_ns) + o.host_softirq_ns;
  return *this;
}

double NicQueueStats::frames_per_irq() const {
  return interrupts == 0 ? 0.0 : static_cast<double>(frames) / static_cast<double>(interrupts);
}

NicQueueStats NicDirection::total() const {
  NicQueueStats t;
  for (const auto& q : queues) t += q;
  return t;
}

namespace {

NicQueueStats queue_from(const nlohmann::json& q) {
  NicQueueStats s;
  s.queue = q.at("queue").get<unsigned>();
  s.tid = q.at("tid").get<int>();
  for (auto [field, key] : {std::pair{&s.frames, "frames"},
                            {&s.bytes, "bytes"},
                            {&s.wire_segments, "wire_segments"},
                            {&s.wire_bytes, "wire_bytes"},
                            {&s.drops, "drops"},
                            {&s.lost, "lost"},
                            {&s.interrupts, "interrupts"},
                            {&s.backpressure, "backpressure"},
                            {&s.segmented, "segmented"},
                            {&s.steered, "steered"},
                            {&s.ring_used_max, "ring_used_max"}}) {
    *field = q.at(key).get<std::uint64_t>();
  }
  s.ring_used_mean = q.at("ring_used_mean").get<double>();
  s.busy_ns = q.at("busy_ns").get<double>();
  s.frames_per_interrupt = q.at("frames_per_interrupt");
  s.residence_ns = q.at("residence_ns");
  s.residence_p50_ns = s.residence_ns.at("p50").get<std::uint64_t>();
  s.residence_p99_ns = s.residence_ns.at("p99").get<std::uint64_t>();
  return s;
}

nlohmann::json queue_json(const NicQueueStats& q) {
  return {
      {"queue", q.queue},
      {"tid", q.tid},
      {"frames", q.frames},
      {"bytes", q.bytes},
      {"wire_segments", q.wire_segments},
      {"wire_bytes", q.wire_bytes},
      {"interrupts", q.interrupts},
      {"frames_per_interrupt_mean", q.frames_per_irq()},
      {"drops", q.drops},
      {"lost", q.lost},
      {"backpressure", q.backpressure},
      {"segmented", q.segmented},
      {"steered", q.steered},
      {"ring_used_max", q.ring_used_max},
      {"ring_used_mean", q.ring_used_mean},
      {"busy_seconds", q.busy_ns / 1e9},
      {"host_softirq_seconds",
       q.host_softirq_ns >= 0 ? nlohmann::json(q.host_softirq_ns / 1e9) : nlohmann::json()},
      {"nic_own_seconds", q.host_softirq_ns >= 0
                              ? nlohmann::json(std::max(0.0, q.busy_ns - q.host_softirq_ns) / 1e9)
                              : nlohmann::json()},
      {"frames_per_interrupt", q.frames_per_interrupt},
      {"residence_ns", q.residence_ns}};
}

std::string row(const std::string& dir, const std::string& queue, const NicQueueStats& q,
                double interval_s) {
  char line[320];
  double gb = static_cast<double>(q.bytes) / 1e9;
  std::snprintf(
      line, sizeof line,
      "%-10s %5s %11llu %9s %11llu %9llu %8.1f %9s %6llu/%-6.0f %7.1f/%-7.1f %6llu %6.1f%% "
      "%10s\n",
      dir.c_str(), queue.c_str(), static_cast<unsigned long long>(q.frames), fixed(gb, 3).c_str(),
      static_cast<unsigned long long>(q.wire_segments),
      static_cast<unsigned long long>(q.interrupts), q.frames_per_irq(),
      gb > 0 ? fixed(static_cast<double>(q.interrupts) / gb, 0).c_str() : "-",
      static_cast<unsigned long long>(q.ring_used_max), q.ring_used_mean,
      static_cast<double>(q.residence_p50_ns) / 1e3, static_cast<double>(q.residence_p99_ns) / 1e3,
      static_cast<unsigned long long>(q.drops + q.lost),
      interval_s > 0 ? q.busy_ns / 1e9 / interval_s * 100 : 0.0,
      q.host_softirq_ns >= 0 && interval_s > 0
          ? (fixed(q.host_softirq_ns / 1e9 / interval_s * 100, 1) + "%").c_str()
          : "-");
  return line;
}

}  // namespace

Expected<NicStats> nic_stats_from_json(const nlohmann::json& reply) {
  try {
    NicStats s;
    s.interval_s = reply.at("interval_ns").get<double>() / 1e9;
    for (const char* name : {"cli_to_srv", "srv_to_cli"}) {
      NicDirection d{name, {}};
      for (const auto& q : reply.at("directions").at(name)) d.queues.push_back(queue_from(q));
      s.directions.push_back(std::move(d));
    }
    if (reply.contains("settings")) s.settings = reply["settings"];
    return s;
  } catch (const nlohmann::json::exception& e) {
    return Error{Errc::kProtocol, std::string("nicperf-nicd's stats are malformed: ") + e.what()};
  }
}

nlohmann::json to_json(const NicStats& s) {
  nlohmann::json dirs = nlohmann::json::object();
  for (const auto& d : s.directions) {
    nlohmann::json queues = nlohmann::json::array();
    for (const auto& q : d.queues) queues.push_back(queue_json(q));
    nlohmann::json total = queue_json(d.total());
    total.erase("queue");
    total.erase("tid");
    total.erase("frames_per_interrupt");
    total.erase("residence_ns");
    dirs[d.name] = {{"queues", queues}, {"total", total}};
  }
  nlohmann::json j = {{"interval_seconds", s.interval_s}, {"directions", dirs}};
  if (!s.settings.is_null()) j["settings"] = s.settings;
  return j;
}

std::string nic_table(const NicStats& s) {
  std::string out = "NIC (nicperf-nicd) over " + fixed(s.interval_s, 2) + " s";
  if (s.settings.is_object()) {
    out += ": rx-usecs " + s.settings.value("rx-usecs", nlohmann::json()).dump() + ", rx-frames " +
           s.settings.value("rx-frames", nlohmann::json()).dump() +
           (s.settings.value("adaptive", false) ? " (adaptive)" : "") + ", tso " +
           (s.settings.value("tso", true) ? "on" : "off") + ", gro " +
           (s.settings.value("gro", true) ? "on" : "off");
  }
  out +=
      "\ndirection  queue      frames    GBytes   wire segs      irqs frames/irq  irqs/GB "
      "ring max/mean residence us p50/p99  drops  busy  host softirq\n";
  for (const auto& d : s.directions) {
    std::string name = d.name == "cli_to_srv" ? "cli->srv" : "srv->cli";
    for (const auto& q : d.queues) out += row(name, std::to_string(q.queue), q, s.interval_s);
    if (d.queues.size() > 1) out += row(name, "all", d.total(), s.interval_s);
  }
  out +=
      "busy: the queue thread's CPU time (the NIC's cost, charged to neither host); host softirq: "
      "the part of it that was the receiving host's interrupt work, run in the NIC's interrupt "
      "context (IFF_NAPI), as a real host runs it on the CPU the IRQ went to\n";
  return out;
}

}  // namespace nicperf::nic
