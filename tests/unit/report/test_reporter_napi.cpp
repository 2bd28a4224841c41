// The text report's NAPI/softnet block, from hand-built cost figures.
#include <doctest/doctest.h>

#include <sstream>

#include "nicperf/report/reporter.hpp"
#include "report/reporter_text.hpp"

using namespace nicperf;

namespace {

NapiCount napi(const std::string& dev, int cpu, std::uint64_t polls, std::uint64_t packets,
               std::uint64_t at_budget) {
  NapiCount n;
  n.dev = dev;
  n.cpu = cpu;
  n.polls = polls;
  n.packets = packets;
  n.budget_exhausted = at_budget;
  return n;
}

SoftnetCount softnet(int cpu, std::uint64_t processed, std::uint64_t squeeze) {
  SoftnetCount s;
  s.cpu = cpu;
  s.processed = processed;
  s.time_squeeze = squeeze;
  return s;
}

}  // namespace

TEST_CASE("NAPI/softnet text: polls, packets per poll, polls at budget and the histogram") {
  SideCost c;
  NapiCount n = napi("(no_device)", 3, 200, 6400, 50);
  n.per_poll[1] = 20;   // 1 packet
  n.per_poll[2] = 130;  // 2-3
  n.per_poll[7] = 50;   // 64-127
  c.napi.push_back(n);
  c.napi.push_back(napi("nptap-srv", 12, 0, 0, 0));
  c.softnet.push_back(softnet(3, 6400, 2));
  std::string text = napi_softnet_block("server (receiver)", c);
  CHECK(text ==
        "NAPI/softnet, server (receiver):\n"
        "  NAPI device       CPU       polls      packets  pkts/poll  at budget  polls by packets "
        "per poll\n"
        "  (no_device)         3         200         6400       32.0      25.0%  1:20 2-3:130 "
        "64-127:50\n"
        "  nptap-srv          12           0            0        0.0          -  -\n"
        "  softnet           CPU   processed   dropped  time_squeeze\n"
        "                      3        6400         0             2\n");
}

TEST_CASE("NAPI/softnet text: rps and flow limit columns only where the kernel prints them") {
  SideCost c;
  SoftnetCount a = softnet(0, 10, 0);
  SoftnetCount b = softnet(1, 20, 1);
  b.received_rps = 4;
  b.flow_limit = 0;
  c.softnet = {a, b};
  std::string text = napi_softnet_block("client (sender)", c);
  CHECK(text ==
        "NAPI/softnet, client (sender):\n"
        "  softnet           CPU   processed   dropped  time_squeeze  received_rps  flow_limit\n"
        "                      0          10         0             0             -           -\n"
        "                      1          20         0             1             4           0\n");
  CHECK(text.find("NAPI device") == std::string::npos);  // napi_poll not traced: no NAPI table
}

TEST_CASE("NAPI/softnet text: nothing at all for a side without figures, one block per side") {
  CHECK(napi_softnet_block("client (sender)", SideCost{}).empty());
  Report r;
  r.is_client = true;
  r.local.cost = SideCost{};
  r.remote = SideEnd{};
  r.remote->cost = SideCost{};
  CHECK(napi_softnet_blocks(r).empty());
  r.remote->cost->softnet.push_back(softnet(1, 5, 0));
  std::string text = napi_softnet_blocks(r);
  CHECK(text.rfind("NAPI/softnet, server (receiver):\n", 0) == 0);
  CHECK(text.find("client") == std::string::npos);
}
