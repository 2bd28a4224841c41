// NAPI and softnet per side (#15): a loopback UDP test's datagrams pass each CPU's backlog, so
// the softnet `processed` deltas move, and both sides report them (the server's through the
// results exchange).
#include <doctest/doctest.h>
#include <unistd.h>

#include "harness.hpp"
#include "nic_harness.hpp"

using harness::Server;
using nlohmann::json;

TEST_CASE("softnet: a loopback UDP test's processed delta shows on both sides" *
          doctest::test_suite("root")) {
  if (geteuid() != 0) {
    MESSAGE("skipping: the root suite runs the cost collector at its full level; run as root");
    return;
  }
  if (access("/proc/net/softnet_stat", R_OK) != 0) {
    MESSAGE("skipping: no /proc/net/softnet_stat");
    return;
  }
  Server s;
  REQUIRE(s.port() > 0);
  auto c = s.client({"-u", "-b", "20M", "-t", "2", "-l", "1000", "-J"});
  INFO(c->err());
  REQUIRE(c->wait(0) == 0);
  json j = c->json();
  std::uint64_t received = j["end"]["sum_received"]["bytes"].get<std::uint64_t>() / 1000;
  CHECK(received > 1000);
  for (const char* side : {"client", "server"}) {
    CAPTURE(side);
    const json& cost = j["end"]["cost"][side];
    REQUIRE(cost.contains("softnet"));
    std::uint64_t processed = 0;
    for (const auto& cpu : cost["softnet"]) {
      CHECK(cpu["cpu"].get<int>() >= 0);
      processed += cpu["processed"].get<std::uint64_t>();
    }
    // Every datagram delivered went through a backlog once in the window (within its edges);
    // other traffic on the host only adds.
    CHECK(processed > 0);
    CHECK(double(processed) >= 0.9 * double(received));
  }
  nic_harness::check_schema(j);
  auto text = s.client({"-u", "-b", "10M", "-t", "1", "-l", "1000"});
  REQUIRE(text->wait(0) == 0);
  CHECK(text->out().find("NAPI/softnet, client (sender):\n") != std::string::npos);
  CHECK(text->out().find("NAPI/softnet, server (receiver):\n") != std::string::npos);
}
