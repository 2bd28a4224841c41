// iperf3's UDP JSON shape: every key iperf3 3.12 prints for a UDP test (end and intervals),
// at the same path and of the same JSON type, is in nicperf's report of the same test.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "harness.hpp"
#include "nic_harness.hpp"

using harness::have_iperf3;
using harness::kIperf3;
using harness::Proc;
using harness::u64;
using nlohmann::json;

namespace {

// JSON's own types; iperf3 prints an integral double as an integer, so numbers are one type.
std::string type_of(const json& j) {
  if (j.is_object()) return "object";
  if (j.is_array()) return "array";
  if (j.is_boolean()) return "boolean";
  if (j.is_number()) return "number";
  if (j.is_string()) return "string";
  return "null";
}

// Every key path ("end.streams[].udp.jitter_ms") and its type, over every array element.
void key_paths(const json& j, const std::string& at, std::map<std::string, std::string>& out) {
  out[at] = type_of(j);
  if (j.is_object())
    for (const auto& [k, v] : j.items()) key_paths(v, at + "." + k, out);
  if (j.is_array())
    for (const auto& v : j) key_paths(v, at + "[]", out);
}

std::map<std::string, std::string> paths_of(const json& report) {
  std::map<std::string, std::string> out;
  key_paths(report["end"], "end", out);
  key_paths(report["intervals"], "intervals", out);
  return out;
}

json iperf3_run(std::vector<std::string> args) {
  int port = harness::free_port();
  Proc server(kIperf3, {"-s", "-1", "-p", std::to_string(port), "--forceflush"});
  REQUIRE(harness::wait_for_output(server, "Server listening"));
  args.insert(args.begin(), {"-c", "127.0.0.1", "-p", std::to_string(port)});
  Proc client(kIperf3, args);
  REQUIRE(client.wait(60) == 0);
  server.wait(10);
  return client.json();
}

}  // namespace

TEST_CASE("udp JSON: every key path of iperf3's end and intervals is in nicperf's, same type") {
  if (!have_iperf3()) return;
  harness::Server ours;
  REQUIRE(ours.port() > 0);
  for (std::vector<std::string> args :
       {std::vector<std::string>{"-u", "-b", "10M", "-t", "2", "-l", "1200", "-J"},
        std::vector<std::string>{"-u", "-b", "5M", "-t", "2", "-l", "1200", "-R", "-J"},
        std::vector<std::string>{"-u", "-b", "5M", "-t", "2", "-l", "1200", "--bidir", "-P", "2",
                                 "-J"}}) {
    std::string what;
    for (const auto& a : args) what += a + " ";
    CAPTURE(what);
    json theirs = iperf3_run(args);
    REQUIRE(theirs.is_object());
    auto c = ours.client(args);
    REQUIRE(c->wait(0) == 0);
    json mine = c->json();
    REQUIRE(mine.is_object());
    auto want = paths_of(theirs), got = paths_of(mine);
    for (const auto& [path, type] : want) {
      CAPTURE(path);
      REQUIRE(got.count(path) == 1);
      CHECK(got[path] == type);
    }
    // Lossless loopback: sent = received, nothing lost, jitter measured.
    const json& sum = mine["end"]["sum"];
    CHECK(sum["lost_packets"] == 0);
    CHECK(sum["packets"].get<std::uint64_t>() > 0);
    CHECK(mine["end"]["sum_sent"]["packets"] == mine["end"]["sum_received"]["packets"]);
    CHECK(sum["bytes"].get<std::uint64_t>() == sum["packets"].get<std::uint64_t>() * 1200);
    nic_harness::check_schema(mine);
  }
}

namespace {

// What a lossless loopback test must show in either tool's JSON: datagrams sent, none lost,
// the receiver's count equal to the sender's, jitter measured. When the server sends (-R, and
// --bidir's reverse streams), the client ends the test by its own clock and stops reading
// while the server sends on until TEST_END reaches it: that tail (tens of milliseconds of
// datagrams) is sent and never read, as between two iperf3s.
void lossless(const json& j, const char* sent_key, const char* received_key,
              bool server_sends = false) {
  REQUIRE(j.is_object());
  CHECK_FALSE(j.contains("error"));
  const json& sent = j["end"][sent_key];
  const json& got = j["end"][received_key];
  CHECK(u64(sent, "packets") > 0);
  CHECK(u64(got, "lost_packets") == 0);
  if (server_sends) {
    CHECK(u64(got, "packets") <= u64(sent, "packets"));
    CHECK(u64(sent, "packets") - u64(got, "packets") <=
          std::max<std::uint64_t>(16, u64(sent, "packets") / 20));
  } else {
    CHECK(u64(got, "packets") == u64(sent, "packets"));
  }
  CHECK(got["jitter_ms"].get<double>() >= 0);
}

}  // namespace

