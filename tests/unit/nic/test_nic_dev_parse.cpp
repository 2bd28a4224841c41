// The NIC view's parsers on recorded-format fixtures of ice, i40e, mlx5 and virtio hosts
// (tests/data/nic): per-queue grouping of `ethtool -S` names, /proc/interrupts rows, vector
// names, and vectors that moved between CPUs within the window.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "nicperf/cost/figures.hpp"
#include "nicperf/nic/nic_dev.hpp"

using namespace nicperf;
using namespace nicperf::nic;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(NICPERF_SOURCE_DIR) + "/tests/data/nic/" + name);
  REQUIRE(in);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// `ethtool -S` as the program prints it: "     name: value" under a heading.
std::vector<std::pair<std::string, std::uint64_t>> ethtool_s(const std::string& text) {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.rfind(": ");
    if (colon == std::string::npos) continue;
    auto start = line.find_first_not_of(' ');
    out.emplace_back(line.substr(start, colon - start), std::stoull(line.substr(colon + 2)));
  }
  return out;
}

// The driver's counters moved from zero to the fixture's values over a 10 s window.
NicDevView window_of(const std::string& driver, const std::string& dev) {
  DevSnapshot a, b;
  a.device = b.device = dev;
  b.driver = ethtool_s(fixture(driver + "_ethtool_s.txt"));
  for (const auto& [k, v] : b.driver) a.driver.emplace_back(k, 0);
  auto keep = [&](const IrqTable& all) {
    IrqTable t{all.cpus, {}};
    for (const auto& r : all.rows)
      if (auto v = parse_vector_name(r.name); v && vector_of(*v, dev, "0000:3b:00.0", "virtio2"))
        t.rows.push_back(r);
    return t;
  };
  a.irqs = keep(parse_interrupts(fixture(driver + "_interrupts_before.txt")));
  b.irqs = keep(parse_interrupts(fixture(driver + "_interrupts_after.txt")));
  b.time_s = 10;
  return device_delta(a, b);
}

const DevCounterGroup* group(const NicDevView& v, const std::string& name) {
  for (const auto& g : v.driver)
    if (g.group == name) return &g;
  return nullptr;
}

std::uint64_t counter(const DevCounterGroup* g, const std::string& name) {
  REQUIRE(g);
  for (const auto& [k, n] : g->counters)
    if (k == name) return n;
  FAIL("no counter " << name);
  return 0;
}

}  // namespace

TEST_CASE("ethtool -S names split into direction, queue and counter") {
  struct Case {
    const char* name;
    const char* dir;
    int queue;
    const char* field;
  };
  for (auto c :
       {Case{"rx_queue_3_packets", "rx", 3, "packets"},
        Case{"tx_queue_0_xdp_tx", "tx", 0, "xdp_tx"}, Case{"rx-3.rx_packets", "rx", 3, "packets"},
        Case{"tx-12.packets", "tx", 12, "packets"}, Case{"tx3_bytes", "tx", 3, "bytes"},
        Case{"ch7_events", "ch", 7, "events"}, Case{"queue_2_tx_cnt", "tx", 2, "cnt"},
        Case{"rx_bytes", "", -1, "rx_bytes"},
        Case{"port.rx_size_1522", "", -1, "port.rx_size_1522"},
        Case{"ch_events", "", -1, "ch_events"},
        Case{"veb.tc_0_tx_packets", "", -1, "veb.tc_0_tx_packets"}}) {
    CAPTURE(c.name);
    CounterName n = split_counter(c.name);
    CHECK(n.dir == c.dir);
    CHECK(n.queue.has_value() == (c.queue >= 0));
    if (c.queue >= 0) CHECK(*n.queue == unsigned(c.queue));
    CHECK(n.field == c.field);
  }
}

TEST_CASE("vector names of ice, i40e, mlx5 and virtio") {
  auto v = parse_vector_name("ice-ens801f0-TxRx-3");
  REQUIRE(v);
  CHECK(v->owner == "ens801f0");
  CHECK(v->kind == "TxRx");
  CHECK(v->queue == 3u);
  v = parse_vector_name("eth0-rx-2");
  REQUIRE(v);
  CHECK((v->owner == "eth0" && v->kind == "rx" && v->queue == 2u));
  v = parse_vector_name("mlx5_comp3@pci:0000:3b:00.0");
  REQUIRE(v);
  CHECK((v->owner == "pci:0000:3b:00.0" && v->kind == "comp" && v->queue == 3u));
  CHECK(vector_of(*v, "ens1f0np0", "0000:3b:00.0", ""));
  CHECK_FALSE(vector_of(*v, "ens1f0np0", "0000:3b:00.1", ""));
  v = parse_vector_name("virtio0-input.0");
  REQUIRE(v);
  CHECK((v->owner == "virtio0" && v->kind == "input" && v->queue == 0u));
  v = parse_vector_name("virtio0-config");
  REQUIRE(v);
  CHECK_FALSE(v->queue);
  CHECK_FALSE(parse_vector_name("ice-0000:5e:00.0:misc"));
  CHECK_FALSE(parse_vector_name("timer"));
}

TEST_CASE("/proc/interrupts: CPU columns and numbered rows only") {
  IrqTable t = parse_interrupts(fixture("ice_interrupts_before.txt"));
  CHECK(t.cpus == std::vector<int>{0, 1, 2, 3});
  REQUIRE(t.rows.size() == 6);
  CHECK(t.rows[3].irq == 181);
  CHECK(t.rows[3].name == "ice-ens801f0-TxRx-0");
  CHECK(t.rows[3].per_cpu == std::vector<std::uint64_t>{1000, 0, 0, 0});
  CHECK(t.rows[0].name == "timer");
}

