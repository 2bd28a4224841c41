// nicperf -s --max-tests N: tests at the same time, each isolated, each told of the others.
#include <dirent.h>
#include <doctest/doctest.h>
#include <unistd.h>

#include "harness.hpp"

using harness::Proc;
using harness::Server;
using nlohmann::json;

namespace {

using harness::kIperf3;

// Waits until the server has started `n` tests.
bool wait_started(Proc& server, int n, double seconds = 15) {
  return harness::wait_for_output(server, "Starting test:", seconds, n);
}

// Exact byte agreement and the number of other tests the server says overlapped this one.
int check_report(const json& j) {
  REQUIRE(j.is_object());
  CHECK_FALSE(j.contains("error"));
  const json& end = j["end"];
  auto sent = end["sum_sent"]["bytes"].get<std::uint64_t>();
  CHECK(sent > 0);
  CHECK(sent == end["sum_received"]["bytes"].get<std::uint64_t>());
  return end.value("overlapping_tests", 0);
}

// The server's open fds and threads.
std::pair<int, int> fd_and_thread_counts(pid_t pid) {
  std::string proc = "/proc/" + std::to_string(pid);
  return {harness::count_entries(proc + "/fd"), harness::count_entries(proc + "/task")};
}

// A finished test's thread may still be closing its perf and BPF fds after its client has
// gone (on a loaded machine each close can wait out an RCU grace period), so wait up to 10 s
// for the counts to come back down rather than for them to stop moving: a leak never does.
std::pair<int, int> counts_back_to(pid_t pid, std::pair<int, int> limit) {
  auto value = fd_and_thread_counts(pid);
  for (int i = 0; i < 200 && (value.first > limit.first || value.second > limit.second); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    value = fd_and_thread_counts(pid);
  }
  return value;
}

// The counts once they have not moved for half a second.
std::pair<int, int> quiet_counts(pid_t pid) {
  auto value = fd_and_thread_counts(pid);
  for (int same = 0, i = 0; same < 10 && i < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto again = fd_and_thread_counts(pid);
    same = again == value ? same + 1 : 0;
    value = again;
  }
  return value;
}

}  // namespace

TEST_CASE("concurrent: --max-tests 2 runs two clients at once, each isolated, each told" *
          doctest::test_suite("parallel")) {
  Server s({"--max-tests", "2"});
  REQUIRE(s.port() > 0);
  auto a = s.start_client({"-t", "3", "-P", "2", "-J"});
  auto b = s.start_client({"-t", "3", "-P", "3", "-R", "-J"});
  REQUIRE(a->wait(60) == 0);
  REQUIRE(b->wait(60) == 0);
  json ja = a->json(), jb = b->json();
  CHECK(check_report(ja) >= 1);
  CHECK(check_report(jb) >= 1);
  CHECK(ja["end"]["streams"].size() == 2);  // each test has its own streams
  CHECK(jb["end"]["streams"].size() == 3);
  CHECK(ja["start"]["cookie"] != jb["start"]["cookie"]);
  CHECK(ja["end"]["overlapping_peers"].size() >= 1);
  CHECK(ja["end"]["cost"].contains("server"));  // each test collected its own cost
  CHECK(jb["end"]["cost"].contains("server"));
  // The server's own text reports carry the note too.
  CHECK(harness::occurrences(s.proc().out(), "other test ran on the server during this test") >= 2);
  // Once both are done, a new test runs alone and says so.
  auto c = s.client({"-n", "10M", "-J"});
  CHECK(c->wait(0) == 0);
  CHECK(check_report(c->json()) == 0);
}

TEST_CASE("concurrent: with --max-tests 2 a third client is told the server is busy" *
          doctest::test_suite("parallel")) {
  Server s({"--max-tests", "2"});
  auto a = s.start_client({"-t", "4"});
  auto b = s.start_client({"-t", "4"});
  REQUIRE(wait_started(s.proc(), 2));
  auto third = s.client({"-t", "1"});
  CHECK(third->wait(0) == 4);
  CHECK(third->err().find("busy") != std::string::npos);
  CHECK(a->wait(60) == 0);
  CHECK(b->wait(60) == 0);
  CHECK(a->out().find("Note: 1 other test ran on the server during this test") !=
        std::string::npos);
  CHECK(s.proc().running());
}

TEST_CASE("concurrent: a default server (--max-tests 1) still refuses a second client" *
          doctest::test_suite("parallel")) {
  Server s;
  auto first = s.start_client({"-t", "3", "-J"});
  REQUIRE(wait_started(s.proc(), 1));
  auto second = s.client({"-t", "1"});
  CHECK(second->wait(0) == 4);
  CHECK(second->err().find("busy") != std::string::npos);
  REQUIRE(first->wait(30) == 0);
  CHECK(check_report(first->json()) == 0);
  CHECK(first->out().find("Note:") == std::string::npos);
}

