#include <doctest/doctest.h>

#include "nicperf/cost/cost.hpp"

using namespace nicperf;

namespace {

SideCost sample_cost() {
  SideCost c;
  c.level = CostLevel::kFull;
  c.wall_s = 2;
  c.bytes = 1000000000;
  c.streams.task_clock_ns = 1e9;
  c.streams.utime_s = 0.1;
  c.streams.stime_s = 0.9;
  c.streams.context_switches = 50;
  c.traced = true;
  c.streams_irq.net_rx = {200000000, 1000};
  c.peer_irq.net_rx = {5, 1};
  c.collector.task_clock_ns = 2e7;
  return c;
}

}  // namespace

TEST_CASE("derived figures come from the measured ones") {
  DerivedCost d = derive(sample_cost());
  CHECK(d.cpu_percent == doctest::Approx(50));
  CHECK(d.cpu_ns_per_byte == doctest::Approx(1.0));
  CHECK(d.user_share == doctest::Approx(0.1));
  CHECK(d.kernel_share == doctest::Approx(0.9));
  CHECK(d.softirq_share == doctest::Approx(0.2));
  CHECK(d.net_rx_per_gb == doctest::Approx(1000));
  CHECK(d.context_switches_per_gb == doctest::Approx(50));
  CHECK(d.collector_percent == doctest::Approx(1));
  CHECK_FALSE(d.cycles_per_byte);  // no hardware counters: no figure, never a guess
  CHECK_FALSE(d.ipc);
}

TEST_CASE("hardware counters give cycles per byte and IPC") {
  SideCost c = sample_cost();
  c.streams.has_hardware = true;
  c.streams.cycles = 3e9;
  c.streams.instructions = 6e9;
  DerivedCost d = derive(c);
  REQUIRE(d.cycles_per_byte);
  CHECK(*d.cycles_per_byte == doctest::Approx(3));
  CHECK(*d.ipc == doctest::Approx(2));
}

TEST_CASE("cost JSON round trips and malformed peer figures are refused") {
  SideCost c = sample_cost();
  auto back = cost_from_json(to_json(c));
  REQUIRE(back);
  CHECK(to_json(*back) == to_json(c));
  auto bad = to_json(c);
  bad["level"] = "extreme";
  CHECK_FALSE(cost_from_json(bad));
  bad = to_json(c);
  bad["streams"]["task_clock_ns"] = "lots";
  CHECK_FALSE(cost_from_json(bad));
  CHECK_FALSE(cost_from_json(nlohmann::json::array()));
}

TEST_CASE("cost levels by name") {
  CHECK(parse_cost_level("full") == CostLevel::kFull);
  CHECK(parse_cost_level("off") == CostLevel::kOff);
  CHECK_FALSE(parse_cost_level("most"));
}

TEST_CASE("the fallback ladder: full to bpf to ring to counters to rusage, each with its reason") {
  CostFallback full{CostLevel::kFull, ""};
  CostFallback c = fall_back(full, CostLevel::kFull, "BPF refused: NICPERF_DISABLE_BPF=1");
  CHECK(c.level == CostLevel::kRing);
  c = fall_back(c, CostLevel::kRing, "no tracefs");
  CHECK(c.level == CostLevel::kCounters);
  CHECK(c.reason == "BPF refused: NICPERF_DISABLE_BPF=1; no tracefs");
  c = fall_back(c, CostLevel::kCounters, "perf_event_paranoid is 3");
  CHECK(c.level == CostLevel::kRusage);
  CHECK(c.reason == "BPF refused: NICPERF_DISABLE_BPF=1; no tracefs; perf_event_paranoid is 3");
  // A forced level falls down the same ladder.
  CostFallback bpf = fall_back({CostLevel::kBpf, ""}, CostLevel::kBpf, "no bpf");
  CHECK(bpf.level == CostLevel::kRing);
  CostFallback ring = fall_back({CostLevel::kRing, ""}, CostLevel::kRing, "no tracefs");
  CHECK(ring.level == CostLevel::kCounters);
  CHECK(fall_back({CostLevel::kRing, ""}, CostLevel::kBpf, "no bpf").level == CostLevel::kRing);
  // Counters failing under a full request skip straight to rusage.
  CostFallback skip = fall_back(full, CostLevel::kCounters, "no perf");
  CHECK(skip.level == CostLevel::kRusage);
  CHECK(skip.reason == "no perf");
  // A failure above the level in use, or of rusage and off, changes nothing.
  CostFallback counters{CostLevel::kCounters, ""};
  CostFallback same = fall_back(counters, CostLevel::kFull, "no tracefs");
  CHECK(same.level == CostLevel::kCounters);
  CHECK(same.reason.empty());
  for (auto l : {CostLevel::kRusage, CostLevel::kOff}) {
    CostFallback kept = fall_back({l, ""}, l, "never");
    CHECK(kept.level == l);
    CHECK(kept.reason.empty());
  }
}

TEST_CASE("the collector hands back figures at rusage and nothing at off, through one path") {
  CostInputs in;
  in.stream_bytes = {1000, 2000};
  in.data_seconds = 0.5;
  CostCollector off(CostLevel::kOff);
  off.attach({});
  off.begin();
  off.end();
  CHECK(off.level() == CostLevel::kOff);
  CHECK_FALSE(off.result(in));

  CostCollector rusage(CostLevel::kRusage);
  rusage.attach({});
  rusage.begin();
  volatile double x = 0;
  for (int i = 0; i < 2'000'000; ++i) x = x + i;
  rusage.end();
  auto c = rusage.result(in);
  REQUIRE(c);
  CHECK(c->level == CostLevel::kRusage);
  CHECK(c->requested == CostLevel::kRusage);
  CHECK(c->reason.empty());
  CHECK(c->bytes == 3000);
  CHECK(c->wall_s == doctest::Approx(0.5));
  CHECK(c->rest.utime_s >= 0);
  CHECK(c->rest.task_clock_ns ==
        doctest::Approx((c->rest.utime_s + c->rest.stime_s) * 1e9).epsilon(1e-9));
  CHECK(c->per_stream.empty());
  CHECK_FALSE(c->traced);
  CHECK(rusage.stream_task_clock().empty());
  CHECK_FALSE(rusage.traced_irq(1));
}
