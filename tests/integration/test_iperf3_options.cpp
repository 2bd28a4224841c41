// iperf3's options end to end: stock iperf3 clients (Debian's 3.12) with each option against
// nicperf -s, exact counts; what nicperf cannot serve is answered with the real reason; and
// nicperf's own -k, --cport, -T, --timestamps and -I on loopback.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>

#include "harness.hpp"

using harness::have_iperf3;
using harness::kIperf3;
using harness::Proc;
using nlohmann::json;

namespace {
// The byte count a stock client ends at. When nicperf sends (-R) it stops exactly at -n/-k.
// When iperf3 3.12 sends, its multisend loop skips the -n/-k check on the loop's last pass
// (iperf_send: "if (multisend > 1 && ... bytes_sent >= bytes) break"), so each of its -P
// streams may send one block more; nicperf must then have received exactly those bytes too
// (the caller checks sent == received).
std::string arg_after(const std::vector<std::string>& args, const std::string& flag,
                      const std::string& fallback) {
  auto it = std::find(args.begin(), args.end(), flag);
  return it == args.end() || it + 1 == args.end() ? fallback : *(it + 1);
}

void check_count(std::uint64_t sent, std::uint64_t want, const std::vector<std::string>& args) {
  if (std::find(args.begin(), args.end(), "-R") != args.end()) {
    CHECK(sent == want);
    return;
  }
  std::uint64_t block = std::stoull(arg_after(args, "-l", "131072"));  // iperf3's TCP default
  std::uint64_t streams = std::stoull(arg_after(args, "-P", "1"));
  CHECK(sent >= want);
  CHECK(sent <= want + streams * block);
}
}  // namespace

TEST_CASE("stock iperf3 clients with -k, -M, -S, --cport, -b, -Z, -T, --extra-data, -R") {
  if (!have_iperf3()) return;
  harness::Server s;
  struct Row {
    std::vector<std::string> args;
    std::uint64_t bytes;  // 0: a timed test, only sent == received
  };
  const Row rows[] = {
      {{"-k", "1K", "-l", "1000"}, 1024000},
      {{"-k", "100", "-l", "1000", "-R"}, 100000},
      {{"-k", "300", "-l", "1000", "-P", "3"}, 300000},
      {{"-M", "1000", "-n", "1M"}, 1u << 20},
      {{"-S", "0x10", "-n", "1M", "-R"}, 1u << 20},
      {{"--cport", std::to_string(harness::free_port()), "-n", "1M"}, 1u << 20},
      {{"-b", "20M", "-t", "2", "-R"}, 0},
      {{"-Z", "-n", "10M"}, 10u << 20},
      {{"-T", "t1", "--extra-data", "x", "-n", "1M"}, 1u << 20},
  };
  for (const auto& row : rows) {
    std::vector<std::string> args = {"-c", "127.0.0.1", "-p", s.port_arg(), "-J"};
    args.insert(args.end(), row.args.begin(), row.args.end());
    std::string joined;
    for (const auto& a : row.args) joined += a + " ";
    CAPTURE(joined);
    Proc c(kIperf3, args);
    CHECK(c.wait(60) == 0);
    json j = c.json();
    REQUIRE(j.is_object());
    CHECK_FALSE(j.contains("error"));
    auto sent = j["end"]["sum_sent"]["bytes"].get<std::uint64_t>();
    CHECK(sent == j["end"]["sum_received"]["bytes"].get<std::uint64_t>());
    if (row.bytes) check_count(sent, row.bytes, row.args);
    if (joined.rfind("-b", 0) == 0) {  // nicperf paced its TCP sending at 20 Mbit/s
      double bps = j["end"]["sum_received"]["bits_per_second"].get<double>();
      CHECK(bps > 15e6);
      CHECK(bps < 25e6);
    }
  }
  // Refused with iperf3's own error number and errno: the stock client prints the reason.
  Proc mss(kIperf3, {"-c", "127.0.0.1", "-p", s.port_arg(), "-M", "50", "-t", "1"});
  CHECK(mss.wait(30) != 0);
  CHECK((mss.out() + mss.err()).find("unable to set TCP/SCTP MSS: Invalid argument") !=
        std::string::npos);
}

