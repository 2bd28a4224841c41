// The text NIC block of one side: what the engineer reads first (packets per interrupt,
// interrupts per GB, drops, interrupt CPUs against stream CPUs), then the detail.
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "nicperf/nic/nic_dev.hpp"
#include "nicperf/util/units.hpp"

namespace nicperf::nic {

namespace {

using Json = nlohmann::json;

std::string num(std::uint64_t n) { return std::to_string(n); }

std::uint64_t link_value(const NicDevView& v, const std::string& name) {
  for (const auto& [k, n] : v.link)
    if (k == name) return n;
  return 0;
}

std::string value_text(const Json& v) {
  if (v.is_boolean()) return v.get<bool>() ? "on" : "off";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// "rx_usecs 0, rx_frames 1" or the driver's refusal.
std::string setting_line(const Json& j) {
  if (!j.is_object()) return value_text(j);
  if (j.contains("error")) return j["error"].get<std::string>();
  std::string out;
  for (const auto& [k, v] : j.items()) out += (out.empty() ? "" : ", ") + k + " " + value_text(v);
  return out.empty() ? "-" : out;
}

std::string identity_line(const NicDevView& v, const std::string& side) {
  static const Json kNone = Json::object();
  const Json& id = v.identity.is_object() ? v.identity : kNone;
  std::string out = "NIC " + v.device + " (" + side + ")";
  if (id.contains("error")) return out + ": " + id["error"].get<std::string>() + "\n";
  out += ": driver " + id.value("driver", std::string("?")) + " " + id.value("version", "");
  if (id.contains("firmware")) out += ", firmware " + id["firmware"].get<std::string>();
  if (id.contains("bus")) out += ", bus " + id["bus"].get<std::string>();
  if (id.contains("speed_mbps")) out += ", " + id["speed_mbps"].dump() + " Mb/s";
  if (id.contains("duplex")) out += " " + id["duplex"].get<std::string>() + " duplex";
  if (id.contains("mtu")) out += ", MTU " + id["mtu"].dump();
  return out + ", over " + fixed(v.seconds, 2) + " s\n";
}

std::string config_lines(const NicDevView& v) {
  const Json& c = v.config;
  std::string out;
  if (!c.is_object()) return out;
  for (const char* key : {"features", "coalesce", "ring", "channels", "rss_table_size"})
    if (c.contains(key)) out += std::string("  ") + key + ": " + setting_line(c[key]) + "\n";
  return out;
}

std::string link_lines(const NicDevView& v) {
  std::string out = "  interface: rx " + num(link_value(v, "rx_packets")) + " packets " +
                    format_bytes(double(link_value(v, "rx_bytes"))) + ", tx " +
                    num(link_value(v, "tx_packets")) + " packets " +
                    format_bytes(double(link_value(v, "tx_bytes"))) + "\n";
  std::string other;
  for (const auto& [k, n] : v.link)
    if (k.find("packets") == std::string::npos && k.find("bytes") == std::string::npos)
      other += (other.empty() ? "" : ", ") + k + " " + num(n);
  if (!other.empty()) out += "  interface errors and drops: " + other + "\n";
  return out;
}

std::string driver_lines(const NicDevView& v) {
  if (v.driver.empty())
    return "  driver counters: " + (v.driver_note.empty() ? "none moved" : v.driver_note) + "\n";
  std::string out = "  driver counters that moved (ethtool -S), by queue:\n";
  for (const auto& g : v.driver) {
    std::string line;
    for (const auto& [k, n] : g.counters) line += (line.empty() ? "" : ", ") + k + " " + num(n);
    out += "    " + g.group + ": " + line + "\n";
  }
  return out;
}

// The kernel's own per-queue statistics, in the driver counters' layout.
std::string queue_lines(const NicDevView& v) {
  if (v.queues.empty())
    return "  " + (v.queues_note.empty() ? "queue statistics: none moved" : v.queues_note) + "\n";
  std::string out = "  queue statistics that moved (netdev netlink):\n";
  for (const auto& g : v.queues) {
    std::string line;
    for (const auto& [k, n] : g.counters) line += (line.empty() ? "" : ", ") + k + " " + num(n);
    out += "    " + g.group + ": " + line + "\n";
  }
  return out;
}

// Packets a queue's vector served: the queue's rx and tx packet counters where the driver
// keeps them per queue, else the kernel's per-queue statistics.
std::optional<std::uint64_t> queue_packets(const std::vector<DevCounterGroup>& groups, unsigned q) {
  std::optional<std::uint64_t> n;
  for (const auto& g : groups) {
    if (g.group != "rx " + std::to_string(q) && g.group != "tx " + std::to_string(q)) continue;
    for (const auto& [k, c] : g.counters)
      if (k == "packets") n = n.value_or(0) + c;
  }
  return n;
}

std::optional<std::uint64_t> queue_packets(const NicDevView& v, unsigned q) {
  auto n = queue_packets(v.driver, q);
  return n ? n : queue_packets(v.queues, q);
}

std::string vector_lines(const NicDevView& v) {
  if (v.vectors.empty())
    return "  interrupts: " + (v.vectors_note.empty() ? "none" : v.vectors_note) + "\n";
  std::string out = "  interrupts per vector:    irqs     /s  pkts/irq  hardirq ms  CPUs\n";
  for (const auto& x : v.vectors) {
    std::string cpus;
    for (const auto& [cpu, n] : x.per_cpu)
      cpus += (cpus.empty() ? "" : " ") + std::to_string(cpu) + ":" + num(n);
    auto pk = x.queue ? queue_packets(v, *x.queue) : std::nullopt;
    char line[256];
    std::string hard = x.hardirq_ns ? fixed(double(*x.hardirq_ns) / 1e6, 3) : "-";
    std::snprintf(line, sizeof line, "    %-22.22s %8llu %6.0f %9s %11s  %s\n", x.name.c_str(),
                  static_cast<unsigned long long>(x.total()),
                  v.seconds > 0 ? double(x.total()) / v.seconds : 0.0,
                  pk ? fixed(double(*pk) / double(x.total()), 1).c_str() : "-", hard.c_str(),
                  cpus.c_str());
    out += line;
  }
  return out;
}

std::string summary_line(const NicDevView& v) {
  std::uint64_t irqs = 0, drops = 0;
  std::set<int> irq_cpus;
  for (const auto& x : v.vectors) {
    irqs += x.total();
    for (const auto& [cpu, n] : x.per_cpu) irq_cpus.insert(cpu);
  }
  for (const auto& [k, n] : v.link)
    if (k.find("drop") != std::string::npos || k.find("missed") != std::string::npos) drops += n;
  std::uint64_t packets = link_value(v, "rx_packets") + link_value(v, "tx_packets");
  double gb = double(link_value(v, "rx_bytes") + link_value(v, "tx_bytes")) / 1e9;
  auto list = [](const auto& cpus) {
    std::string s;
    for (int c : cpus) s += (s.empty() ? "" : ",") + std::to_string(c);
    return s.empty() ? std::string("none") : s;
  };
  std::string out = "  packets/irq " + (irqs ? fixed(double(packets) / double(irqs), 1) : "-") +
                    ", irqs/GB " + (irqs && gb > 0 ? fixed(double(irqs) / gb, 0) : "-") +
                    ", drops " + num(drops) + "; interrupts on CPUs " + list(irq_cpus) +
                    ", stream threads on CPUs " +
                    list(std::set<int>(v.stream_cpus.begin(), v.stream_cpus.end())) + "\n";
  return out;
}

}  // namespace

std::string nic_dev_block(const NicDevView& v, const std::string& side) {
  if (v.loopback) return "NIC (" + side + "): loopback: no NIC\n";
  std::string out = identity_line(v, side) + summary_line(v) + config_lines(v) + link_lines(v) +
                    driver_lines(v) + queue_lines(v) + vector_lines(v);
  for (const auto& l : v.lower) {
    std::string inner = nic_dev_block(l, side + ", lower device of " + v.device);
    out += inner;
  }
  return out;
}

}  // namespace nicperf::nic
