#include <doctest/doctest.h>

#include <sstream>

#include "nicperf/report/reporter.hpp"
#include "nicperf/results/results.hpp"

using namespace nicperf;

namespace {

StreamEnd end_of(int id, bool sender, std::uint64_t total, std::uint64_t omitted, double secs) {
  StreamEnd e;
  e.id = id;
  e.sender = sender;
  e.bytes_total = total;
  e.bytes_omitted = omitted;
  e.seconds = secs;
  return e;
}

// A client that sent on two streams, after a 1 s omit that moved 100 and 200 bytes.
Report two_stream_report() {
  Report r;
  r.is_client = true;
  r.spec.streams = 2;
  r.spec.duration = 2;
  r.spec.omit = 1;
  r.local.streams = {end_of(0, true, 1100, 100, 2.0), end_of(1, true, 2200, 200, 2.0)};
  SideEnd remote;
  // The receiver counted from its own omit mark; only the sender's mark is exact.
  remote.streams = {end_of(0, false, 1100, 90, 2.5), end_of(1, false, 2200, 0, 2.5)};
  r.remote = remote;
  r.local.cpu = {true, 50, 10, 40};
  r.remote->cpu = {true, 30, 5, 25};
  IntervalRecord iv;
  StreamSample a;
  a.id = 0;
  a.sender = true;
  a.end = 1;
  a.bytes = 125000000;
  StreamSample b = a;
  b.id = 1;
  iv.streams = {a, b};
  r.intervals.push_back(iv);
  return r;
}

}  // namespace

TEST_CASE("received bytes start where the sender's omit ended, so the sums match exactly") {
  Report r = two_stream_report();
  Totals sent = sum_sent(r, false), got = sum_received(r, false);
  CHECK(sent.bytes == 3000);
  CHECK(got.bytes == 3000);
  CHECK(sent.seconds == doctest::Approx(2.0));
  CHECK(got.seconds == doctest::Approx(2.5));
  CHECK(sent.bits_per_second == doctest::Approx(3000 * 8 / 2.0));
  StreamPair p = stream_pair(r, 1);
  REQUIRE(p.sender);
  REQUIRE(p.receiver);
  CHECK(receiver_totals(p).bytes == 2000);
}

TEST_CASE("the server's view pairs the same ends") {
  Report r = two_stream_report();
  Report s;
  s.is_client = false;
  s.spec = r.spec;
  s.local = *r.remote;
  s.remote = r.local;
  CHECK(sum_received(s, false).bytes == sum_received(r, false).bytes);
  CHECK(sum_sent(s, false).bytes == sum_sent(r, false).bytes);
}

TEST_CASE("bidir splits the sums into forward and reverse groups") {
  Report r;
  r.is_client = true;
  r.spec.direction = Direction::kBidir;
  r.local.streams = {end_of(0, true, 500, 0, 1), end_of(1, false, 700, 0, 1)};
  SideEnd remote;
  remote.streams = {end_of(0, false, 500, 0, 1), end_of(1, true, 700, 0, 1)};
  r.remote = remote;
  CHECK(sum_sent(r, false).bytes == 500);
  CHECK(sum_received(r, false).bytes == 500);
  CHECK(sum_sent(r, true).bytes == 700);
  CHECK(sum_received(r, true).bytes == 700);
  Json end = end_json(r);
  CHECK(end["sum_sent_bidir_reverse"]["bytes"] == 700);
}

TEST_CASE("side results round trip and bad ones are refused") {
  Report r = two_stream_report();
  auto back = side_from_json(to_json(r.local), 4);
  REQUIRE(back);
  CHECK(to_json(*back) == to_json(r.local));
  CHECK_FALSE(side_from_json(to_json(r.local), 1));  // more streams than the test has
  Json bad = to_json(r.local);
  bad["streams"][0]["bytes_total"] = "lots";
  CHECK_FALSE(side_from_json(bad, 4));
  bad = to_json(r.local);
  bad["streams"][0]["id"] = 99;
  CHECK_FALSE(side_from_json(bad, 4));
  CHECK_FALSE(side_from_json(Json(), 4));
  CHECK_FALSE(side_from_json(Json::array(), 4));
}

