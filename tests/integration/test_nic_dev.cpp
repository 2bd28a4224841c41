// The kernel device's view (end.nic_dev): over a veth pair between two namespaces the test
// makes and removes, and the one line loopback gets.
#include <doctest/doctest.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstdio>
#include <optional>

#include "nic_harness.hpp"
#include "nicperf/util/netns.hpp"

using harness::Proc;
using harness::Server;
using nic_harness::check_schema;
using nic_harness::have_root;

namespace {

int ip(std::vector<std::string> args) { return Proc("/usr/sbin/ip", std::move(args)).wait(15); }

// Two namespaces joined by a veth pair, 198.19.77.1 (client) and .2 (server); removed at the
// end (deleting a namespace deletes its end of the pair, and the pair with it).
struct VethPair {
  std::string tag = std::to_string(getpid());
  std::string cli = "nicperf-vc" + tag, srv = "nicperf-vs" + tag;
  std::string cli_dev = "npvc" + tag, srv_dev = "npvs" + tag;
  bool ok = false;

  VethPair() {
    ok = ip({"netns", "add", cli}) == 0 && ip({"netns", "add", srv}) == 0 &&
         ip({"link", "add", cli_dev, "netns", cli, "type", "veth", "peer", "name", srv_dev, "netns",
             srv}) == 0 &&
         ip({"-n", cli, "addr", "add", "198.19.77.1/30", "dev", cli_dev}) == 0 &&
         ip({"-n", srv, "addr", "add", "198.19.77.2/30", "dev", srv_dev}) == 0 &&
         ip({"-n", cli, "link", "set", cli_dev, "up"}) == 0 &&
         ip({"-n", srv, "link", "set", srv_dev, "up"}) == 0 &&
         ip({"-n", cli, "link", "set", "lo", "up"}) == 0 &&
         ip({"-n", srv, "link", "set", "lo", "up"}) == 0;
  }
  ~VethPair() {
    ip({"netns", "delete", cli});
    ip({"netns", "delete", srv});
  }
};

std::uint64_t stat_of(const nlohmann::json& dev, const char* name) {
  return dev.at("interface_statistics").value(name, std::uint64_t{0});
}

}  // namespace

TEST_CASE("nic_dev: a veth pair between namespaces, both sides' NIC block and JSON" *
          doctest::test_suite("root")) {
  if (!have_root()) return;
  VethPair veth;
  REQUIRE(veth.ok);
  Server server({"--netns", veth.srv});
  REQUIRE(server.port() > 0);
  Proc client({"-c", "198.19.77.2", "-p", server.port_arg(), "--netns", veth.cli, "-t", "2", "-J",
               "--cost", "rusage"});
  REQUIRE(client.wait(60) == 0);
  auto j = client.json();
  REQUIRE(j.is_object());
  const auto& end = j.at("end");
  REQUIRE(end.contains("nic_dev"));
  const auto& c = end["nic_dev"].at("client");
  const auto& s = end["nic_dev"].at("server");
  INFO(end["nic_dev"].dump(1));
  CHECK(c.at("device") == veth.cli_dev);
  CHECK(s.at("device") == veth.srv_dev);
  for (const auto* side : {&c, &s}) {
    CHECK(side->at("identity").at("driver") == "veth");
    CHECK(side->at("identity").at("mtu") == 1500);
    CHECK(side->at("config").at("coalesce").at("error") ==
          "coalescing: not supported by driver veth");
    CHECK(side->at("config").at("features").contains("gro"));
    CHECK(side->at("config").at("channels").contains("rx"));
    CHECK(side->at("interrupts").empty());  // a virtual device has no vectors
  }
  // The interface moved what nicperf moved, plus headers (GSO: one set per super-packet) and
  // the control connection's few KB.
  double sent = j["end"]["sum_sent"]["bytes"].get<double>();
  double received = j["end"]["sum_received"]["bytes"].get<double>();
  REQUIRE(sent > 1e6);
  CHECK(double(stat_of(c, "tx_bytes")) >= sent);
  CHECK(double(stat_of(c, "tx_bytes")) <= sent * 1.06 + 1e6);
  CHECK(double(stat_of(s, "rx_bytes")) >= received);
  CHECK(double(stat_of(s, "rx_bytes")) <= received * 1.06 + 1e6);
  check_schema(j);

  Proc text({"-c", "198.19.77.2", "-p", server.port_arg(), "--netns", veth.cli, "-t", "1"});
  REQUIRE(text.wait(60) == 0);
  std::string out = text.out();
  INFO(out);
  CHECK(out.find("NIC " + veth.cli_dev + " (client): driver veth") != std::string::npos);
  CHECK(out.find("NIC " + veth.srv_dev + " (server): driver veth") != std::string::npos);
  CHECK(out.find("coalesce: coalescing: not supported by driver veth") != std::string::npos);
}

