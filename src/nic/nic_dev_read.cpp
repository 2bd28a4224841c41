// Reading a kernel device: SIOCETHTOOL for the driver's identity, settings and counters, sysfs
// for MTU, link statistics and MSI vectors, /proc/interrupts for the vectors' counts.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "nic/ethtool_ioctl.hpp"
#include "nicperf/nic/nic_dev.hpp"

namespace nicperf::nic {

namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<std::uint64_t> read_number(const fs::path& p) {
  std::ifstream in(p);
  std::uint64_t n = 0;
  if (in >> n) return n;
  return std::nullopt;
}

double monotonic_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

// sysfs shows the namespace it was mounted in, not the one a setns() entered: a device's
// /sys/class/net entry is only its own when the interface index agrees.
bool sysfs_is_ours(const std::string& dev) {
  auto index = read_number("/sys/class/net/" + dev + "/ifindex");
  return index && *index == if_nametoindex(dev.c_str());
}

// The interface statistics, as `ip -s link` shows them, of this namespace's device.
std::vector<std::pair<std::string, std::uint64_t>> link_stats(const std::string& dev) {
  if (sysfs_is_ours(dev)) {  // sysfs has the 64-bit set, rx_missed_errors included
    std::vector<std::pair<std::string, std::uint64_t>> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/sys/class/net/" + dev + "/statistics", ec))
      if (auto n = read_number(e.path())) out.emplace_back(e.path().filename().string(), *n);
    std::sort(out.begin(), out.end());
    if (!out.empty()) return out;
  }
  return parse_net_dev(read_text("/proc/thread-self/net/dev"), dev);
}

// The PCI function's MSI vectors (bus_info is global, unlike the interface's name); a virtio
// NIC's bus_info is the PCI function above its virtioN device.
std::set<unsigned> msi_irqs(const std::string& bus, std::string& virtio) {
  std::set<unsigned> irqs;
  if (bus.empty() || bus.find('/') != std::string::npos) return irqs;
  fs::path base = "/sys/bus/pci/devices/" + bus;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(base / "msi_irqs", ec)) {
    try {
      irqs.insert(static_cast<unsigned>(std::stoul(e.path().filename().string())));
    } catch (const std::exception&) {
    }
  }
  for (const auto& e : fs::directory_iterator(base, ec)) {
    std::string n = e.path().filename();
    if (n.rfind("virtio", 0) == 0) virtio = n;
  }
  return irqs;
}

IrqTable device_irqs(const std::string& dev, const std::string& bus, std::string& note) {
  std::string virtio;
  std::set<unsigned> msi = msi_irqs(bus, virtio);
  IrqTable all = parse_interrupts(read_text("/proc/interrupts"));
  IrqTable mine{all.cpus, {}};
  for (auto& r : all.rows) {
    auto v = parse_vector_name(r.name);
    if (msi.count(r.irq) || (v && vector_of(*v, dev, bus, virtio))) mine.rows.push_back(r);
  }
  if (mine.rows.empty())
    note =
        msi.empty() ? "no interrupt vectors (a virtual device)" : "no vector in /proc/interrupts";
  return mine;
}

std::vector<std::string> lower_devices(const std::string& dev) {
  std::vector<std::string> out;
  if (!sysfs_is_ours(dev)) return out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/sys/class/net/" + dev, ec)) {
    std::string n = e.path().filename();
    if (n.rfind("lower_", 0) == 0) out.push_back(n.substr(6));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::string driver_of(const std::string& ifname) {
  Ethtool et(ifname);
  auto info = et.drvinfo();
  return info ? std::string(info->driver) : std::string();
}

DevSnapshot snapshot_device(const std::string& ifname) {
  DevSnapshot s;
  s.device = ifname;
  Ethtool et(ifname);
  s.identity = et.identity();
  if (auto mtu = et.mtu()) s.identity["mtu"] = *mtu;
  s.config = et.config();
  s.link = link_stats(ifname);
  auto stats = et.stats();
  if (stats)
    s.driver = std::move(*stats);
  else
    s.driver_note = stats.error().message;
  auto queues = read_qstats(ifname);
  if (queues)
    s.queues = std::move(*queues);
  else
    s.queues_note = queues.error().message;
  s.irqs = device_irqs(ifname, s.identity.value("bus", std::string()), s.vectors_note);
  for (const auto& lower : lower_devices(ifname)) s.lower.push_back(snapshot_device(lower));
  s.time_s = monotonic_s();
  return s;
}

std::optional<std::string> device_of_socket(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return std::nullopt;
  if (auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
      ss.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
    // A dual-stack listener's IPv4 connection: the interface lists the IPv4 address.
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    std::memcpy(&v4.sin_addr, &v6->sin6_addr.s6_addr[12], 4);
    std::memcpy(&ss, &v4, sizeof v4);
  }
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return std::nullopt;
  std::optional<std::string> found;
  for (ifaddrs* a = list; a && !found; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != ss.ss_family) continue;
    if (ss.ss_family == AF_INET) {
      auto* x = reinterpret_cast<sockaddr_in*>(&ss);
      auto* y = reinterpret_cast<sockaddr_in*>(a->ifa_addr);
      if (x->sin_addr.s_addr == y->sin_addr.s_addr) found = a->ifa_name;
    } else if (ss.ss_family == AF_INET6) {
      auto* x = reinterpret_cast<sockaddr_in6*>(&ss);
      auto* y = reinterpret_cast<sockaddr_in6*>(a->ifa_addr);
      if (std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0) found = a->ifa_name;
    }
  }
  freeifaddrs(list);
  if (!found && ss.ss_family == AF_INET) {
    // 127.0.0.2 and the rest of 127/8 answer on lo without being listed on it.
    auto* x = reinterpret_cast<sockaddr_in*>(&ss);
    if ((ntohl(x->sin_addr.s_addr) >> 24) == 127) found = "lo";
  }
  return found;
}

}  // namespace nicperf::nic
