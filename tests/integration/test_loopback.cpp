// End-to-end tests: the real binaries on loopback, each against its own server.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <regex>

#include "harness.hpp"
#include "nicperf/control/protocol.hpp"

using harness::Proc;
using harness::Server;
using nlohmann::json;

namespace {

void check_equal_bytes(const json& j, std::uint64_t want = 0) {
  REQUIRE(j.is_object());
  const json& end = j["end"];
  auto sent = end["sum_sent"]["bytes"].get<std::uint64_t>();
  auto got = end["sum_received"]["bytes"].get<std::uint64_t>();
  CHECK(sent > 0);
  CHECK(sent == got);
  if (want) CHECK(sent == want);
}

int raw_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(std::uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, std::size_t(n));
  return out;
}

}  // namespace

TEST_CASE("a timed test prints intervals and a summary" * doctest::test_suite("parallel")) {
  Server s;
  REQUIRE(s.port() > 0);
  auto c = s.client({"-t", "2"});
  CHECK(c->wait(0) == 0);
  std::string out = c->out();
  CHECK(out.find("connected to 127.0.0.1 port " + s.port_arg()) != std::string::npos);
  // Interval bounds are the times the ticks ran, to two decimals: a loaded machine may print
  // 1.01-2.01; the layout is what counts.
  CHECK(std::regex_search(out, std::regex("  1\\.\\d\\d-2\\.\\d\\d   sec")));
  CHECK(out.find("sender\n") != std::string::npos);
  CHECK(out.find("receiver\n") != std::string::npos);
  CHECK(out.find("nicperf Done.") != std::string::npos);
}

TEST_CASE("-n moves exactly that many bytes, in every direction" *
          doctest::test_suite("parallel")) {
  Server s;
  for (auto dir : {"", "-R"}) {
    CAPTURE(dir);
    std::vector<std::string> args = {"-n", "10000019", "-P", "4", "-J"};
    if (*dir) args.push_back(dir);
    auto c = s.client(args);
    CHECK(c->wait(0) == 0);
    json j = c->json();
    check_equal_bytes(j, 10000019);
    CHECK(j["end"]["streams"].size() == 4);
  }
  auto c = s.client({"-n", "3000001", "--bidir", "-J"});
  CHECK(c->wait(0) == 0);
  json j = c->json();
  check_equal_bytes(j, 3000001);
  CHECK(j["end"]["sum_sent_bidir_reverse"]["bytes"] == 3000001);
  CHECK(j["end"]["sum_received_bidir_reverse"]["bytes"] == 3000001);
}

TEST_CASE("-J is one document in iperf3's shape, field by field" *
          doctest::test_suite("parallel")) {
  Server s;
  auto c = s.client({"-t", "2", "-i", "0.5", "-P", "2", "-O", "0.5", "-J"});
  REQUIRE(c->wait(0) == 0);
  json j = c->json();
  REQUIRE(j.is_object());
  const json& start = j["start"];
  CHECK(start["connected"].size() == 2);
  CHECK(start["connected"][0]["remote_port"] == s.port());
  CHECK(start["connecting_to"]["host"] == "127.0.0.1");
  CHECK(start["test_start"]["num_streams"] == 2);
  CHECK(start["test_start"]["blksize"] == 131072);
  CHECK(start["test_start"]["omit"] == 0.5);
  CHECK(start["cookie"].get<std::string>().size() == 32);
  CHECK(j["context"]["schema_version"] == 1);
  CHECK(j["context"]["kernel"].is_string());
  CHECK(j["context"]["build_type"].is_string());
  const json& iv = j["intervals"];
  REQUIRE(iv.size() >= 5);  // one omitted, then four of 0.5 s
  CHECK(iv[0]["sum"]["omitted"] == true);
  CHECK(iv[1]["sum"]["omitted"] == false);
  for (const auto& i : iv) {
    CHECK(i["streams"].size() == 2);
    CHECK(i["sum"]["bits_per_second"].get<double>() > 0);
    CHECK(i["streams"][0].contains("snd_cwnd"));
    CHECK(i["streams"][0].contains("rtt"));
  }
  const json& end = j["end"];
  for (const char* k : {"sum_sent", "sum_received"}) {
    CHECK(end[k]["seconds"].get<double>() == doctest::Approx(2.0).epsilon(0.1));
    CHECK(end[k]["bits_per_second"].get<double>() > 0);
  }
  check_equal_bytes(j);
  std::uint64_t per_stream = 0;
  for (const auto& st : end["streams"]) {
    CHECK(st["sender"]["bytes"] == st["receiver"]["bytes"]);
    per_stream += st["sender"]["bytes"].get<std::uint64_t>();
    CHECK(st["sender"]["max_snd_cwnd"].get<std::uint64_t>() > 0);
  }
  CHECK(per_stream == end["sum_sent"]["bytes"]);
  CHECK(end["cpu_utilization_percent"]["host_total"].get<double>() > 0);
  CHECK(end["cpu_utilization_percent"]["remote_total"].get<double>() > 0);
  CHECK(end["sender_tcp_congestion"].is_string());
}

