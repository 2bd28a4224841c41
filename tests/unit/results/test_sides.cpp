// Which side sends the data, and the --sweep-rate receiver figures that follow from it.
#include <doctest/doctest.h>

#include <sstream>

#include "nicperf/results/results.hpp"
#include "nicperf/series/sweep.hpp"

using namespace nicperf;

namespace {

TestSpec spec_of(Direction d, int streams = 2) {
  TestSpec s;
  s.direction = d;
  s.streams = streams;
  return s;
}

Report report_of(Direction d, bool is_client) {
  Report r;
  r.spec = spec_of(d);
  r.is_client = is_client;
  r.remote = SideEnd{};
  return r;
}

// A receiver's cost over 2 s: 0.5 s of stream CPU, 0.2 s of NET_RX, 3000 hardirqs.
SideCost receiver_cost(bool traced) {
  SideCost c;
  c.wall_s = 2;
  c.streams.schedstat_ns = 0.5e9;
  c.traced = traced;
  c.traced_total.softirq[std::size_t(kNetRx)].ns = 200'000'000;
  c.traced_total.hardirq.count = 3000;
  return c;
}

nic::NicStats nic_of(std::uint64_t c2s_irqs, std::uint64_t s2c_irqs) {
  nic::NicStats n;
  n.interval_s = 2;
  nic::NicQueueStats q;
  q.interrupts = c2s_irqs;
  n.directions.push_back({"cli_to_srv", {q}});
  q.interrupts = s2c_irqs;
  n.directions.push_back({"srv_to_cli", {q}});
  return n;
}

}  // namespace

TEST_CASE("sides: the client sends unless -R, --bidir streams alternate, the test is forward") {
  CHECK(data_sender(spec_of(Direction::kNormal)) == Side::kClient);
  CHECK(data_sender(spec_of(Direction::kReverse)) == Side::kServer);
  CHECK(data_sender(spec_of(Direction::kBidir)) == Side::kClient);
  CHECK(data_receiver(spec_of(Direction::kReverse)) == Side::kClient);
  CHECK(data_sender(spec_of(Direction::kNormal), 1) == Side::kClient);
  CHECK(data_sender(spec_of(Direction::kReverse), 0) == Side::kServer);
  CHECK(data_sender(spec_of(Direction::kBidir), 0) == Side::kClient);
  CHECK(data_sender(spec_of(Direction::kBidir), 1) == Side::kServer);
  CHECK(group_sender(spec_of(Direction::kBidir), false) == Side::kClient);
  CHECK(group_sender(spec_of(Direction::kBidir), true) == Side::kServer);
  CHECK(group_sender(spec_of(Direction::kReverse), false) == Side::kServer);
  CHECK(other(Side::kClient) == Side::kServer);
  CHECK(data_sender(Direction::kReverse) == Side::kServer);
  CHECK(std::string(side_name(Side::kServer)) == "server");
}

TEST_CASE("sides: each report's own side sends or receives, from the client's or server's view") {
  Report c = report_of(Direction::kNormal, true), s = report_of(Direction::kNormal, false);
  CHECK(local_sends(c));
  CHECK_FALSE(local_sends(s));
  CHECK_FALSE(local_receives_any(c));
  CHECK(local_receives_any(s));
  Report rc = report_of(Direction::kReverse, true);
  CHECK_FALSE(local_sends(rc));
  CHECK_FALSE(local_sends(rc, 0));
  Report b = report_of(Direction::kBidir, false);
  CHECK_FALSE(local_sends(b));  // the forward group is the client's
  CHECK_FALSE(local_sends(b, 2));
  CHECK(local_sends(b, 3));
  CHECK(local_receives_any(report_of(Direction::kBidir, true)));
  // Ends and costs by side, whichever side made the report.
  CHECK(side_end(c, Side::kClient) == &c.local);
  CHECK(side_end(s, Side::kClient) == &*s.remote);
  s.remote.reset();
  CHECK(side_end(s, Side::kClient) == nullptr);
  CHECK(side_end(s, Side::kServer) == &s.local);
  c.remote->cost = receiver_cost(false);
  CHECK(side_cost(c, Side::kServer) == &*c.remote->cost);
  CHECK(server_cost(c) == &*c.remote->cost);
  CHECK(side_cost(c, Side::kClient) == nullptr);
}

TEST_CASE("sides: the NIC figures of the data's direction") {
  Report r = report_of(Direction::kNormal, true);
  CHECK(data_direction(r) == nullptr);
  r.nic = nic_of(10, 20);
  REQUIRE(data_direction(r));
  CHECK(data_direction(r)->name == "cli_to_srv");
  r.spec.direction = Direction::kReverse;
  CHECK(data_direction(r)->name == "srv_to_cli");
  r.spec.direction = Direction::kBidir;
  CHECK(data_direction(r)->name == "cli_to_srv");
}

