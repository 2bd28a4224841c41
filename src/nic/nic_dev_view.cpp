// Two snapshots of a device make its view over the window; the view travels in the results
// exchange as JSON and is checked like any of the peer's input.
#include <algorithm>
#include <map>
#include <set>

#include "nicperf/nic/nic_dev.hpp"

namespace nicperf::nic {

namespace {

using Json = nlohmann::json;
using Counters = std::vector<std::pair<std::string, std::uint64_t>>;

constexpr std::size_t kMaxItems = 4096;  // the peer's lists are bounded like its streams

// The counters every driver keeps: shown even when they did not move, so a zero is a zero.
const std::set<std::string> kAlwaysShown = {"rx_packets", "tx_packets", "rx_bytes",
                                            "tx_bytes",   "rx_errors",  "tx_errors",
                                            "rx_dropped", "tx_dropped", "rx_missed_errors"};

std::uint64_t delta(std::uint64_t a, std::uint64_t b) { return b >= a ? b - a : 0; }

std::map<std::string, std::uint64_t> as_map(const Counters& c) { return {c.begin(), c.end()}; }

Counters link_delta(const Counters& a, const Counters& b) {
  auto before = as_map(a);
  Counters out;
  for (const auto& [name, v] : b) {
    std::uint64_t d = delta(before.count(name) ? before[name] : v, v);
    if (d || kAlwaysShown.count(name)) out.emplace_back(name, d);
  }
  return out;
}

std::vector<DevCounterGroup> driver_delta(const Counters& a, const Counters& b) {
  auto before = as_map(a);
  std::vector<DevCounterGroup> groups;
  for (const auto& [name, v] : b) {
    if (!before.count(name)) continue;  // a counter that appeared mid-window has no start
    std::uint64_t d = delta(before[name], v);
    if (!d) continue;
    CounterName cn = split_counter(name);
    std::string g = cn.queue ? cn.dir + " " + std::to_string(*cn.queue) : "device";
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const DevCounterGroup& x) { return x.group == g; });
    if (it == groups.end()) it = groups.insert(groups.end(), DevCounterGroup{g, {}});
    it->counters.emplace_back(cn.queue ? cn.field : name, d);
  }
  std::stable_sort(groups.begin(), groups.end(), [](const auto& x, const auto& y) {
    return (x.group == "device") > (y.group == "device");
  });
  return groups;
}

std::vector<DevVector> vector_delta(const IrqTable& a, const IrqTable& b) {
  std::vector<DevVector> out;
  for (const auto& row : b.rows) {
    auto was = std::find_if(a.rows.begin(), a.rows.end(),
                            [&](const IrqRow& r) { return r.irq == row.irq; });
    DevVector v{row.irq, row.name, std::nullopt, {}, std::nullopt};
    if (auto name = parse_vector_name(row.name)) v.queue = name->queue;
    for (std::size_t i = 0; i < row.per_cpu.size() && i < b.cpus.size(); ++i) {
      std::uint64_t start = was != a.rows.end() && i < was->per_cpu.size() ? was->per_cpu[i] : 0;
      if (std::uint64_t d = delta(start, row.per_cpu[i])) v.per_cpu.emplace_back(b.cpus[i], d);
    }
    if (!v.per_cpu.empty()) out.push_back(std::move(v));
  }
  return out;
}

// Per queue, the counters that moved; a queue that appeared within the window counts from 0.
std::vector<DevCounterGroup> queue_delta(const std::vector<DevCounterGroup>& a,
                                         const std::vector<DevCounterGroup>& b) {
  std::vector<DevCounterGroup> out;
  for (const auto& g : b) {
    auto was = std::find_if(a.begin(), a.end(), [&](const auto& x) { return x.group == g.group; });
    auto before = was != a.end() ? as_map(was->counters) : std::map<std::string, std::uint64_t>{};
    DevCounterGroup d{g.group, {}};
    for (const auto& [name, n] : g.counters)
      if (std::uint64_t m = delta(before.count(name) ? before[name] : 0, n))
        d.counters.emplace_back(name, m);
    if (!d.counters.empty()) out.push_back(std::move(d));
  }
  return out;
}

Json counters_json(const Counters& c) {
  Json j = Json::object();
  for (const auto& [k, v] : c) j[k] = v;
  return j;
}

Counters counters_from(const Json& j) {
  if (!j.is_object() || j.size() > kMaxItems) throw std::out_of_range("counter list");
  Counters c;
  for (const auto& [k, v] : j.items()) c.emplace_back(k.substr(0, 64), v.get<std::uint64_t>());
  return c;
}

}  // namespace

std::uint64_t DevVector::total() const {
  std::uint64_t t = 0;
  for (const auto& [cpu, n] : per_cpu) t += n;
  return t;
}

NicDevView device_delta(const DevSnapshot& a, const DevSnapshot& b) {
  NicDevView v;
  v.device = b.device;
  v.loopback = b.device == "lo";
  if (v.loopback) return v;
  v.seconds = std::max(0.0, b.time_s - a.time_s);
  v.identity = b.identity;
  v.config = a.config;  // as the window opened: what the figures were taken under
  v.link = link_delta(a.link, b.link);
  v.driver = driver_delta(a.driver, b.driver);
  v.driver_note = b.driver_note;
  v.queues = queue_delta(a.queues, b.queues);
  v.queues_note = b.queues_note;
  v.vectors = vector_delta(a.irqs, b.irqs);
  v.vectors_note = b.vectors_note;
  for (std::size_t i = 0; i < b.lower.size() && i < a.lower.size(); ++i)
    v.lower.push_back(device_delta(a.lower[i], b.lower[i]));
  return v;
}

