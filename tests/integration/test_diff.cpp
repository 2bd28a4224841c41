// `nicperf diff` on results the real binary saved on loopback.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>

#include "harness.hpp"

using harness::Proc;
using harness::Server;
using harness::TempFile;

namespace {

// A temp file removed however the test ends.
}  // namespace

TEST_CASE("nicperf diff compares two saved --repeat results" * doctest::test_suite("parallel")) {
  Server s;
  REQUIRE(s.port() > 0);
  TempFile a, b;
  for (const std::string* path : {&a.path, &b.path}) {
    auto c = s.client({"-t", "1", "-i", "0", "--repeat", "2", "-J"}, 60);
    REQUIRE(c->wait(0) == 0);
    std::ofstream(*path) << c->out();
  }

  Proc text({"diff", a.path, b.path});
  REQUIRE(text.wait(10) == 0);
  std::string out = text.out();
  CHECK(out.find("Gbit/s") != std::string::npos);
  CHECK(out.find("(n=2 vs n=2)") != std::string::npos);
  bool verdict = out.find("Verdict: no significant change\n") != std::string::npos ||
                 out.find("Verdict: improvement\n") != std::string::npos ||
                 out.find("Verdict: regression\n") != std::string::npos;
  CHECK(verdict);
  CHECK(text.err().empty());

  Proc machine({"diff", "--json", a.path, b.path});
  REQUIRE(machine.wait(10) == 0);
  auto j = machine.json();
  REQUIRE(j.is_object());
  CHECK(j["diff"]["kind"] == "compare");
  CHECK(j["diff"]["rows"][0]["figures"][0]["figure"] == "gbps");
  CHECK(j["diff"]["verdict"].is_string());

  // The same file twice is no change by construction, whatever the noise.
  Proc same({"diff", "--fail-on-regression", a.path, a.path});
  CHECK(same.wait(10) == 0);
  CHECK(same.out().find("Verdict: no significant change") != std::string::npos);
}

TEST_CASE("nicperf diff: an unreadable or foreign file is a usage error on one line" *
          doctest::test_suite("parallel")) {
  TempFile bad, good;
  std::ofstream(bad.path) << "{\"hello\": 1}\n";
  Server s;
  REQUIRE(s.port() > 0);
  auto c = s.client({"-t", "0.5", "-i", "0", "-J"});
  REQUIRE(c->wait(0) == 0);
  std::ofstream(good.path) << c->out();

  for (const auto& args : {std::vector<std::string>{"diff", good.path, bad.path},
                           std::vector<std::string>{"diff", good.path, "/nonexistent/x.json"},
                           std::vector<std::string>{"diff", good.path}}) {
    harness::check_usage_error(args);
  }
}
