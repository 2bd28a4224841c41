// --rr -u, end to end: one request datagram and one response datagram per transaction, on
// loopback, and through nicperf-nicd with loss it injects (root only; skipped otherwise).
#include <doctest/doctest.h>

#include "harness.hpp"
#include "nic_harness.hpp"

using namespace harness;
using nlohmann::json;

namespace {}  // namespace

TEST_CASE("udp rr: request/response on loopback reports transactions and ordered percentiles") {
  Server s;
  REQUIRE(s.port() > 0);
  auto c = s.client({"--rr", "-u", "-t", "2", "-P", "2", "-J"});
  INFO(c->err());
  REQUIRE(c->wait(0) == 0);
  json j = c->json();
  CHECK(j["start"]["test_start"]["protocol"] == "UDP");
  const json& rr = j["end"]["sum_rr"];
  auto n = u64(rr, "transactions");
  CHECK(n > 200);
  CHECK(u64(rr["latency_ns"], "count") == n);
  harness::check_latency_ordered(rr["latency_ns"]);
  // Loopback loses nothing, but on a loaded machine a response may come after the 1 ms floor
  // of the timeout and count as lost; nearly every transaction is answered.
  CHECK(u64(rr, "lost_transactions") <= n / 20);
  // 1-byte requests: the client's bytes are the requests it sent, answered or lost.
  CHECK(j["end"]["sum_sent"]["bytes"].get<std::uint64_t>() == n + u64(rr, "lost_transactions"));
  for (const json& st : j["end"]["streams"]) CHECK(st.contains("rr"));
  nic_harness::check_schema(j);
  auto t = s.client({"--rr", "-u", "-t", "1", "--req", "100", "--resp", "2K"});
  REQUIRE(t->wait(0) == 0);
  INFO(t->out());
  CHECK(t->out().find("p99.9") != std::string::npos);
  CHECK(t->out().find("Trans/s") != std::string::npos);
  CHECK(t->out().find("Lost transactions: ") != std::string::npos);
  CHECK(t->out().find("request/response over UDP, 1 stream") != std::string::npos);
}

TEST_CASE("udp rr: option errors are one line and exit 2" * doctest::test_suite("parallel")) {
  check_usage_error({"-c", "127.0.0.1", "-u", "--rr", "--req", "70000"});
  check_usage_error({"-c", "127.0.0.1", "-u", "--rr", "-R"});
  check_usage_error({"-c", "127.0.0.1", "-u", "--rr", "-b", "1M"});
}

TEST_CASE("udp rr: loss injected by nicd is counted as lost transactions" *
          doctest::test_suite("root")) {
  if (!nic_harness::have_root()) return;
  nic_harness::Nic nic;
  REQUIRE(nic.up({"--loss", "5"}));
  json j = nic_harness::run_test(nic, {"--rr", "-u", "-t", "3"});
  const json& rr = j["end"]["sum_rr"];
  auto n = u64(rr, "transactions");
  auto lost = u64(rr, "lost_transactions");
  CHECK(n > 100);
  CHECK(lost > 0);
  harness::check_latency_ordered(rr["latency_ns"]);
  // Each transaction crosses the lossy NIC twice: about 1 - 0.95^2 = 9.75% are lost.
  double pct = 100.0 * double(lost) / double(n + lost);
  CHECK(pct > 5.0);
  CHECK(pct < 15.0);
  // Every request sent is a transaction or a lost one (1-byte requests); the server read the
  // requests that got through, about 95% of them, and answered each.
  auto sent = j["end"]["sum_sent"]["bytes"].get<std::uint64_t>();
  auto received = j["end"]["sum_received"]["bytes"].get<std::uint64_t>();
  CHECK(sent == n + lost);
  CHECK(received <= sent);
  CHECK(received >= n);
  nic_harness::check_schema(j);
}