TEST_CASE("JSON keeps iperf3's shape") {
  Report r = two_stream_report();
  Json j = report_json(r);
  for (const char* key : {"start", "intervals", "end", "context"}) CHECK(j.contains(key));
  CHECK(j["intervals"][0]["sum"]["bytes"] == 250000000);
  CHECK(j["intervals"][0]["sum"]["bits_per_second"] == doctest::Approx(2e9));
  CHECK(j["end"]["streams"].size() == 2);
  CHECK(j["end"]["streams"][0]["sender"]["bytes"] == 1000);
  CHECK(j["end"]["streams"][0]["receiver"]["bytes"] == 1000);
  CHECK(j["end"]["sum_sent"]["bytes"] == 3000);
  CHECK(j["end"]["sum_received"]["bytes"] == 3000);
  CHECK(j["end"]["cpu_utilization_percent"]["host_total"] == 50);
  CHECK(j["end"]["cpu_utilization_percent"]["remote_total"] == 30);
  CHECK(j["start"]["test_start"]["num_streams"] == 2);
}

TEST_CASE("text report lines (golden)") {
  Report r = two_stream_report();
  std::ostringstream out, err;
  auto rep = make_reporter(Format::kText, out, err, false);
  rep->on_interval(r, r.intervals[0]);
  rep->on_end(r);
  const char* golden =
      "[ ID] Interval           Transfer     Bitrate         Retr  Cwnd\n"
      "[  1]   0.00-1.00   sec   119 MBytes  1.00 Gbits/sec     0   0.00 Bytes\n"
      "[  2]   0.00-1.00   sec   119 MBytes  1.00 Gbits/sec     0   0.00 Bytes\n"
      "[SUM]   0.00-1.00   sec   238 MBytes  2.00 Gbits/sec     0\n"
      "- - - - - - - - - - - - - - - - - - - - - - - - -\n"
      "[ ID] Interval           Transfer     Bitrate         Retr\n"
      "[  1]   0.00-2.00   sec   1000 Bytes  4.00 Kbits/sec     0             sender\n"
      "[  1]   0.00-2.50   sec   1000 Bytes  3.20 Kbits/sec                   receiver\n"
      "[  2]   0.00-2.00   sec  1.95 KBytes  8.00 Kbits/sec     0             sender\n"
      "[  2]   0.00-2.50   sec  1.95 KBytes  6.40 Kbits/sec                   receiver\n"
      "[SUM]   0.00-2.00   sec  2.93 KBytes  12.0 Kbits/sec     0             sender\n"
      "[SUM]   0.00-2.50   sec  2.93 KBytes  9.60 Kbits/sec                   receiver\n"
      "CPU Utilization: local/sender 50.0% (10.0%u/40.0%s), remote/receiver 30.0% (5.0%u/25.0%s)\n"
      "\n"
      "nicperf Done.\n";
  CHECK(out.str() == golden);
  CHECK(err.str().empty());
}

TEST_CASE("JSON stream: one object per line with event and data") {
  Report r = two_stream_report();
  std::ostringstream out, err;
  auto rep = make_reporter(Format::kJsonStream, out, err, false);
  rep->on_start(r);
  rep->on_interval(r, r.intervals[0]);
  rep->on_end(r);
  std::istringstream lines(out.str());
  std::string line;
  std::vector<std::string> events;
  while (std::getline(lines, line)) {
    Json j = Json::parse(line);
    events.push_back(j["event"]);
    CHECK(j.contains("data"));
  }
  CHECK(events == std::vector<std::string>{"start", "interval", "end"});
}

TEST_CASE("an error before the test still makes valid JSON") {
  Report r;
  std::ostringstream out, err;
  auto rep = make_reporter(Format::kJson, out, err, false);
  rep->on_error(r, {Errc::kConnect, "cannot connect"});
  Json j = Json::parse(out.str());
  CHECK(j["error"] == "cannot connect");
}