TEST_CASE("a stock iperf3 -u client against nicperf -s: exact counts, -P 2, -R, --bidir, 64-bit") {
  if (!have_iperf3()) return;
  harness::Server ours;
  REQUIRE(ours.port() > 0);
  for (std::vector<std::string> extra : {std::vector<std::string>{},
                                         {"-P", "2"},
                                         {"-R"},
                                         {"--bidir"},
                                         {"--udp-counters-64bit"},
                                         {"-n", "600000"}}) {
    // A 2 MB socket buffer: on a loaded machine a stalled receiver thread drops no datagram.
    std::vector<std::string> args = {"-c",   "127.0.0.1", "-p",  ours.port_arg(),
                                     "-u",   "-b",        "10M", "-l",
                                     "1200", "-w",        "2M",  "-J"};
    args.insert(args.end(), extra.begin(), extra.end());
    if (extra.empty() || extra[0] != "-n") args.insert(args.end(), {"-t", "2"});
    std::string what;
    for (const auto& a : extra) what += a + " ";
    CAPTURE(what);
    Proc c(kIperf3, args);
    REQUIRE(c.wait(60) == 0);
    json j = c.json();
    INFO(j.dump(1).substr(0, 4000));
    std::string first = extra.empty() ? "" : extra[0];
    lossless(j, "sum_sent", "sum_received", first == "-R");
    CHECK(u64(j["end"]["sum"], "lost_packets") == 0);
    if (first.empty() || first == "-P" || first == "--udp-counters-64bit")
      // iperf3 sent; nicperf's count came back in iperf3's results exchange.
      CHECK(u64(j["end"]["sum_received"], "bytes") == u64(j["end"]["sum_sent"], "bytes"));
    if (first == "-n") CHECK(u64(j["end"]["sum_sent"], "packets") == 500);
    if (first == "--bidir")
      lossless(j, "sum_sent_bidir_reverse", "sum_received_bidir_reverse", true);
    MESSAGE("iperf3 -u " << what << "-> nicperf -s: " << j["end"]["sum"].dump());
  }
}

