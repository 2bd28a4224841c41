// --sweep-rate LO:HI:STEPS: the option's parsing and the geometric ladder of offered rates.
#include <doctest/doctest.h>

#include <cmath>

#include "nicperf/series/sweep.hpp"

using namespace nicperf;

TEST_CASE("--sweep-rate parses LO:HI:STEPS with k, m and g") {
  auto o = parse_sweep("50k:2M:10");
  REQUIRE(o);
  CHECK(o->lo_pps == 50e3);
  CHECK(o->hi_pps == 2e6);
  CHECK(o->steps == 10);
  auto one = parse_sweep("1000:1000:1");
  REQUIRE(one);
  CHECK(one->steps == 1);
}

TEST_CASE("--sweep-rate refuses what is not a sweep, as a usage error") {
  for (const char* text : {"", "50k", "50k:2M", "50k:2M:", "50k:2M:x", "50k:2M:3x", "50k:2M:0",
                           "50k:2M:101", "2M:50k:5", "0:10:3", "1:200M:3", "x:2M:3", "50k:y:3"}) {
    CAPTURE(text);
    auto o = parse_sweep(text);
    REQUIRE_FALSE(o);
    CHECK(o.error().code == Errc::kUsage);
  }
}

TEST_CASE("sweep rates rise geometrically from LO to HI") {
  SweepOptions o;
  o.lo_pps = 1000;
  o.hi_pps = 1e6;
  o.steps = 4;
  auto r = sweep_rates(o);
  REQUIRE(r.size() == 4);
  CHECK(r[0] == 1000);
  CHECK(r[1] == 10000);
  CHECK(r[2] == 100000);
  CHECK(r[3] == 1e6);

  o.lo_pps = 50e3;
  o.hi_pps = 2e6;
  o.steps = 10;
  r = sweep_rates(o);
  REQUIRE(r.size() == 10);
  CHECK(r.front() == 50e3);
  CHECK(r.back() == 2e6);
  double ratio = std::pow(40.0, 1.0 / 9);  // the same factor between every two steps
  for (std::size_t i = 1; i < r.size(); ++i)
    CHECK(r[i] / r[i - 1] == doctest::Approx(ratio).epsilon(1e-4));

  o.steps = 1;  // a single step offers the top rate
  r = sweep_rates(o);
  REQUIRE(r.size() == 1);
  CHECK(r[0] == 2e6);
}