TEST_CASE("--json-stream prints start, intervals and end, one object a line" *
          doctest::test_suite("parallel")) {
  Server s;
  auto c = s.client({"-t", "1", "-i", "0.5", "--json-stream"});
  REQUIRE(c->wait(0) == 0);
  std::istringstream lines(c->out());
  std::vector<std::string> events;
  for (std::string line; std::getline(lines, line);) {
    json j = json::parse(line, nullptr, false);
    REQUIRE(j.is_object());
    events.push_back(j["event"]);
    if (events.back() == "end") check_equal_bytes(json{{"end", j["data"]}});
  }
  REQUIRE(events.size() >= 4);
  CHECK(events.front() == "start");
  CHECK(events.back() == "end");
  CHECK(events[1] == "interval");
}

TEST_CASE("--get-server-output brings the server's report" * doctest::test_suite("parallel")) {
  Server s;
  auto c = s.client({"-t", "1", "--get-server-output"});
  REQUIRE(c->wait(0) == 0);
  std::string out = c->out();
  auto at = out.find("Server output:\n");
  REQUIRE(at != std::string::npos);
  CHECK(out.find("Accepted connection from 127.0.0.1", at) != std::string::npos);
  auto j = s.client({"-t", "1", "--get-server-output", "-J"});
  REQUIRE(j->wait(0) == 0);
  json doc = j->json();
  CHECK(doc["server_output_json"]["end"]["sum_received"]["bytes"] ==
        doc["end"]["sum_received"]["bytes"]);
}

TEST_CASE("--verify checks every received byte" * doctest::test_suite("parallel")) {
  Server s;
  for (auto dir : {"", "-R"}) {
    std::vector<std::string> args = {"-n", "20M", "-l", "1000", "--verify", "-J"};
    if (*dir) args.push_back(dir);
    auto c = s.client(args);
    CHECK(c->wait(0) == 0);
    check_equal_bytes(c->json(), 20u << 20);
  }
}

TEST_CASE("-A pins stream threads, an unknown CPU is refused" * doctest::test_suite("parallel")) {
  Server s;
  auto c = s.client({"-t", "1", "-A", "0/1", "-P", "2"});
  CHECK(c->wait(0) == 0);
  auto bad = s.client({"-t", "1", "-A", "4000"});
  CHECK(bad->wait(0) == 2);
  CHECK(bad->err().find("CPU 4000 is not available") != std::string::npos);
  auto bad_server = s.client({"-t", "1", "-A", "0/4000"});
  CHECK(bad_server->wait(0) == 2);
  CHECK(bad_server->err().find("CPU 4000") != std::string::npos);
  auto after = s.client({"-t", "1"});
  CHECK(after->wait(0) == 0);
}

TEST_CASE("connection refused is exit 3 with one line") {
  Server s;
  int port = s.port();
  s.proc().signal(SIGTERM);
  CHECK(s.proc().wait(5) == 0);
  Proc c({"-c", "127.0.0.1", "-p", std::to_string(port), "-t", "1"});
  CHECK(c.wait(10) == 3);
  std::string err = c.err();
  CHECK(err.find("cannot connect") != std::string::npos);
  CHECK(std::count(err.begin(), err.end(), '\n') == 1);
}

TEST_CASE("bad arguments are exit 2 with one line" * doctest::test_suite("parallel")) {
  Proc c({"-c", "127.0.0.1", "-P", "0"});
  CHECK(c.wait(10) == 2);
  std::string err = c.err();
  CHECK(std::count(err.begin(), err.end(), '\n') == 1);
  Proc none({});
  CHECK(none.wait(10) == 2);
}