TEST_CASE("nicperf --iperf3 -u against a stock iperf3 server: exact counts, -P 2, -R, --bidir") {
  if (!have_iperf3()) return;
  int port = harness::free_port();
  Proc server(kIperf3, {"-s", "-p", std::to_string(port), "--forceflush"});
  REQUIRE(harness::wait_for_output(server, "Server listening"));
  for (std::vector<std::string> extra :
       {std::vector<std::string>{}, {"-P", "2"}, {"-R"}, {"--bidir"}, {"--udp-counters-64bit"}}) {
    std::vector<std::string> args = {"-c",       "127.0.0.1", "-p", std::to_string(port),
                                     "--iperf3", "-u",        "-b", "10M",
                                     "-l",       "1200",      "-w", "2M",
                                     "-t",       "2",         "-J"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::string what;
    for (const auto& a : extra) what += a + " ";
    CAPTURE(what);
    Proc c(args);
    REQUIRE(c.wait(60) == 0);
    json j = c.json();
    INFO(c.err() << j.dump(1).substr(0, 4000));
    std::string first = extra.empty() ? "" : extra[0];
    lossless(j, "sum_sent", "sum_received", first == "-R");
    CHECK(j["remote_context"]["implementation"] == "iperf3");
    if (first.empty() || first == "-P" || first == "--udp-counters-64bit")
      CHECK(u64(j["end"]["sum_received"], "bytes") == u64(j["end"]["sum_sent"], "bytes"));
    if (first == "--bidir")
      lossless(j, "sum_sent_bidir_reverse", "sum_received_bidir_reverse", true);
    nic_harness::check_schema(j);
    MESSAGE("nicperf --iperf3 -u " << what << "-> iperf3 -s: " << j["end"]["sum"].dump());
  }
}

// Through nicperf-nicd with 5% loss injected, iperf3 on one end: both tools count the loss
// near the injected rate and agree on it (each reads the other's count from the exchange).
TEST_CASE("udp interop through nicd --loss 5: loss within 2 points, equal on both reports" *
          doctest::test_suite("root")) {
  if (!nic_harness::have_root() || !have_iperf3()) return;
  nic_harness::Nic nic;
  REQUIRE(nic.up({"--loss", "5"}));
  auto in_ns = [](const std::string& ns, std::vector<std::string> args) {
    args.insert(args.begin(), {"netns", "exec", ns, kIperf3});
    return std::make_unique<Proc>("/usr/sbin/ip", args);
  };
  auto near_injected = [](const json& sum) {
    double pct = sum["lost_percent"].get<double>();
    CHECK(pct > 3.0);
    CHECK(pct < 7.0);
    return u64(sum, "lost_packets");
  };
  // iperf3's UDP connect datagram and its reply cross the lossy link too, and iperf3 3.12
  // sends each once: about one test in ten loses one, and that test fails to start. Such a
  // test is run again (at most three times); the figures are checked on one that ran.
  SUBCASE("nicperf --iperf3 -u against iperf3 -s") {
    json ours, theirs;
    for (int attempt = 0; attempt < 3 && !theirs.contains("end"); ++attempt) {
      int port = harness::free_port();
      auto server = in_ns(nic.srv, {"-s", "-1", "-p", std::to_string(port), "-J"});
      REQUIRE(harness::wait_listening(port, server->pid()));
      Proc c({"-c", "198.18.0.2", "-p", std::to_string(port), "--netns", nic.cli, "--iperf3", "-u",
              "-b", "20M", "-t", "3", "-l", "1000", "-J", "--cost", "off"});
      int code = c.wait(60);
      if (code != 0) {
        MESSAGE("attempt " << attempt << " did not start: exit " << code << ", " << c.out()
                           << c.err());
        server->signal(SIGTERM);
        server->wait(10);
        continue;
      }
      REQUIRE(server->wait(20) == 0);
      ours = c.json();
      theirs = server->json();
    }
    REQUIRE(ours.contains("end"));
    REQUIRE(theirs.contains("end"));
    INFO(ours["end"]["sum"].dump() << "\n" << theirs["end"]["sum_received"].dump());
    auto lost_ours = near_injected(ours["end"]["sum"]);
    auto lost_theirs = near_injected(theirs["end"]["sum_received"]);
    // iperf3 counts gaps up to the highest sequence it saw; a lost tail datagram or two is
    // only in nicperf's sent - received.
    CHECK(lost_ours >= lost_theirs);
    CHECK(lost_ours <= lost_theirs + 3);
    CHECK(ours["end"]["sum"]["jitter_ms"].get<double>() > 0);
    MESSAGE("nicperf -> iperf3 with 5% loss: nicperf " << ours["end"]["sum"].dump() << "; iperf3 "
                                                       << theirs["end"]["sum_received"].dump());
  }
  SUBCASE("iperf3 -u against nicperf -s") {
    harness::Server server({"--netns", nic.srv});
    REQUIRE(server.port() > 0);
    // Once in a CI run iperf3 exited 0 with a report whose "end" had no "sum": such a run is
    // shown whole and run again, as one that did not start.
    json theirs;
    auto ran = [&] { return theirs.contains("end") && theirs["end"].contains("sum"); };
    for (int attempt = 0; attempt < 3 && !ran(); ++attempt) {
      auto c = in_ns(nic.cli, {"-c", "198.18.0.2", "-p", server.port_arg(), "-u", "-b", "20M", "-t",
                               "3", "-l", "1000", "-J"});
      int code = c->wait(60);
      theirs = c->json();
      if (code != 0 || !ran())
        MESSAGE("attempt " << attempt << " did not run: exit " << code << ", " << c->out()
                           << c->err());
    }
    REQUIRE(ran());
    INFO(theirs["end"]["sum"].dump());
    auto lost = near_injected(theirs["end"]["sum"]);
    CHECK(theirs["end"]["sum"]["jitter_ms"].get<double>() > 0);
    MESSAGE("iperf3 -> nicperf with 5% loss: iperf3 " << theirs["end"]["sum"].dump());
    CHECK(lost > 0);
  }
}
