// A series of tests (--repeat, --compare, --sweep-rate) stopped by a signal: the series ends
// after the test the signal interrupts, prints what it measured and exits 130.
#include <doctest/doctest.h>

#include <csignal>

#include "harness.hpp"

using harness::Proc;
using harness::Server;
using nlohmann::json;

namespace {

// Waits until the server has taken the series' second test: the first one has finished, and a
// signal sent now lands in the second, however slowly a loaded or sanitized build starts up.
void wait_for_second_test(Server& s) {
  REQUIRE(harness::wait_for_output(s.proc(), "Accepted connection from", 60, 2));
}

}  // namespace

TEST_CASE("series: SIGINT during --repeat stops the series, prints its runs and exits 130" *
          doctest::test_suite("parallel")) {
  Server s;
  // Three rounds of 2 s: the signal lands in the second.
  auto c = s.start_client({"-t", "2", "-i", "0", "--repeat", "3", "-J"});
  wait_for_second_test(s);
  c->signal(SIGINT);
  CHECK(c->wait(30) == 130);
  json j = c->json();
  CHECK(j["interrupted"] == true);
  const json& runs = j["compare"]["runs"];
  REQUIRE(runs.size() >= 1);
  CHECK(runs.size() < 3);  // no round starts after the signal
  CHECK(runs[0]["bits_per_second"].get<double>() > 0);
  // The server takes the next client as usual.
  auto after = s.client({"-n", "1M"});
  CHECK(after->wait(0) == 0);
}

TEST_CASE("series: SIGINT during --compare stops it and prints the table of finished runs" *
          doctest::test_suite("parallel")) {
  Server s;
  auto c = s.start_client({"-t", "2", "-i", "0", "--compare", "write,sendfile", "--repeat", "2"});
  wait_for_second_test(s);
  c->signal(SIGINT);
  CHECK(c->wait(30) == 130);
  std::string out = c->out();
  CHECK(out.find("Comparison against 127.0.0.1") != std::string::npos);
  CHECK(out.find("Comparison interrupted: the table covers the runs that finished.") !=
        std::string::npos);
}

TEST_CASE("series: SIGTERM during a --sweep-rate step stops the sweep and exits 130" *
          doctest::test_suite("parallel")) {
  Server s;
  auto c = s.start_client({"-u", "-l", "1000", "-t", "2", "--sweep-rate", "1k:2k:4", "-J"});
  wait_for_second_test(s);
  c->signal(SIGTERM);
  CHECK(c->wait(30) == 130);
  json j = c->json();
  CHECK(j["interrupted"] == true);
  const json& points = j["sweep"]["points"];
  REQUIRE(points.size() >= 1);
  CHECK(points.size() < 4);
  CHECK(points[0]["delivered"].get<std::uint64_t>() > 0);
}

TEST_CASE("series: a --sweep-rate step that cannot start names why in its point and row" *
          doctest::test_suite("parallel")) {
  Server s;
  // --nic with no daemon on the socket: every step fails before its test runs.
  auto c = s.start_client({"-u", "-l", "64", "-t", "1", "--sweep-rate", "1k:2k:2", "--nic",
                           "/nonexistent/nicperf-nicd.sock", "-J"});
  CHECK(c->wait(30) != 0);
  json j = c->json();
  const json& points = j["sweep"]["points"];
  REQUIRE(points.size() == 2);
  for (const json& p : points) {
    CHECK(p["exit_code"].get<int>() != 0);
    CHECK(p.value("error", "").find("no nicperf-nicd answers") != std::string::npos);
  }
}
