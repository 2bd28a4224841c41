// The path tables' lookup and the probe cache: each path is probed once, and
// NICPERF_DISABLE_PATHS takes a path out without probing it.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "nicperf/paths/dgram_path.hpp"
#include "nicperf/paths/registry.hpp"

using namespace nicperf;

namespace {

int g_probes = 0;
std::string counting_probe() {
  ++g_probes;
  return "no such thing here (" + std::to_string(g_probes) + ")";
}

}  // namespace

TEST_CASE("probe cache: one probe per path, the first answer kept") {
  static const int key_a = 0, key_b = 0;
  g_probes = 0;
  std::string first = cached_probe_answer(&key_a, "test-a", counting_probe);
  CHECK(first == "no such thing here (1)");
  CHECK(cached_probe_answer(&key_a, "test-a", counting_probe) == first);
  CHECK(g_probes == 1);
  CHECK(cached_probe_answer(&key_b, "test-b", counting_probe) == "no such thing here (2)");
  CHECK(g_probes == 2);
  CHECK(cached_probe_answer(&key_a, "test-a", counting_probe) == first);
  CHECK(g_probes == 2);
}

TEST_CASE("probe cache: NICPERF_DISABLE_PATHS names whole paths, unprobed") {
  static const int key_c = 0, key_d = 0, key_e = 0;
  g_probes = 0;
  REQUIRE(setenv("NICPERF_DISABLE_PATHS", "other,test-c", 1) == 0);
  CHECK(cached_probe_answer(&key_c, "test-c", counting_probe) ==
        "disabled by NICPERF_DISABLE_PATHS");
  CHECK(g_probes == 0);
  // A prefix of a listed name is not the name.
  CHECK(cached_probe_answer(&key_d, "test", counting_probe) == "no such thing here (1)");
  CHECK(cached_probe_answer(&key_e, "test-c2", counting_probe) == "no such thing here (2)");
  unsetenv("NICPERF_DISABLE_PATHS");
  // The answer stays cached after the variable goes.
  CHECK(cached_probe_answer(&key_c, "test-c", counting_probe) ==
        "disabled by NICPERF_DISABLE_PATHS");
}

TEST_CASE("path lookup finds each table's entries by name and nothing else") {
  for (const auto& info : send_paths()) CHECK(find_send_path(info.name) == &info);
  for (const auto& info : recv_paths()) CHECK(find_recv_path(info.name) == &info);
  for (const auto& info : dgram_send_paths()) CHECK(find_dgram_send_path(info.name) == &info);
  for (const auto& info : dgram_recv_paths()) CHECK(find_dgram_recv_path(info.name) == &info);
  REQUIRE(find_send_path("write"));
  CHECK(std::string(find_send_path("write")->summary).find("write()") != std::string::npos);
  CHECK(find_recv_path("discard"));
  CHECK(find_dgram_send_path("gso"));
  CHECK(find_dgram_recv_path("gro"));
  for (const char* bad : {"", "writ", "WRITE", "write ", "nope"}) {
    CAPTURE(bad);
    CHECK(find_send_path(bad) == nullptr);
    CHECK(find_dgram_recv_path(bad) == nullptr);
  }
  CHECK(find_recv_path("gro") == nullptr);  // a datagram path is not a stream path
  CHECK(path_unavailable(*find_send_path("write")).empty());
}