TEST_CASE("nicperf's -k, --cport, -M, -S, -T, --timestamps and -I on loopback") {
  harness::Server s;
  std::string pidfile = "/tmp/nicperf-it-" + std::to_string(getpid()) + ".pid";
  Proc c({"-c", "127.0.0.1", "-p", s.port_arg(), "-k", "50", "-l", "1000", "-M", "1000", "-S",
          "0x10", "-T", "run1", "--timestamps=[ts] ", "-I", pidfile, "-t", "1"});
  // -k with -t is refused; without -t the count ends the test.
  CHECK(c.wait(30) == 2);
  Proc k({"-c", "127.0.0.1", "-p", s.port_arg(), "-k", "50", "-l", "1000", "-M", "1000", "-S",
          "0x10", "-T", "run1", "--timestamps=[ts] ", "-I", pidfile, "--forceflush"});
  CHECK(k.wait(30) == 0);
  std::string out = k.out();
  CHECK(out.find("run1:  [ts] ") == 0);
  CHECK(out.find("\nrun1:  [ts] ") != std::string::npos);
  CHECK(access(pidfile.c_str(), F_OK) != 0);  // removed at exit
  int cport = harness::free_port();
  Proc j({"-c", "127.0.0.1", "-p", s.port_arg(), "-k", "50", "-l", "1000", "-J", "--cport",
          std::to_string(cport)});
  CHECK(j.wait(30) == 0);
  CHECK(j.json()["end"]["sum_received"]["bytes"] == 50000);
  CHECK(j.json()["start"]["connected"][0]["local_port"] == cport);
}

TEST_CASE("--extra-data: nicperf's -J keeps it at the top level, with or without iperf3" *
          doctest::test_suite("parallel")) {
  harness::Server s;
  Proc c({"-c", "127.0.0.1", "-p", s.port_arg(), "-n", "1M", "-J", "--extra-data", "rack 7"});
  CHECK(c.wait(30) == 0);
  CHECK(c.json()["extra_data"] == "rack 7");
  Proc plain({"-c", "127.0.0.1", "-p", s.port_arg(), "-n", "1M", "-J"});
  CHECK(plain.wait(30) == 0);
  CHECK_FALSE(plain.json().contains("extra_data"));
}

TEST_CASE("a stock client's --extra-data is kept in nicperf -s -J's report" *
          doctest::test_suite("parallel")) {
  if (!have_iperf3()) return;
  // -J's server announces its port on stderr, so harness::Server cannot read it: a fixed one.
  int free = harness::free_port();
  std::string port = std::to_string(free);
  Proc s({"-s", "-1", "-J", "-p", port});
  REQUIRE(harness::wait_listening(free));
  Proc c(kIperf3, {"-c", "127.0.0.1", "-p", port, "-n", "1M", "--extra-data", "rack 7"});
  CHECK(c.wait(30) == 0);
  CHECK(s.wait(30) == 0);
  CHECK(s.out().find("\"extra_data\": \"rack 7\"") != std::string::npos);
}

TEST_CASE("iperf3 options nicperf has not built stop with exit 2 and one line" *
          doctest::test_suite("parallel")) {
  for (std::vector<std::string> args : {std::vector<std::string>{"-c", "127.0.0.1", "-X", "x"},
                                        {"-c", "127.0.0.1", "--nstreams", "2"},
                                        {"-c", "127.0.0.1", "--sctp"}}) {
    Proc p(args);
    CHECK(p.wait(10) == 2);
    std::string err = p.err();
    CHECK(err.find("not built") != std::string::npos);
    CHECK(std::count(err.begin(), err.end(), '\n') == 1);
  }
}
