#include <doctest/doctest.h>

#include "cost/steal.hpp"

using namespace nicperf;

TEST_CASE("steal per CPU from /proc/stat, over the side's CPUs") {
  const char* before =
      "cpu  100 0 50 1000 0 0 5 30 0 0\n"
      "cpu0 50 0 25 500 0 0 2 10 0 0\n"
      "cpu1 50 0 25 500 0 0 3 20 0 0\n"
      "cpu2 1 2 3 4 5 6 7\n"  // an old kernel's line without steal
      "intr 12345\n";
  const char* after =
      "cpu  100 0 50 1000 0 0 5 45 0 0\n"
      "cpu0 50 0 25 500 0 0 2 11 0 0\n"
      "cpu1 50 0 25 500 0 0 3 34 0 0\n";
  auto b = parse_steal(before, 100), e = parse_steal(after, 100);
  REQUIRE(b.size() == 2);  // the aggregate line and the short one are left out
  CHECK(b.at(0) == doctest::Approx(100e6));
  CHECK(steal_between(b, e, {}) == doctest::Approx(150e6));
  CHECK(steal_between(b, e, {1}) == doctest::Approx(140e6));
  CHECK(steal_between(b, e, {0}) == doctest::Approx(10e6));
  CHECK(steal_between(b, e, {5}) == 0);
}
