// iperf3's wire shapes: stream ids, cookies, PARAM_EXCHANGE and EXCHANGE_RESULTS.
#include <doctest/doctest.h>

#include "iperf3/iperf3_udp.hpp"
#include "nicperf/iperf3/iperf3.hpp"

using namespace nicperf;
using nlohmann::json;

TEST_CASE("iperf3 stream ids skip 2 and map back to creation order") {
  CHECK(iperf3::stream_id(0) == 1);
  CHECK(iperf3::stream_id(1) == 3);
  CHECK(iperf3::stream_id(2) == 4);
  for (int i = 0; i < 200; ++i) CHECK(iperf3::stream_index(iperf3::stream_id(i)) == i);
  for (int bad : {-5, 0, 2}) CHECK(iperf3::stream_index(bad) == -1);
}

TEST_CASE("iperf3 bidir connections alternate with nicperf's stream numbers") {
  TestSpec spec;
  spec.streams = 3;
  spec.direction = Direction::kBidir;
  // iperf3 opens the 3 forward connections, then the 3 reverse ones.
  const int want[] = {0, 2, 4, 1, 3, 5};
  for (int c = 0; c < 6; ++c) {
    CAPTURE(c);
    CHECK(iperf3::our_stream(c, spec) == want[c]);
    CHECK(iperf3::connection_of(want[c], spec) == c);
    CHECK(client_sends(spec, iperf3::our_stream(c, spec)) == (c < 3));
  }
  spec.direction = Direction::kReverse;
  for (int c = 0; c < 3; ++c) CHECK(iperf3::our_stream(c, spec) == c);
}

TEST_CASE("iperf3 cookies: 36 characters of [a-z2-7] and a NUL") {
  std::string c = iperf3::make_cookie();
  REQUIRE(c.size() == iperf3::kCookieSize);
  CHECK(c.back() == '\0');
  CHECK(iperf3::is_cookie(c));
  CHECK(iperf3::is_cookie_start(c.substr(0, 4)));
  CHECK(iperf3::make_cookie() != c);

  std::string bad = c;
  bad[5] = 'A';
  CHECK_FALSE(iperf3::is_cookie(bad));
  bad = c;
  bad[5] = '8';  // base32 has no 0, 1, 8, 9
  CHECK_FALSE(iperf3::is_cookie(bad));
  bad = c;
  bad.back() = 'a';
  CHECK_FALSE(iperf3::is_cookie(bad));
  CHECK_FALSE(iperf3::is_cookie(c.substr(1)));
  CHECK_FALSE(iperf3::is_cookie_start("NPRF"));
  CHECK_FALSE(iperf3::is_cookie_start("abc"));
  CHECK(iperf3::is_cookie_start("ab27"));
}

TEST_CASE("iperf3 parameters say what the spec asks and read back to it") {
  TestSpec spec;
  spec.streams = 4;
  spec.block_len = 65536;
  spec.duration = 5;
  spec.omit = 2;
  spec.direction = Direction::kReverse;
  spec.window = 1 << 20;
  spec.no_delay = true;
  spec.congestion = "cubic";
  spec.get_server_output = true;
  json p = iperf3::params_json(spec, "3.16");
  CHECK(p["tcp"] == true);
  CHECK(p["parallel"] == 4);
  CHECK(p["len"] == 65536);
  CHECK(p["time"] == 5);
  CHECK(p["num"] == 0);
  CHECK(p["omit"] == 2);
  CHECK(p["reverse"] == true);
  CHECK_FALSE(p.contains("bidirectional"));
  CHECK(p["window"] == 1 << 20);
  CHECK(p["nodelay"] == true);
  CHECK(p["congestion"] == "cubic");
  CHECK(p["get_server_output"] == 1);
  CHECK(p["client_version"] == "3.16");

  auto back = iperf3::spec_from_params(p, SpecLimits{});
  REQUIRE(back);
  CHECK(back->streams == 4);
  CHECK(back->block_len == 65536);
  CHECK(back->duration == 5);
  CHECK(back->omit == 2);
  CHECK(back->direction == Direction::kReverse);
  CHECK(back->window == 1u << 20);
  CHECK(back->no_delay);
  CHECK(back->congestion == "cubic");
  CHECK(back->get_server_output);

  spec.direction = Direction::kNormal;
  spec.bytes = 10 << 20;
  p = iperf3::params_json(spec, "3.16");
  CHECK(p["time"] == 0);
  CHECK(p["num"] == 10 << 20);
  CHECK_FALSE(p.contains("reverse"));
  back = iperf3::spec_from_params(p, SpecLimits{});
  REQUIRE(back);
  CHECK(back->bytes == 10u << 20);
}

TEST_CASE("iperf3 parameters nicperf cannot serve are refused as usage errors") {
  const json rows[] = {
      json::array(),          {{"udp", true}, {"omit", 1}},
      {{"sctp", true}},       {{"MSS", 70000}},
      {{"TOS", 300}},         {{"time", 0}},
      {{"parallel", "four"}}, {{"parallel", 100000}},
  };
  for (const auto& p : rows) {
    CAPTURE(p.dump());
    auto s = iperf3::spec_from_params(p, SpecLimits{});
    REQUIRE_FALSE(s);
    CHECK(s.error().code == Errc::kUsage);
  }
  TestSpec spec;
  CHECK(iperf3::unsupported(spec).empty());
  spec.verify = true;
  CHECK(iperf3::unsupported(spec).find("--verify") != std::string::npos);
  spec.verify = false;
  spec.bytes = 1000;
  spec.direction = Direction::kBidir;
  CHECK_FALSE(iperf3::unsupported(spec).empty());
}