TEST_CASE("garbage on the control port, then a valid test" * doctest::test_suite("parallel")) {
  Server s;
  int fd = raw_connect(s.port());
  std::string junk = "GET / HTTP/1.1\r\nHost: x\r\n\r\n" + std::string(100, '\xff');
  REQUIRE(write(fd, junk.data(), junk.size()) == ssize_t(junk.size()));
  std::string reply = read_all(fd);
  close(fd);
  CHECK(reply.find("not a nicperf client") != std::string::npos);
  // A proper greeting followed by a frame with a huge length prefix.
  fd = raw_connect(s.port());
  auto g = nicperf::encode_greeting({nicperf::ConnKind::kControl, 1, 0, nicperf::make_cookie()});
  REQUIRE(write(fd, g.data(), g.size()) == ssize_t(g.size()));
  const char huge[4] = {'\xff', '\xff', '\xff', '\xff'};
  REQUIRE(write(fd, huge, 4) == 4);
  reply = read_all(fd);
  close(fd);
  CHECK(reply.find("frame length") != std::string::npos);
  auto c = s.client({"-n", "1M", "-J"});
  CHECK(c->wait(0) == 0);
  check_equal_bytes(c->json(), 1u << 20);
  CHECK(s.proc().running());
}

TEST_CASE("a second client during a test is told the server is busy") {
  Server s;
  Proc first({"-c", "127.0.0.1", "-p", s.port_arg(), "-t", "3"});
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  auto second = s.client({"-t", "1"});
  CHECK(second->wait(0) == 4);
  CHECK(second->err().find("busy") != std::string::npos);
  CHECK(first.wait(20) == 0);
}

TEST_CASE("Ctrl-C on the client ends the test cleanly and prints what was measured") {
  Server s;
  for (auto dir : {"", "-R"}) {
    CAPTURE(dir);
    std::vector<std::string> args = {"-c", "127.0.0.1", "-p", s.port_arg(), "-t", "30", "-J"};
    if (*dir) args.push_back(dir);
    Proc c(args);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    c.signal(SIGINT);
    CHECK(c.wait(20) == 130);
    json j = c.json();
    CHECK(j["interrupted"] == true);
    check_equal_bytes(j);
  }
  auto after = s.client({"-n", "1M"});
  CHECK(after->wait(0) == 0);
}

TEST_CASE("a client killed mid-test leaves the server ready for the next" *
          doctest::test_suite("parallel")) {
  Server s;
  Proc c({"-c", "127.0.0.1", "-p", s.port_arg(), "-t", "30"});
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  c.signal(SIGKILL);
  c.wait(5);
  auto after = s.client({"-n", "1M", "-J"}, 30);
  CHECK(after->wait(0) == 0);
  check_equal_bytes(after->json(), 1u << 20);
}

TEST_CASE("CI thresholds: met is exit 0, missed is exit 9 and the JSON names which" *
          doctest::test_suite("parallel")) {
  Server s;
  auto met =
      s.client({"-n", "100M", "--expect-gbps", "0.001", "--expect-max-cpu-per-gb", "1000", "-J"});
  CHECK(met->wait(0) == 0);
  json j = met->json();
  REQUIRE(j["thresholds"].size() == 3);
  for (const auto& t : j["thresholds"]) CHECK(t["passed"] == true);
  auto missed = s.client({"-n", "100M", "--expect-gbps", "100000", "-J"});
  CHECK(missed->wait(0) == 9);
  json m = missed->json();
  CHECK(m["thresholds"][0]["name"] == "min_gbps");
  CHECK(m["thresholds"][0]["passed"] == false);
  CHECK(m["thresholds"][0]["value"].get<double>() > 0);
  // A figure this machine cannot measure is a miss with the reason, never a pass.
  auto unmeasured =
      s.client({"-n", "10M", "--cost", "rusage", "--expect-max-cycles-per-byte", "100", "-J"});
  CHECK(unmeasured->wait(0) == 9);
  CHECK(unmeasured->json()["thresholds"][0]["value"].is_null());
  CHECK(unmeasured->json()["thresholds"][0].contains("note"));
}
