// --max-tests: the overlap log, the overlap in the results exchange and in both reports.
#include <doctest/doctest.h>

#include <sstream>

#include "nicperf/report/reporter.hpp"
#include "session/server_slots.hpp"

using namespace nicperf;

TEST_CASE("the overlap log counts every test whose span met another's") {
  OverlapLog log;
  int a = log.begin("A");
  int b = log.begin("B");
  Overlap ob = log.end(b);  // B ran only while A ran
  int c = log.begin("C");
  Overlap oa = log.end(a);
  Overlap oc = log.end(c);
  CHECK(ob.tests == 1);
  CHECK(ob.peers == std::vector<std::string>{"A"});
  CHECK(oa.tests == 2);
  CHECK(oa.peers == std::vector<std::string>{"B", "C"});
  CHECK(oc.tests == 1);
  int alone = log.begin("D");
  CHECK(log.end(alone).tests == 0);
}

TEST_CASE("the overlap log keeps the count exact and the peer list bounded") {
  OverlapLog log;
  int mine = log.begin("me");
  for (int i = 0; i < 100; ++i) log.end(log.begin("peer " + std::to_string(i)));
  Overlap o = log.end(mine);
  CHECK(o.tests == 100);
  CHECK(o.peers.size() == kMaxOverlapPeers);
}

TEST_CASE("a span without a log reports nothing, one with a log ends itself") {
  IncomingStreams none;
  OverlapSpan nothing(none);
  CHECK_FALSE(nothing.end());
  OverlapLog log;
  IncomingStreams test;
  test.overlaps = &log;
  test.peer = "127.0.0.1 port 1";
  int other = log.begin("other");
  { OverlapSpan failed(test); }  // a test that failed before its end: out of the log
  CHECK(log.end(other).tests == 1);
  OverlapSpan span(test);
  auto o = span.end();
  REQUIRE(o);
  CHECK(o->tests == 0);
  CHECK_FALSE(span.end());  // once only
}

TEST_CASE("the overlap travels in the results exchange and older peers' results still parse") {
  SideEnd side;
  side.overlap = Overlap{2, {"10.0.0.1 port 5", "10.0.0.2 port 6"}};
  auto back = side_from_json(to_json(side), 4);
  REQUIRE(back);
  REQUIRE(back->overlap);
  CHECK(back->overlap->tests == 2);
  CHECK(back->overlap->peers.size() == 2);
  Json old = to_json(SideEnd{});
  CHECK_FALSE(old.contains("overlap"));
  auto parsed = side_from_json(old, 4);
  REQUIRE(parsed);
  CHECK_FALSE(parsed->overlap);
  Json bad = to_json(side);
  bad["overlap"]["tests"] = -1;
  CHECK_FALSE(side_from_json(bad, 4));
  bad["overlap"] = {{"tests", 1}, {"peers", "not a list"}};
  CHECK_FALSE(side_from_json(bad, 4));
}

TEST_CASE("both reports say when other tests overlapped, from the server's side") {
  Report r;
  r.is_client = true;
  SideEnd server;
  server.overlap = Overlap{1, {"127.0.0.1 port 40000"}};
  r.remote = server;
  REQUIRE(server_overlap(r));
  CHECK(end_json(r)["overlapping_tests"] == 1);
  CHECK(end_json(r)["overlapping_peers"][0] == "127.0.0.1 port 40000");
  std::ostringstream out, err;
  make_reporter(Format::kText, out, err, false)->on_end(r);
  CHECK(out.str().find("Note: 1 other test ran on the server during this test (127.0.0.1 port "
                       "40000); concurrent tests disturb each other's figures.") !=
        std::string::npos);
  r.remote->overlap = Overlap{};  // alone: no note, a zero in the JSON
  std::ostringstream quiet;
  make_reporter(Format::kText, quiet, err, false)->on_end(r);
  CHECK(quiet.str().find("Note:") == std::string::npos);
  CHECK(end_json(r)["overlapping_tests"] == 0);
  r.remote->overlap.reset();  // an older server or iperf3: nothing said
  CHECK_FALSE(end_json(r).contains("overlapping_tests"));
  Report on_server;
  on_server.is_client = false;
  on_server.local.overlap = Overlap{3, {}};
  CHECK(end_json(on_server)["overlapping_tests"] == 3);
}
