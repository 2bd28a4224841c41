// The kernel device's view (end.nic_dev): over a veth pair between two namespaces the test
// makes and removes, and the one line loopback gets.
#include <doctest/doctest.h>

#include "nic_harness.hpp"

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

TEST_CASE("nic_dev: loopback is one line and nothing else") {
  Server server;
  REQUIRE(server.port() > 0);
  auto client = server.client({"-t", "0.3", "-i", "0"});
  REQUIRE(client->wait(1) == 0);
  std::string out = client->out();
  INFO(out);
  CHECK(out.find("NIC (client): loopback: no NIC\n") != std::string::npos);
  CHECK(out.find("NIC (server): loopback: no NIC\n") != std::string::npos);
  auto json = server.client({"-t", "0.3", "-J"});
  auto j = json->json();
  CHECK(j["end"]["nic_dev"]["client"] == nlohmann::json{{"device", "lo"}, {"loopback", true}});
  CHECK(j["end"]["nic_dev"]["server"] == nlohmann::json{{"device", "lo"}, {"loopback", true}});
}