TEST_CASE("ice: per-queue counters and a vector that moved from CPU 0 to CPU 2") {
  NicDevView v = window_of("ice", "ens801f0");
  CHECK(counter(group(v, "rx 1"), "packets") == 2500634);
  CHECK(counter(group(v, "tx 0"), "bytes") == 82519800);
  CHECK(counter(group(v, "device"), "port.rx_dropped") == 3);
  CHECK(v.driver.front().group == "device");
  REQUIRE(v.vectors.size() == 2);  // the other port's vector is not this device's
  CHECK(v.vectors[0].name == "ice-ens801f0-TxRx-0");
  CHECK(v.vectors[0].per_cpu == std::vector<std::pair<int, std::uint64_t>>{{0, 500}, {2, 300}});
  CHECK(v.vectors[0].total() == 800);
  CHECK(v.vectors[1].queue == 1u);
}

TEST_CASE("i40e: rx-N.rx_ counters grouped per queue, a vector spilling to CPU 0") {
  NicDevView v = window_of("i40e", "eno1");
  CHECK(counter(group(v, "rx 0"), "packets") == 1500000);
  CHECK(counter(group(v, "tx 1"), "bytes") == 49500000);
  REQUIRE(v.vectors.size() == 2);
  CHECK(v.vectors[1].per_cpu == std::vector<std::pair<int, std::uint64_t>>{{0, 4000}, {1, 10000}});
}

TEST_CASE("mlx5: rxN_/txN_/chN_ counters and comp vectors found by bus address") {
  NicDevView v = window_of("mlx5", "ens1f0np0");
  CHECK(counter(group(v, "rx 1"), "csum_unnecessary") == 4000000);
  CHECK(counter(group(v, "ch 0"), "events") == 45000);
  CHECK(counter(group(v, "device"), "rx_out_of_buffer") == 12);
  REQUIRE(v.vectors.size() == 2);  // async0 did not move; comp0 of 3b:00.1 is another port's
  CHECK(v.vectors[0].per_cpu == std::vector<std::pair<int, std::uint64_t>>{{0, 20000}, {3, 25000}});
  CHECK(v.vectors[1].queue == 1u);
}

TEST_CASE("virtio: rx_queue_N_ counters, input/output vectors of virtioN") {
  NicDevView v = window_of("virtio", "eth0");
  CHECK(counter(group(v, "rx 0"), "packets") == 600000);
  CHECK(counter(group(v, "tx 1"), "kicks") == 200000);
  REQUIRE(v.vectors.size() == 3);
  CHECK(v.vectors[0].name == "virtio2-input.0");
  CHECK(v.vectors[2].name == "virtio2-output.1");
  CHECK(v.vectors[2].per_cpu == std::vector<std::pair<int, std::uint64_t>>{{0, 100}});
  std::string text = nic_dev_block(v, "client");
  CHECK(text.find("virtio2-input.0") != std::string::npos);
  CHECK(text.find("rx 0: packets 600000") != std::string::npos);
}

TEST_CASE("the NIC view survives the results exchange, lo is one line") {
  NicDevView v = window_of("mlx5", "ens1f0np0");
  v.identity = {{"driver", "mlx5_core"}, {"mtu", 9000}};
  v.config = {{"coalesce", {{"error", "coalescing: not supported by driver veth"}}}};
  v.link = {{"rx_bytes", 100}, {"rx_packets", 2}};
  v.stream_cpus = {1};
  auto back = nic_dev_from_json(to_json(v));
  REQUIRE(back);
  CHECK(to_json(*back) == to_json(v));
  CHECK(nic_dev_block(*back, "server").find("coalescing: not supported by driver veth") !=
        std::string::npos);
  NicDevView lo;
  lo.device = "lo";
  lo.loopback = true;
  CHECK(nic_dev_block(lo, "client") == "NIC (client): loopback: no NIC\n");
  CHECK_FALSE(nic_dev_from_json(nlohmann::json{{"device", "x"}, {"loopback", false}}));
}

TEST_CASE("each vector gets its hardirq time from the collector's per-IRQ totals") {
  NicDevView v = window_of("ice", "ens801f0");
  REQUIRE(v.vectors.size() == 2);
  unsigned first = v.vectors[0].irq;
  v.identity = {{"driver", "ice"}};
  v.config = nlohmann::json::object();
  NicDevView lower = v;
  v.lower.push_back(lower);
  SideCost cost;
  cost.irqs = {{std::to_string(first) + ":ice-ens801f0-TxRx-0", {2500000, 800}},
               {"9:acpi", {1000, 1}},
               {"x:bad", {7, 1}}};
  add_vector_hardirq(v, hardirq_ns_by_irq(cost));
  CHECK(v.vectors[0].hardirq_ns == 2500000u);
  CHECK_FALSE(v.vectors[1].hardirq_ns);  // no interrupt time traced for it: absent, not 0
  CHECK(v.lower[0].vectors[0].hardirq_ns == 2500000u);
  auto back = nic_dev_from_json(to_json(v));
  REQUIRE(back);
  CHECK(back->vectors[0].hardirq_ns == 2500000u);
  CHECK(to_json(*back) == to_json(v));
  std::string text = nic_dev_block(v, "client");
  CHECK(text.find("hardirq ms") != std::string::npos);
  CHECK(text.find("2.500") != std::string::npos);
}