void add_vector_hardirq(NicDevView& v, const std::map<unsigned, std::uint64_t>& ns_by_irq) {
  for (auto& x : v.vectors)
    if (auto it = ns_by_irq.find(x.irq); it != ns_by_irq.end()) x.hardirq_ns = it->second;
  for (auto& l : v.lower) add_vector_hardirq(l, ns_by_irq);
}

Json to_json(const NicDevView& v) {
  if (v.loopback) return {{"device", v.device}, {"loopback", true}};
  Json groups = Json::object();
  for (const auto& g : v.driver) groups[g.group] = counters_json(g.counters);
  Json vectors = Json::array();
  for (const auto& x : v.vectors) {
    Json per = Json::object();
    for (const auto& [cpu, n] : x.per_cpu) per[std::to_string(cpu)] = n;
    vectors.push_back({{"irq", x.irq},
                       {"name", x.name},
                       {"queue", x.queue ? Json(*x.queue) : Json()},
                       {"per_cpu", per},
                       {"total", x.total()},
                       {"per_second", v.seconds > 0 ? double(x.total()) / v.seconds : 0.0}});
    if (x.hardirq_ns) vectors.back()["hardirq_ns"] = *x.hardirq_ns;
  }
  Json j = {{"device", v.device},          {"loopback", false},
            {"seconds", v.seconds},        {"identity", v.identity},
            {"config", v.config},          {"interface_statistics", counters_json(v.link)},
            {"driver_counters", groups},   {"interrupts", vectors},
            {"stream_cpus", v.stream_cpus}};
  if (!v.driver_note.empty()) j["driver_counters_note"] = v.driver_note;
  if (!v.queues.empty()) {
    Json queues = Json::object();
    for (const auto& g : v.queues) queues[g.group] = counters_json(g.counters);
    j["queue_statistics"] = queues;
  }
  if (!v.queues_note.empty()) j["queue_statistics_note"] = v.queues_note;
  if (!v.vectors_note.empty()) j["interrupts_note"] = v.vectors_note;
  if (!v.lower.empty()) {
    j["lower"] = Json::array();
    for (const auto& l : v.lower) j["lower"].push_back(to_json(l));
  }
  return j;
}

Expected<NicDevView> nic_dev_from_json(const Json& j) {
  try {
    NicDevView v;
    v.device = j.at("device").get<std::string>().substr(0, 32);
    v.loopback = j.at("loopback").get<bool>();
    if (v.loopback) return v;
    v.seconds = j.at("seconds").get<double>();
    v.identity = j.at("identity");
    v.config = j.at("config");
    if (!v.identity.is_object() || !v.config.is_object() || v.identity.dump().size() > 4096 ||
        v.config.dump().size() > 8192)
      return Error{Errc::kProtocol, "peer NIC view has a bad identity or configuration"};
    v.link = counters_from(j.at("interface_statistics"));
    const Json& groups = j.at("driver_counters");
    if (!groups.is_object() || groups.size() > kMaxItems) throw std::out_of_range("groups");
    for (const auto& [g, c] : groups.items())
      v.driver.push_back({g.substr(0, 32), counters_from(c)});
    const Json& vectors = j.at("interrupts");
    if (!vectors.is_array() || vectors.size() > kMaxItems) throw std::out_of_range("vectors");
    for (const auto& x : vectors) {
      DevVector d{
          x.at("irq").get<unsigned>(), x.at("name").get<std::string>().substr(0, 64), {}, {}, {}};
      if (!x.at("queue").is_null()) d.queue = x.at("queue").get<unsigned>();
      if (x.contains("hardirq_ns")) d.hardirq_ns = x.at("hardirq_ns").get<std::uint64_t>();
      for (const auto& [cpu, n] : x.at("per_cpu").items())
        d.per_cpu.emplace_back(std::stoi(cpu), n.get<std::uint64_t>());
      v.vectors.push_back(std::move(d));
    }
    v.stream_cpus = j.at("stream_cpus").get<std::vector<int>>();
    v.driver_note = j.value("driver_counters_note", std::string()).substr(0, 256);
    v.vectors_note = j.value("interrupts_note", std::string()).substr(0, 256);
    if (j.contains("queue_statistics")) {
      const Json& queues = j.at("queue_statistics");
      if (!queues.is_object() || queues.size() > kMaxItems) throw std::out_of_range("queues");
      for (const auto& [g, c] : queues.items())
        v.queues.push_back({g.substr(0, 32), counters_from(c)});
    }
    v.queues_note = j.value("queue_statistics_note", std::string()).substr(0, 256);
    if (j.contains("lower")) {
      for (const auto& l : j.at("lower")) {
        if (v.lower.size() >= 16) break;
        auto lower = nic_dev_from_json(l);
        if (!lower) return lower.error();
        v.lower.push_back(std::move(*lower));
      }
    }
    return v;
  } catch (const std::exception& e) {
    return Error{Errc::kProtocol, std::string("peer NIC view is malformed: ") + e.what()};
  }
}

}  // namespace nicperf::nic