TEST_CASE("iperf3 results round trip, net of the omitted bytes") {
  TestSpec spec;
  spec.streams = 2;
  spec.direction = Direction::kBidir;
  SideEnd ours;
  ours.cpu = {true, 12.5, 10, 2.5};
  ours.congestion = "bbr";
  for (int id = 0; id < 4; ++id) {
    StreamEnd e;
    e.id = id;
    e.sender = client_sends(spec, id);
    e.bytes_total = 1000 * std::uint64_t(id + 1);
    e.bytes_omitted = 100;
    e.seconds = 2.5;
    e.retransmits = e.sender ? 7 : 0;
    ours.streams.push_back(e);
  }
  json j = iperf3::results_json(ours, spec);
  CHECK(j["cpu_util_total"] == 12.5);
  CHECK(j["sender_has_retransmits"] == 1);
  REQUIRE(j["streams"].size() == 4);
  CHECK(j["streams"][1]["id"] == iperf3::stream_id(2));  // our stream 1 is connection 2
  CHECK(j["streams"][1]["bytes"] == 2000 - 100);
  CHECK(j["streams"][1]["retransmits"] == -1);  // a receiver has none

  auto theirs = iperf3::parse_results(j, spec, true);
  REQUIRE(theirs);
  CHECK(theirs->cpu.valid);
  CHECK(theirs->cpu.user == 10);
  CHECK(theirs->congestion == "bbr");
  REQUIRE(theirs->streams.size() == 4);
  for (const auto& s : theirs->streams) {
    CAPTURE(s.id);
    CHECK(s.bytes_total == 1000 * std::uint64_t(s.id + 1) - 100);
    CHECK(s.net_of_omit);
    CHECK(s.seconds == 2.5);
    CHECK(s.sender == client_sends(spec, s.id));
    CHECK(s.retransmits == (s.sender ? 7u : 0u));
  }
}

TEST_CASE("iperf3 results that do not fit the test are protocol errors") {
  TestSpec spec;
  spec.streams = 1;
  SideEnd side;
  side.streams.push_back(StreamEnd{});
  json good = iperf3::results_json(side, spec);
  REQUIRE(iperf3::parse_results(good, spec, false));

  json unknown_id = good;
  unknown_id["streams"][0]["id"] = 2;
  json too_many = good;
  too_many["streams"].push_back(good["streams"][0]);
  json no_cpu = good;
  no_cpu.erase("cpu_util_total");
  json bytes_text = good;
  bytes_text["streams"][0]["bytes"] = "many";
  for (const json& j : {unknown_id, too_many, no_cpu, bytes_text, json::array()}) {
    CAPTURE(j.dump());
    auto r = iperf3::parse_results(j, spec, false);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::kProtocol);
  }
}

TEST_CASE("iperf3 UDP parameters: rate, burst, length, and the results' loss and jitter") {
  json p = {{"udp", true},           {"time", 2},  {"parallel", 2},          {"len", 1200},
            {"bandwidth", 20000000}, {"burst", 4}, {"udp_counters_64bit", 1}};
  auto spec = iperf3::spec_from_params(p, SpecLimits{});
  REQUIRE(spec);
  CHECK(is_udp(*spec));
  CHECK(spec->rate == 20000000);
  CHECK(spec->burst == 4);
  CHECK(spec->block_len == 1200);
  CHECK(iperf3::udp_seq_bits(p) == 64);
  CHECK(iperf3::udp_seq_bits({{"udp", true}}) == 32);
  auto defaults = iperf3::spec_from_params({{"udp", true}}, SpecLimits{});
  REQUIRE(defaults);
  CHECK(defaults->block_len == kDefaultUdpLen);
  json back = iperf3::params_json(*spec, "test");
  CHECK(back["udp"] == true);
  CHECK_FALSE(back.contains("tcp"));
  CHECK(back["bandwidth"] == 20000000);
  // A receiver's end in iperf3's results: packets is the highest sequence number (received +
  // lost), errors the lost, jitter in seconds; and back.
  SideEnd side;
  StreamEnd e;
  e.id = 0;
  e.udp = UdpCounts{};
  e.udp->packets = 95;
  e.udp->lost = 5;
  e.udp->jitter_ms = 0.25;
  side.streams.push_back(e);
  TestSpec one = *spec;
  one.streams = 1;
  json r = iperf3::results_json(side, one);
  CHECK(r["streams"][0]["packets"] == 100);
  CHECK(r["streams"][0]["errors"] == 5);
  CHECK(r["streams"][0]["jitter"].get<double>() == doctest::Approx(0.00025));
  auto parsed = iperf3::parse_results(r, one, false);  // the peer is the server: it received
  REQUIRE(parsed);
  REQUIRE(parsed->streams[0].udp);
  CHECK(parsed->streams[0].udp->packets == 95);
  CHECK(parsed->streams[0].udp->lost == 5);
  CHECK(parsed->streams[0].udp->jitter_ms == doctest::Approx(0.25));
}