TEST_CASE("concurrent: a stock iperf3 client and a nicperf client at once") {
  if (access(kIperf3, X_OK) != 0) {
    MESSAGE("skipping: iperf3 is not installed (apt-get install -y iperf3)");
    return;
  }
  Server s({"--max-tests", "2"});
  Proc iperf3(kIperf3, {"-c", "127.0.0.1", "-p", s.port_arg(), "-t", "3", "-J"});
  auto nicperf = s.start_client({"-t", "3", "-J"});
  REQUIRE(iperf3.wait(60) == 0);
  REQUIRE(nicperf->wait(60) == 0);
  check_report(iperf3.json());  // iperf3's report knows nothing of overlap
  CHECK(check_report(nicperf->json()) >= 1);
}

TEST_CASE("concurrent: a signal stops every running test and the server exits 0" *
          doctest::test_suite("parallel")) {
  Server s({"--max-tests", "3"});
  auto a = s.start_client({"-t", "20"});
  auto b = s.start_client({"-t", "20", "-R"});
  REQUIRE(wait_started(s.proc(), 2));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  s.proc().signal(SIGINT);
  CHECK(s.proc().wait(15) == 0);
  CHECK(s.proc().out().find("stopped by signal") != std::string::npos);
  CHECK(a->wait(30) != 0);  // told the test was stopped, not left hanging
  CHECK(b->wait(30) != 0);
}

TEST_CASE("concurrent: --one-off with --max-tests serves one test, then exits" *
          doctest::test_suite("parallel")) {
  Server s({"--max-tests", "2", "-1"});
  auto c = s.client({"-n", "10M", "-J"});
  CHECK(c->wait(0) == 0);
  CHECK(check_report(c->json()) == 0);
  CHECK(s.proc().wait(15) == 0);
}

TEST_CASE("concurrent: --max-tests takes 1 to 64, on the server only" *
          doctest::test_suite("parallel")) {
  for (const char* n : {"0", "65", "-3"}) {
    Proc p({"-s", "-p", "0", "--max-tests", n});
    CHECK(p.wait(10) == 2);
    CHECK(p.err().find("--max-tests") != std::string::npos);
  }
  Proc client({"-c", "127.0.0.1", "--max-tests", "2"});
  CHECK(client.wait(10) == 2);
  CHECK(client.err().find("for the server") != std::string::npos);
}

TEST_CASE("concurrent: rounds of concurrent tests leave the server's fds and threads alone" *
          doctest::test_suite("parallel")) {
  Server s({"--max-tests", "3"});
  REQUIRE(s.port() > 0);
  auto warm = s.client({"-n", "64K"});
  REQUIRE(warm->wait(0) == 0);
  auto before = quiet_counts(s.proc().pid());
  for (int round = 0; round < 15; ++round) {
    std::vector<std::unique_ptr<Proc>> clients;
    for (const char* streams : {"1", "2", "3", "1"})  // four at a time: one may hear busy
      clients.push_back(s.start_client({"-n", "256K", "-i", "0", "-P", streams}));
    for (auto& c : clients) {
      int code = c->wait(30);
      CHECK((code == 0 || code == 4));
    }
  }
  auto after = counts_back_to(s.proc().pid(), before);
  CHECK(after.first <= before.first);    // fds
  CHECK(after.second <= before.second);  // threads
  s.proc().signal(SIGTERM);
  CHECK(s.proc().wait(10) == 0);
}

TEST_CASE("concurrent: each test's cost leaves the other test's threads out of its own") {
  Server s({"--max-tests", "2"});
  auto a = s.start_client({"-t", "5", "-P", "2", "-J"});
  REQUIRE(wait_started(s.proc(), 1));
  // B's collector opens its counters while A's stream threads run in the same process.
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  auto b = s.start_client({"-t", "2", "-P", "2", "-R", "-J"});
  REQUIRE(a->wait(60) == 0);
  REQUIRE(b->wait(60) == 0);
  json ja = a->json(), jb = b->json();
  CHECK(check_report(ja) >= 1);
  CHECK(check_report(jb) >= 1);
  for (const json* j : {&ja, &jb}) {
    const json& cost = (*j)["end"]["cost"]["server"];
    if (cost["level"] == "rusage" || cost["level"] == "off") {
      MESSAGE("skipping: no per-thread counters here (" << cost["reason"] << ")");
      return;
    }
    CHECK(cost["per_stream"].size() == 2);
    // The rest of the process is the server's idle accept and control threads: the other
    // test's busy stream threads, counted there, would make it as large as the streams.
    double streams = cost["streams"]["task_clock_ns"].get<double>();
    double rest = cost["rest_of_process"]["task_clock_ns"].get<double>();
    CAPTURE(streams);
    CAPTURE(rest);
    CHECK(rest < streams / 4);
  }
}
