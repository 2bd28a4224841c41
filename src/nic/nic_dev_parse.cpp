// The names drivers give their counters and vectors, and /proc/interrupts: pure text, so the
// formats of hardware this machine lacks are tested from recorded fixtures.
#include <algorithm>
#include <cctype>
#include <regex>
#include <sstream>

#include "nicperf/nic/nic_dev.hpp"

namespace nicperf::nic {

namespace {

std::optional<unsigned> number(const std::string& s) {
  if (s.empty() || s.size() > 6) return std::nullopt;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  return static_cast<unsigned>(std::stoul(s));
}

// "rx-3.rx_packets" says the direction twice; the field is "packets".
std::string strip_dir(const std::string& field, const std::string& dir) {
  std::string prefix = dir + "_";
  return field.rfind(prefix, 0) == 0 && field.size() > prefix.size() ? field.substr(prefix.size())
                                                                     : field;
}

}  // namespace

CounterName split_counter(const std::string& name) {
  // Each driver family's spelling, most specific first.
  static const std::regex kQueueWord("^(rx|tx)_queue_([0-9]+)_(.+)$");      // virtio, ice, veth
  static const std::regex kDash("^(rx|tx)-([0-9]+)\\.(.+)$");               // i40e
  static const std::regex kQueueFirst("^queue_([0-9]+)_(rx|tx)_(.+)$");     // ena
  static const std::regex kGlued("^(rx|tx|ch|xdpsq|rq|sq)([0-9]+)_(.+)$");  // mlx5
  std::smatch m;
  if (std::regex_match(name, m, kQueueWord) || std::regex_match(name, m, kDash) ||
      std::regex_match(name, m, kGlued)) {
    std::string dir = m[1];
    return {dir, number(m[2]), strip_dir(m[3], dir)};
  }
  if (std::regex_match(name, m, kQueueFirst)) return {m[2], number(m[1]), m[3]};
  return {"", std::nullopt, name};
}

IrqTable parse_interrupts(const std::string& text) {
  IrqTable t;
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line)) return t;
  std::istringstream head(line);
  for (std::string cpu; head >> cpu;)
    if (cpu.rfind("CPU", 0) == 0)
      if (auto n = number(cpu.substr(3))) t.cpus.push_back(static_cast<int>(*n));
  while (std::getline(in, line)) {
    std::istringstream row(line);
    std::string label;
    row >> label;
    if (label.empty() || label.back() != ':') continue;
    auto irq = number(label.substr(0, label.size() - 1));
    if (!irq) continue;  // NMI, LOC, ...: not a device's vector
    IrqRow r;
    r.irq = *irq;
    for (std::size_t i = 0; i < t.cpus.size(); ++i) {
      std::uint64_t n = 0;
      if (!(row >> n)) break;
      r.per_cpu.push_back(n);
    }
    if (r.per_cpu.size() != t.cpus.size()) continue;
    std::string field;
    while (row >> field) r.name = field;  // the action's name is the last field
    // A shared line lists its actions separated by ", ": the last one is still a name.
    t.rows.push_back(std::move(r));
  }
  return t;
}

std::optional<VectorName> parse_vector_name(const std::string& name) {
  static const std::regex kMlx("^mlx5_([a-z]+)([0-9]+)@(pci:.+)$");
  static const std::regex kVirtio("^(virtio[0-9]+)-(input|output|config|control)(?:\\.([0-9]+))?$");
  static const std::regex kDriverDev(
      "^(?:[a-z0-9_]+-)?([A-Za-z0-9_.]+)-(TxRx|rx|tx|Rx|Tx|fp)-([0-9]+)$");
  std::smatch m;
  if (std::regex_match(name, m, kMlx)) return VectorName{m[3], m[1], number(m[2])};
  if (std::regex_match(name, m, kVirtio))
    return VectorName{m[1], m[2], m[3].matched ? number(m[3]) : std::nullopt};
  if (std::regex_match(name, m, kDriverDev)) return VectorName{m[1], m[2], number(m[3])};
  return std::nullopt;
}

std::vector<std::pair<std::string, std::uint64_t>> parse_net_dev(const std::string& text,
                                                                 const std::string& dev) {
  static const char* const kNames[] = {
      "rx_bytes",       "rx_packets",      "rx_errors",         "rx_dropped",
      "rx_fifo_errors", "rx_frame_errors", "rx_compressed",     "multicast",
      "tx_bytes",       "tx_packets",      "tx_errors",         "tx_dropped",
      "tx_fifo_errors", "collisions",      "tx_carrier_errors", "tx_compressed"};
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    auto start = line.find_first_not_of(' ');
    if (line.substr(start, colon - start) != dev) continue;
    std::istringstream row(line.substr(colon + 1));
    std::vector<std::pair<std::string, std::uint64_t>> out;
    std::uint64_t n = 0;
    for (const char* name : kNames)
      if (row >> n) out.emplace_back(name, n);
    std::sort(out.begin(), out.end());
    return out;
  }
  return {};
}

bool vector_of(const VectorName& v, const std::string& ifname, const std::string& bus,
               const std::string& virtio) {
  if (!ifname.empty() && v.owner == ifname) return true;
  if (!bus.empty() && v.owner == "pci:" + bus) return true;
  return !virtio.empty() && v.owner == virtio;
}

}  // namespace nicperf::nic