TEST_CASE("nic_dev: loopback is one line and nothing else" * doctest::test_suite("parallel")) {
  Server server;
  REQUIRE(server.port() > 0);
  auto client = server.client({"-t", "0.3", "-i", "0"});
  REQUIRE(client->wait(1) == 0);
  std::string out = client->out();
  INFO(out);
  CHECK(out.find("NIC (client): loopback: no NIC\n") != std::string::npos);
  CHECK(out.find("NIC (server): loopback: no NIC\n") != std::string::npos);
  auto machine = server.client({"-t", "0.3", "-J"});
  auto j = machine->json();
  CHECK(j["end"]["nic_dev"]["client"] == nlohmann::json{{"device", "lo"}, {"loopback", true}});
  CHECK(j["end"]["nic_dev"]["server"] == nlohmann::json{{"device", "lo"}, {"loopback", true}});
}

namespace {

// The tap's rx-frames coalescing as the kernel has it, read in its namespace (the test's own
// reading, apart from the code under test).
std::optional<std::uint32_t> rx_frames(const std::string& ns, const std::string& dev) {
  std::optional<std::uint32_t> value;
  (void)nicperf::in_netns(ns, [&]() -> nicperf::Status {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ethtool_coalesce c{};
    c.cmd = ETHTOOL_GCOALESCE;
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", dev.c_str());
    ifr.ifr_data = reinterpret_cast<char*>(&c);
    if (fd >= 0 && ioctl(fd, SIOCETHTOOL, &ifr) == 0) value = c.rx_max_coalesced_frames;
    if (fd >= 0) close(fd);
    return nicperf::ok();
  });
  return value;
}

// Polls the device while the client runs; true once it held `want`.
bool saw_value(Proc& client, const std::string& ns, const std::string& dev, std::uint32_t want) {
  for (int i = 0; i < 600 && client.running(); ++i) {
    if (rx_frames(ns, dev) == want) return true;
    usleep(20'000);
  }
  return false;
}

}  // namespace

TEST_CASE(
    "nic_dev: --compare-nic rx-frames on nicperf-nicd's tap, restored after the series "
    "and after SIGINT" *
    doctest::test_suite("root")) {
  if (!have_root()) return;
  nic_harness::Nic nic;
  REQUIRE(nic.up());
  const std::string tap = "nptap-cli";
  auto before = rx_frames(nic.cli, tap);
  if (!before) {
    MESSAGE("skipping: this kernel's tun driver does not report coalescing");
    return;
  }
  Server server({"--netns", nic.srv});
  REQUIRE(server.port() > 0);
  std::vector<std::string> args = {"-c",        "198.18.0.2", "-p",        server.port_arg(),
                                   "--netns",   nic.cli,      "--nic-dev", tap,
                                   "--compare", "write",      "--repeat",  "1",
                                   "-i",        "0",          "-J"};
  {
    auto a = args;
    a.insert(a.end(), {"-t", "1", "--compare-nic", "rx-frames=7,13"});
    Proc c(a);
    CHECK(saw_value(c, nic.cli, tap, 13));
    int rc = c.wait(120);
    INFO(c.err());
    CHECK(rc == 0);
    CHECK(rx_frames(nic.cli, tap) == before);
  }
  {
    auto a = args;
    a.insert(a.end(), {"-t", "5", "--compare-nic", "rx-frames=9"});
    Proc c(a);
    REQUIRE(saw_value(c, nic.cli, tap, 9));
    c.signal(SIGINT);
    c.wait(60);
    CHECK(rx_frames(nic.cli, tap) == before);
  }
  {
    // A value the driver refuses to keep is one error naming the driver and the setting.
    auto a = args;
    a.insert(a.end(), {"-t", "1", "--compare-nic", "rx-usecs=50"});
    Proc c(a);
    CHECK(c.wait(60) != 0);
    std::string says = c.out() + c.err();  // -J: the error is in the JSON
    INFO(says);
    CHECK(says.find("rx-usecs=50") != std::string::npos);
    CHECK(says.find("driver tun") != std::string::npos);
    CHECK(rx_frames(nic.cli, tap) == before);
  }
}

TEST_CASE("nic_dev: --nic-dev naming an unknown device is one usage error, exit 2" *
          doctest::test_suite("parallel")) {
  Server server;
  REQUIRE(server.port() > 0);
  auto client = server.client({"-t", "0.3", "--nic-dev", "npnosuchdev0"});
  CHECK(client->wait(30) == 2);
  std::string err = client->err();
  INFO(err);
  CHECK(err.find("--nic-dev: no network device 'npnosuchdev0'") != std::string::npos);
  CHECK(client->out().find("NIC ") == std::string::npos);
}

TEST_CASE("nic_dev: --nic-dev names the veth explicitly" * doctest::test_suite("root")) {
  if (!have_root()) return;
  VethPair veth;
  REQUIRE(veth.ok);
  Server server({"--netns", veth.srv});
  REQUIRE(server.port() > 0);
  Proc client({"-c", "198.19.77.2", "-p", server.port_arg(), "--netns", veth.cli, "-t", "1", "-J",
               "--nic-dev", veth.cli_dev});
  REQUIRE(client.wait(60) == 0);
  auto j = client.json();
  REQUIRE(j.is_object());
  const auto& c = j["end"]["nic_dev"].at("client");
  INFO(c.dump(1));
  CHECK(c.at("device") == veth.cli_dev);
  CHECK(c.at("identity").at("driver") == "veth");
  CHECK(double(stat_of(c, "tx_bytes")) >= j["end"]["sum_sent"]["bytes"].get<double>());
  CHECK(j["end"]["nic_dev"].at("server").at("device") == veth.srv_dev);
  check_schema(j);
}

// An upper device on the client's veth (a VLAN where the kernel has 8021q, else a macvlan:
// both link their lower device in sysfs), named with --nic-dev: the veth under it is reported
// as its lower device, and the traffic shows there. The client runs under `ip netns exec`,
// whose own sysfs mount is the namespace's (lower devices are read from sysfs).
TEST_CASE("nic_dev: --nic-dev on a VLAN (or macvlan) reports its lower device" *
          doctest::test_suite("root")) {
  if (!have_root()) return;
  VethPair veth;
  REQUIRE(veth.ok);
  std::string upper = "npup" + veth.tag;
  std::string kind = "vlan";
  if (ip({"-n", veth.cli, "link", "add", "link", veth.cli_dev, "name", upper, "type", "vlan", "id",
          "7"}) != 0) {
    kind = "macvlan";
    if (ip({"-n", veth.cli, "link", "add", "link", veth.cli_dev, "name", upper, "type",
            "macvlan"}) != 0) {
      MESSAGE("skipping: this kernel creates neither a VLAN nor a macvlan device");
      return;
    }
  }
  MESSAGE("upper device: " << kind);
  REQUIRE(ip({"-n", veth.cli, "link", "set", upper, "up"}) == 0);
  Server server({"--netns", veth.srv});
  REQUIRE(server.port() > 0);
  Proc client("/usr/sbin/ip", {"netns", "exec", veth.cli, NICPERF_BIN, "-c", "198.19.77.2", "-p",
                               server.port_arg(), "-t", "1", "-J", "--nic-dev", upper});
  REQUIRE(client.wait(60) == 0);
  auto j = client.json();
  REQUIRE(j.is_object());
  const auto& c = j["end"]["nic_dev"].at("client");
  INFO(c.dump(1));
  CHECK(c.at("device") == upper);
  REQUIRE(c.contains("lower"));
  REQUIRE(c["lower"].size() == 1);
  const auto& lower = c["lower"][0];
  CHECK(lower.at("device") == veth.cli_dev);
  CHECK(lower.at("identity").at("driver") == "veth");
  CHECK(double(stat_of(lower, "tx_bytes")) >= j["end"]["sum_sent"]["bytes"].get<double>());
  check_schema(j);

  Proc text("/usr/sbin/ip", {"netns", "exec", veth.cli, NICPERF_BIN, "-c", "198.19.77.2", "-p",
                             server.port_arg(), "-t", "0.5", "--nic-dev", upper});
  REQUIRE(text.wait(60) == 0);
  std::string out = text.out();
  INFO(out);
  CHECK(out.find("NIC " + veth.cli_dev + " (client, lower device of " + upper + ")") !=
        std::string::npos);
}