TEST_CASE("sweep figures: the receiver's CPU, NET_RX and interrupts come from its cost") {
  Report r = report_of(Direction::kNormal, true);
  ReceiverLoad none = receiver_load(r);  // no cost from the receiver: nothing measured
  CHECK_FALSE(none.cpu_percent);
  CHECK_FALSE(none.net_rx_cpu_percent);
  CHECK_FALSE(none.interrupts_per_s);
  r.local.cost = receiver_cost(true);  // the sender's: never the receiver's figures
  CHECK_FALSE(receiver_load(r).cpu_percent);
  r.remote->cost = receiver_cost(false);  // counted, not traced
  ReceiverLoad counted = receiver_load(r);
  CHECK(*counted.cpu_percent == doctest::Approx(25));
  CHECK_FALSE(counted.net_rx_cpu_percent);
  CHECK_FALSE(counted.interrupts_per_s);
  r.remote->cost = receiver_cost(true);
  ReceiverLoad traced = receiver_load(r);
  CHECK(*traced.net_rx_cpu_percent == doctest::Approx(10));
  CHECK(*traced.interrupts_per_s == doctest::Approx(1500));  // every traced hardirq
  // An empty window measures nothing.
  r.remote->cost->wall_s = 0;
  CHECK_FALSE(receiver_load(r).cpu_percent);
}

TEST_CASE("sweep figures: with --nic the interrupts are the NIC's in the data's direction") {
  Report r = report_of(Direction::kReverse, false);  // the server sends; the client receives
  r.remote->cost = receiver_cost(true);
  r.nic = nic_of(100, 400);
  ReceiverLoad load = receiver_load(r);
  CHECK(*load.interrupts_per_s == doctest::Approx(200));  // srv_to_cli over 2 s
  CHECK(*load.cpu_percent == doctest::Approx(25));
  r.nic->interval_s = 0;  // no window: no rate, and not the traced one either
  CHECK_FALSE(receiver_load(r).interrupts_per_s);
  // The sweep point keeps each absent figure out of its JSON, as before.
  Report plain = report_of(Direction::kNormal, true);
  Json j = sweep_json({sweep_point(plain, 0, 1000)});
  CHECK_FALSE(j[0].contains("nic_drops"));
  CHECK_FALSE(j[0].contains("receiver_cpu_percent"));
  CHECK_FALSE(j[0].contains("net_rx_cpu_percent"));
  CHECK_FALSE(j[0].contains("interrupts_per_second"));
  plain.remote->cost = receiver_cost(true);
  plain.nic = nic_of(10, 0);
  j = sweep_json({sweep_point(plain, 0, 1000)});
  CHECK(j[0]["nic_drops"] == 0);
  CHECK(j[0]["receiver_cpu_percent"].get<double>() == doctest::Approx(25));
  CHECK(j[0]["interrupts_per_second"].get<double>() == doctest::Approx(5));
}

TEST_CASE("sweep figures: NAPI budget exhaustion and time_squeeze from the receiving side") {
  Report r = report_of(Direction::kNormal, true);  // the server receives
  r.remote->cost = receiver_cost(false);
  ReceiverLoad plain = receiver_load(r);
  CHECK_FALSE(plain.napi_budget_share);  // napi_poll not traced, softnet not read
  CHECK_FALSE(plain.time_squeeze);
  NapiCount n;
  n.polls = 300;
  n.budget_exhausted = 30;
  r.remote->cost->napi = {n, n};
  n.polls = 400;
  n.budget_exhausted = 0;
  r.remote->cost->napi.push_back(n);
  SoftnetCount s;
  s.time_squeeze = 4;
  r.remote->cost->softnet = {s, s};
  r.local.cost = SideCost{};  // the sender's host figures never count
  r.local.cost->wall_s = 2;
  r.local.cost->softnet = {s};
  ReceiverLoad load = receiver_load(r);
  REQUIRE(load.napi_budget_share);
  CHECK(*load.napi_budget_share == doctest::Approx(0.06));  // 60 of 1000 polls
  CHECK(*load.time_squeeze == 8);
  SweepPoint p = sweep_point(r, 0, 1000);
  Json j = sweep_json({p});
  CHECK(j[0]["napi_budget_exhausted_share"].get<double>() == doctest::Approx(0.06));
  CHECK(j[0]["time_squeeze"] == 8);
  std::ostringstream text;
  print_sweep(text, r.spec, {p, sweep_point(report_of(Direction::kNormal, true), 0, 1000)});
  std::string t = text.str();
  CHECK(t.find("  NAPI budget  squeezed\n") != std::string::npos);
  CHECK(t.find("         6.0%         8\n") != std::string::npos);
  CHECK(t.find("            -         -\n") != std::string::npos);  // not measured: "-"
}
