// NAPI and softnet figures in the cost JSON: both ways, so the server's come back to the client.
#include <doctest/doctest.h>

#include "nicperf/cost/cost.hpp"

using namespace nicperf;

namespace {

SideCost napi_cost() {
  SideCost c;
  c.level = CostLevel::kCounters;
  c.wall_s = 1;
  NapiCount n;
  n.dev = "(no_device)";
  n.cpu = 3;
  n.polls = 100;
  n.packets = 4000;
  n.budget_exhausted = 7;
  n.per_poll = {1, 2, 3, 4, 5, 6, 7, 8, 64};
  c.napi.push_back(n);
  n.dev = "nptap-srv";
  n.cpu = 0;
  c.napi.push_back(n);
  SoftnetCount old;  // a kernel that prints neither rps nor flow limit
  old.cpu = 1;
  old.processed = 12;
  SoftnetCount s;
  s.cpu = 2;
  s.processed = 5000;
  s.dropped = 1;
  s.time_squeeze = 9;
  s.received_rps = 0;
  s.flow_limit = 2;
  c.softnet = {old, s};
  return c;
}

}  // namespace

TEST_CASE("cost JSON: napi and softnet round trip, absent columns stay absent") {
  SideCost c = napi_cost();
  nlohmann::json j = to_json(c);
  REQUIRE(j["napi"].size() == 2);
  CHECK(j["napi"][0]["dev"] == "(no_device)");
  CHECK(j["napi"][0]["budget_exhausted"] == 7);
  CHECK(j["napi"][0]["per_poll"].size() == kNapiHistBuckets);
  CHECK(j["napi"][0]["per_poll"][8] == 64);
  REQUIRE(j["softnet"].size() == 2);
  CHECK_FALSE(j["softnet"][0].contains("received_rps"));
  CHECK_FALSE(j["softnet"][0].contains("flow_limit"));
  CHECK(j["softnet"][1]["received_rps"] == 0);
  CHECK(j["softnet"][1]["time_squeeze"] == 9);
  auto back = cost_from_json(j);
  REQUIRE(back);
  CHECK(to_json(*back) == j);
  REQUIRE(back->napi.size() == 2);
  CHECK(back->napi[1].dev == "nptap-srv");
  CHECK(back->napi[0].per_poll == c.napi[0].per_poll);
  CHECK_FALSE(back->softnet[0].received_rps);
  CHECK(*back->softnet[1].flow_limit == 2);
}

TEST_CASE("cost JSON: no napi or softnet keys without figures, malformed ones are refused") {
  SideCost none;
  none.level = CostLevel::kRusage;
  nlohmann::json j = to_json(none);
  CHECK_FALSE(j.contains("napi"));
  CHECK_FALSE(j.contains("softnet"));
  auto back = cost_from_json(j);
  REQUIRE(back);
  CHECK(back->napi.empty());
  CHECK(back->softnet.empty());
  nlohmann::json bad = to_json(napi_cost());
  bad["napi"][0]["per_poll"] = {1, 2, 3};  // fewer buckets than the histogram has
  CHECK_FALSE(cost_from_json(bad));
  bad = to_json(napi_cost());
  bad["softnet"] = 5;
  CHECK_FALSE(cost_from_json(bad));
  bad = to_json(napi_cost());
  bad["softnet"][0].erase("processed");
  CHECK_FALSE(cost_from_json(bad));
  bad = to_json(napi_cost());
  bad["napi"][0]["dev"] = 3;
  CHECK_FALSE(cost_from_json(bad));
}
