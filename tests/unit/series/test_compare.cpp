#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

#include "nicperf/series/compare.hpp"

using namespace nicperf;

TEST_CASE("spread: median, min and max") {
  Spread odd = spread({3, 1, 2});
  CHECK(odd.median == 2);
  CHECK(odd.min == 1);
  CHECK(odd.max == 3);
  Spread even = spread({4, 1, 3, 2});
  CHECK(even.median == 2.5);
  CHECK(spread({}).n == 0);
  Spread ci = spread({1, 2, 3});  // mean 2, sd 1, t(2 df) = 4.303
  CHECK(ci.mean == doctest::Approx(2));
  CHECK(ci.ci95 == doctest::Approx(4.303 / std::sqrt(3.0)));
  CHECK(spread({5}).ci95 == 0);
}

TEST_CASE("rounds rotate the order so every path takes every position") {
  CHECK(round_order(3, 0) == std::vector<std::size_t>{0, 1, 2});
  CHECK(round_order(3, 1) == std::vector<std::size_t>{1, 2, 0});
  CHECK(round_order(3, 2) == std::vector<std::size_t>{2, 0, 1});
}

TEST_CASE("rows summarize runs, failures are counted, not averaged in") {
  CompareResult r;
  auto run = [](const char* send, double gbps, int code) {
    CompareRun x;
    x.send_mode = send;
    x.recv_mode = "read";
    x.gbps = gbps;
    x.exit_code = code;
    return x;
  };
  r.runs = {run("write", 10, 0), run("write", 20, 0), run("write", 99, 1), run("sendfile", 5, 0)};
  summarize(r, {{"write", "read", ""}, {"sendfile", "read", ""}, {"splice", "read", ""}},
            {"", "", "no pipes"});
  REQUIRE(r.rows.size() == 3);
  CHECK(r.rows[0].gbps.median == 15);
  CHECK(r.rows[0].failures == 1);
  CHECK(r.rows[1].gbps.n == 1);
  CHECK(r.rows[2].unavailable == "no pipes");
  Json j = compare_json(r);
  CHECK(j["rows"][2]["unavailable"] == "no pipes");
  CHECK(j["runs"].size() == 4);
  CHECK_FALSE(j["rows"][0].contains("sender_cycles_per_byte"));  // no PMU: no cycles, no null
}

TEST_CASE("--repeat rows carry cycles per byte per side when a PMU measured them") {
  CompareResult r;
  for (double c : {1.0, 3.0, 2.0}) {
    CompareRun x;
    x.send_mode = "write";
    x.recv_mode = "read";
    x.gbps = 10;
    x.sender_cycles_per_byte = c;
    x.receiver_cycles_per_byte = c / 2;
    r.runs.push_back(x);
  }
  summarize(r, {{"write", "read", ""}}, {""});
  CHECK(r.rows[0].sender_cycles_per_byte.median == 2.0);
  CHECK(r.rows[0].sender_cycles_per_byte.n == 3);
  CHECK(r.rows[0].receiver_cycles_per_byte.max == 1.5);
  Json j = compare_json(r);
  CHECK(j["rows"][0]["sender_cycles_per_byte"]["median"] == 2.0);
  CHECK(j["rows"][0]["sender_cycles_per_byte"].contains("ci95"));
  CHECK(j["runs"][0]["receiver_cycles_per_byte"] == 0.5);
  std::ostringstream text;
  print_compare(text, r);
  CHECK(text.str().find("cycles per byte") != std::string::npos);
}
