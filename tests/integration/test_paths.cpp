// Every send and receive path on loopback: exact byte counts, every byte verified, and the
// zero-copy figures the kernel reports.
#include <doctest/doctest.h>

#include "harness.hpp"
#include "nicperf/paths/registry.hpp"

using harness::Proc;
using harness::Server;
using nlohmann::json;

namespace {

constexpr const char* kBytes = "31457287";  // 30 MiB + 7: not a multiple of any block

void check_exact(const json& j) {
  REQUIRE(j.is_object());
  CHECK(j["end"]["sum_sent"]["bytes"] == std::stoull(kBytes));
  CHECK(j["end"]["sum_received"]["bytes"] == std::stoull(kBytes));
}

}  // namespace

TEST_CASE("every send path moves exactly -n bytes, verified, both directions" *
          doctest::test_suite("parallel")) {
  Server s;
  for (const auto& path : nicperf::send_paths()) {
    if (path.caps & nicperf::kCapNoIo) continue;
    CAPTURE(path.name);
    if (auto why = nicperf::path_unavailable(path); !why.empty()) {
      MESSAGE("skipping send path " << path.name << ": " << why);
      continue;
    }
    for (const char* dir : {"", "-R"}) {
      CAPTURE(dir);
      std::vector<std::string> args = {"-n", kBytes,   "-l",      "100000",   "-P",
                                       "2",  "--mode", path.name, "--verify", "-J"};
      if (*dir) args.push_back(dir);
      auto c = s.client(args);
      CHECK(c->wait(0) == 0);
      check_exact(c->json());
    }
  }
}

TEST_CASE("every receive path counts exactly and delivers the right bytes" *
          doctest::test_suite("parallel")) {
  Server s;
  for (const auto& path : nicperf::recv_paths()) {
    if (path.caps & nicperf::kCapNoIo) continue;
    CAPTURE(path.name);
    if (auto why = nicperf::path_unavailable(path); !why.empty()) {
      MESSAGE("skipping receive path " << path.name << ": " << why);
      continue;
    }
    for (const char* mode : {"write", "sendfile", "zerocopy"}) {
      for (const char* dir : {"", "-R"}) {
        CAPTURE(mode);
        CAPTURE(dir);
        std::vector<std::string> args = {"-n",          kBytes,    "--mode", mode,
                                         "--recv-mode", path.name, "-J"};
        if (path.caps & nicperf::kCapDelivers) args.push_back("--verify");
        if (*dir) args.push_back(dir);
        auto c = s.client(args);
        CHECK(c->wait(0) == 0);
        check_exact(c->json());
      }
    }
  }
}

TEST_CASE("--verify with a receive path that delivers nothing is refused" *
          doctest::test_suite("parallel")) {
  Proc c({"-c", "127.0.0.1", "--recv-mode", "discard", "--verify"});
  CHECK(c.wait(10) == 2);
  CHECK(c.err().find("delivers") != std::string::npos);
}

TEST_CASE("on loopback the kernel copies every zero-copy send, and the report says so" *
          doctest::test_suite("parallel")) {
  Server s;
  for (const char* mode : {"zerocopy", "uring-zc"}) {
    CAPTURE(mode);
    const auto* info = nicperf::find_send_path(mode);
    REQUIRE(info);
    if (auto why = nicperf::path_unavailable(*info); !why.empty()) {
      MESSAGE("skipping " << mode << ": " << why);
      continue;
    }
    auto c = s.client({"-n", "50M", "--mode", mode, "-J"});
    REQUIRE(c->wait(0) == 0);
    json send = c->json()["end"]["paths"]["send"];
    CHECK(send["zerocopy_completions"].get<std::uint64_t>() > 0);
    CHECK(send["copied_share"] == doctest::Approx(1.0));
    auto text = s.client({"-n", "50M", "--mode", mode});
    CHECK(text->out().find(
              "this result is mostly NOT zero-copy (on loopback the kernel always copies)") !=
          std::string::npos);
  }
}

TEST_CASE("zero-copy receive accounts every byte as mapped or copied" *
          doctest::test_suite("parallel")) {
  Server s;
  const auto* info = nicperf::find_recv_path("zerocopy");
  REQUIRE(info);
  if (auto why = nicperf::path_unavailable(*info); !why.empty()) {
    MESSAGE("skipping: " << why);
    return;
  }
  auto c = s.client({"-n", "50M", "--recv-mode", "zerocopy", "--mode", "zerocopy", "-J"});
  REQUIRE(c->wait(0) == 0);
  json recv = c->json()["end"]["paths"]["recv"];
  CHECK(recv["mapped_bytes"].get<std::uint64_t>() + recv["copied_bytes"].get<std::uint64_t>() ==
        50u << 20);
}

TEST_CASE("a path taken out is reported unavailable with its reason, never replaced" *
          doctest::test_suite("parallel")) {
  setenv("NICPERF_DISABLE_PATHS", "splice", 1);
  Proc list({"--mode", "list"});
  list.wait(10);
  CHECK(list.out().find("splice      unavailable") != std::string::npos);
  CHECK(list.out().find("disabled by NICPERF_DISABLE_PATHS") != std::string::npos);
  Server s;
  auto c = s.client({"-n", "1M", "--mode", "splice"});
  CHECK(c->wait(0) == 2);
  CHECK(c->err().find("send mode 'splice' is unavailable on the client") != std::string::npos);
  auto cmp = s.client({"-t", "0.5", "-i", "0", "--compare", "write,splice", "--repeat", "1", "-J"});
  CHECK(cmp->wait(0) == 0);
  json rows = cmp->json()["compare"]["rows"];
  REQUIRE(rows.size() == 2);
  CHECK(rows[1]["unavailable"] == "disabled by NICPERF_DISABLE_PATHS");
  unsetenv("NICPERF_DISABLE_PATHS");
}

TEST_CASE("--compare JSON holds one run per path and round, and a row per path" *
          doctest::test_suite("parallel")) {
  Server s;
  auto c = s.client({"-t", "0.5", "-i", "0", "--compare", "write,sendfile,uring", "--recv-mode",
                     "read,discard", "--repeat", "2", "-J"},
                    120);
  REQUIRE(c->wait(0) == 0);
  json cmp = c->json()["compare"];
  CHECK(cmp["runs"].size() == 3 * 2 * 2);
  CHECK(cmp["rows"].size() == 6);
  for (const auto& row : cmp["rows"]) {
    CHECK(row["gbps"]["n"] == 2);
    CHECK(row["gbps"]["median"].get<double>() > 0);
  }
  // The order rotates: round 2 does not start with the path round 1 started with.
  auto pair = [&](int i) {
    return cmp["runs"][i]["send_mode"].get<std::string>() + "/" +
           cmp["runs"][i]["recv_mode"].get<std::string>();
  };
  CHECK(pair(0) != pair(6));
  CHECK(pair(1) == pair(6));
}

TEST_CASE("--repeat on one test reports its spread with a 95% confidence interval" *
          doctest::test_suite("parallel")) {
  Server s;
  auto c = s.client({"-t", "0.5", "-i", "0", "--repeat", "3", "-J"}, 60);
  REQUIRE(c->wait(0) == 0);
  json row = c->json()["compare"]["rows"][0];
  CHECK(row["send_mode"] == "write");
  CHECK(row["gbps"]["n"] == 3);
  CHECK(row["gbps"]["ci95"].get<double>() >= 0);
  CHECK(row["gbps"]["min"].get<double>() <= row["gbps"]["median"].get<double>());
}
