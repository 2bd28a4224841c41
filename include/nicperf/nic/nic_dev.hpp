// A kernel network device as part of the results model: what the driver is and how it is set
// up, and what its counters and interrupt vectors did over the measured window. Read through
// the kernel's interfaces (SIOCETHTOOL, sysfs, procfs), never through the ethtool program; a
// counter or setting the driver does not offer is absent, not zero.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nicperf/util/error.hpp"

namespace nicperf::nic {

// ---- Pure parsers (unit-tested from recorded fixtures) ----

// One `ethtool -S` name split into the queue it counts for, when the name says so:
// rx_queue_3_packets, rx-3.rx_packets, tx3_bytes, ch3_events, queue_3_tx_cnt.
struct CounterName {
  std::string dir;  // "rx", "tx", "ch", "xdp", ...; empty for a device-wide counter
  std::optional<unsigned> queue;
  std::string field;  // the counter within the queue ("packets"), or the whole name
};
CounterName split_counter(const std::string& name);

// The /proc/interrupts table: the CPU columns and the numbered rows (NMI, LOC, ... left out).
struct IrqRow {
  unsigned irq = 0;
  std::vector<std::uint64_t> per_cpu;  // in the order of IrqTable::cpus
  std::string name;                    // the action's name, the row's last field
};
struct IrqTable {
  std::vector<int> cpus;
  std::vector<IrqRow> rows;
};
IrqTable parse_interrupts(const std::string& text);

// A vector's name as drivers write it: ice-eth0-TxRx-3, i40e-eth0-TxRx-3, eth0-rx-2,
// mlx5_comp3@pci:0000:3b:00.0, virtio0-input.0 / virtio0-output.0 / virtio0-config.
struct VectorName {
  std::string owner;  // the device name, "pci:<bus address>" or "virtioN"
  std::string kind;   // "TxRx", "rx", "tx", "comp", "input", "output", "config", "async", ...
  std::optional<unsigned> queue;
};
std::optional<VectorName> parse_vector_name(const std::string& name);
// Whether a vector belongs to the device known by these names (any may be empty).
bool vector_of(const VectorName& v, const std::string& ifname, const std::string& bus,
               const std::string& virtio);

// One device's row of /proc/net/dev (the interface statistics of the reader's network
// namespace, which sysfs is not after a setns), named as sysfs names them: rx_bytes, ...
std::vector<std::pair<std::string, std::uint64_t>> parse_net_dev(const std::string& text,
                                                                 const std::string& dev);

// ---- The device view over one window ----

struct DevCounterGroup {
  std::string group;  // "rx 3", "tx 0", ...; "device" for the device-wide counters
  std::vector<std::pair<std::string, std::uint64_t>> counters;  // those that moved
};

// The replies of a NETDEV_CMD_QSTATS_GET dump (generic netlink family "netdev", queue scope):
// one group per queue ("rx 3", "tx 0"), its counters named as the netdev spec names them
// without the direction ("packets", "bytes", "hw-drops", ...). A counter the driver does not
// fill is absent from the reply, so absent here.
std::vector<DevCounterGroup> parse_qstats(const void* data, std::size_t len);

struct DevVector {
  unsigned irq = 0;
  std::string name;
  std::optional<unsigned> queue;
  std::vector<std::pair<int, std::uint64_t>> per_cpu;  // CPUs that took any, with their count
  // The handler's time over the window, from the cost collector's per-IRQ totals (ring and bpf
  // levels); absent at other levels.
  std::optional<std::uint64_t> hardirq_ns;
  std::uint64_t total() const;
};

struct NicDevView {
  std::string device;
  bool loopback = false;  // lo: no NIC, nothing else is filled
  double seconds = 0;
  nlohmann::json identity;  // driver, version, firmware, bus, speed_mbps, duplex, mtu
  nlohmann::json config;    // features, coalesce, ring, channels, rss_table_size (or errors)
  std::vector<std::pair<std::string, std::uint64_t>> link;  // interface statistics deltas
  std::vector<DevCounterGroup> driver;                      // moved ethtool -S counters
  std::string driver_note;                                  // why there are no driver counters
  std::vector<DevCounterGroup> queues;  // netdev netlink per-queue statistics that moved
  std::string queues_note;              // why there are none
  std::vector<DevVector> vectors;
  std::string vectors_note;       // why there are no vectors
  std::vector<int> stream_cpus;   // CPUs the stream threads last ran on
  std::vector<NicDevView> lower;  // a bond's or VLAN's lower devices
};

// Each vector's hardirq time from the collector's per-IRQ totals, keyed by IRQ number (the
// view's lower devices too).
void add_vector_hardirq(NicDevView& v, const std::map<unsigned, std::uint64_t>& ns_by_irq);

nlohmann::json to_json(const NicDevView& v);
Expected<NicDevView> nic_dev_from_json(const nlohmann::json& j);  // the peer's: checked
std::string nic_dev_block(const NicDevView& v, const std::string& side);

// ---- Reading a device ----

// The counters at one instant; two of them make a view.
struct DevSnapshot {
  std::string device;
  double time_s = 0;  // CLOCK_MONOTONIC
  nlohmann::json identity, config;
  std::vector<std::pair<std::string, std::uint64_t>> link, driver;
  std::string driver_note;
  std::vector<DevCounterGroup> queues;
  std::string queues_note;
  IrqTable irqs;  // the device's rows only
  std::string vectors_note;
  std::vector<DevSnapshot> lower;
};

DevSnapshot snapshot_device(const std::string& ifname);
NicDevView device_delta(const DevSnapshot& begin, const DevSnapshot& end);
// The interface holding a connected socket's local address ("lo" for loopback), if found.
std::optional<std::string> device_of_socket(int fd);
// The device's per-queue statistics from netdev netlink, or why there are none (no such
// family in this kernel, or the driver does not implement them).
Expected<std::vector<DevCounterGroup>> read_qstats(const std::string& ifname);
// The driver's name as ETHTOOL_GDRVINFO gives it ("" when it does not answer).
std::string driver_of(const std::string& ifname);

}  // namespace nicperf::nic
