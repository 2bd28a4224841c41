#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "nicperf/spec/spec.hpp"

using namespace nicperf;
using nlohmann::json;

TEST_CASE("a spec survives the JSON round trip") {
  TestSpec s;
  s.streams = 4;
  s.block_len = 65536;
  s.bytes = 12345;
  s.direction = Direction::kBidir;
  s.client_cpus = {0, 1};
  s.server_cpus = {1};
  s.congestion = "cubic";
  s.verify = true;
  auto back = spec_from_json(to_json(s));
  REQUIRE(back);
  CHECK(to_json(*back) == to_json(s));
}

TEST_CASE("validation refuses every out-of-range field") {
  struct Row {
    const char* what;
    void (*edit)(TestSpec&);
  };
  Row rows[] = {
      {"zero streams", [](TestSpec& s) { s.streams = 0; }},
      {"too many streams", [](TestSpec& s) { s.streams = 129; }},
      {"zero block", [](TestSpec& s) { s.block_len = 0; }},
      {"huge block", [](TestSpec& s) { s.block_len = 17u << 20; }},
      {"zero duration", [](TestSpec& s) { s.duration = 0; }},
      {"negative duration", [](TestSpec& s) { s.duration = -1; }},
      {"day plus duration", [](TestSpec& s) { s.duration = 86401; }},
      {"tiny interval", [](TestSpec& s) { s.interval = 0.01; }},
      {"negative omit", [](TestSpec& s) { s.omit = -1; }},
      {"bad cpu", [](TestSpec& s) { s.client_cpus = {5000}; }},
      {"unknown send mode", [](TestSpec& s) { s.send_mode = "carrier-pigeon"; }},
      {"unknown recv mode", [](TestSpec& s) { s.recv_mode = "psychic"; }},
      {"verify random", [](TestSpec& s) { s.verify = s.random_payload = true; }},
      {"bad congestion name", [](TestSpec& s) { s.congestion = "../etc"; }},
      {"fewer bytes than streams",
       [](TestSpec& s) {
         s.bytes = 1;
         s.streams = 2;
       }},
  };
  for (auto& r : rows) {
    CAPTURE(r.what);
    TestSpec s;
    r.edit(s);
    auto st = validate(s);
    REQUIRE_FALSE(st);
    CHECK(st.error().code == Errc::kUsage);
    CHECK_FALSE(spec_from_json(to_json(s)));
  }
}

TEST_CASE("spec JSON of the wrong types is refused") {
  json base = to_json(TestSpec{});
  struct Row {
    const char* key;
    json value;
  };
  Row rows[] = {{"streams", "4"},
                {"streams", 1.5},
                {"streams", -1},
                {"streams", 1e30},
                {"block_len", -5},
                {"duration", "ten"},
                {"verify", 1},
                {"direction", "sideways"},
                {"client_cpus", json::array({"a"})},
                {"client_cpus", 3},
                {"send_mode", std::string(100, 'x')},
                {"bytes", 18446744073709551615ull}};
  for (auto& r : rows) {
    CAPTURE(r.key);
    CAPTURE(r.value.dump());
    json j = base;
    j[r.key] = r.value;
    CHECK_FALSE(spec_from_json(j));
  }
  json extra = base;
  extra["surprise"] = true;
  CHECK_FALSE(spec_from_json(extra));
  json missing = base;
  missing.erase("streams");
  CHECK_FALSE(spec_from_json(missing));
  CHECK_FALSE(spec_from_json(json::array()));
}

TEST_CASE("byte budgets split exactly over the streams of one direction") {
  TestSpec s;
  s.streams = 3;
  s.bytes = 1000001;
  std::uint64_t sum = 0;
  for (int i = 0; i < 3; ++i) sum += stream_byte_budget(s, i);
  CHECK(sum == s.bytes);
  s.direction = Direction::kBidir;
  std::uint64_t forward = 0, reverse = 0;
  for (int i = 0; i < connection_count(s); ++i)
    (client_sends(s, i) ? forward : reverse) += stream_byte_budget(s, i);
  CHECK(connection_count(s) == 6);
  CHECK(forward == s.bytes);
  CHECK(reverse == s.bytes);
}

TEST_CASE("mode and cost level names round trip") {
  for (auto m : {Mode::kBulk, Mode::kDatagram, Mode::kRr}) {
    CAPTURE(mode_name(m));
    CHECK(parse_mode(mode_name(m)) == m);
  }
  CHECK_FALSE(parse_mode("tcp"));
  for (auto l : {CostLevel::kOff, CostLevel::kRusage, CostLevel::kCounters, CostLevel::kRing,
                 CostLevel::kBpf, CostLevel::kFull}) {
    CAPTURE(cost_level_name(l));
    CHECK(parse_cost_level(cost_level_name(l)) == l);
    REQUIRE(cost_level_from(cost_level_name(l)));
  }
  CHECK_FALSE(parse_cost_level("most"));
  auto bad = cost_level_from("most");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == Errc::kUsage);
  CHECK(bad.error().message ==
        "cost level must be full, bpf, ring, counters, rusage or off, got 'most'");
}

TEST_CASE("a mode is the wire's protocol plus the rr flag") {
  CHECK(*mode_from("tcp", false) == Mode::kBulk);
  CHECK(*mode_from("tcp", true) == Mode::kRr);
  CHECK(*mode_from("udp", false) == Mode::kDatagram);
  CHECK(*mode_from("udp", true) == Mode::kUdpRr);
  auto sctp = mode_from("sctp", false);
  REQUIRE_FALSE(sctp);
  CHECK(sctp.error().code == Errc::kUsage);
  CHECK(sctp.error().message == "protocol 'sctp' is not supported (tcp or udp)");
  for (auto m : {Mode::kBulk, Mode::kDatagram, Mode::kRr, Mode::kUdpRr}) {
    TestSpec s;
    s.mode = m;
    CHECK(*mode_from(protocol_name(m), is_rr(s)) == m);
    CHECK(parse_mode(mode_name(m)) == m);
  }
}

TEST_CASE("the spec's wire form keeps protocol, rr and cost as strings and flags") {
  TestSpec s;
  json j = to_json(s);
  CHECK(j["protocol"] == "tcp");
  CHECK(j["rr"] == false);
  CHECK(j["cost"] == "full");
  s.mode = Mode::kRr;
  s.cost = CostLevel::kRusage;
  j = to_json(s);
  CHECK(j["protocol"] == "tcp");
  CHECK(j["rr"] == true);
  CHECK(j["cost"] == "rusage");
  auto back = spec_from_json(j);
  REQUIRE(back);
  CHECK(back->mode == Mode::kRr);
  CHECK(back->cost == CostLevel::kRusage);
  TestSpec u;
  u.mode = Mode::kDatagram;
  u.block_len = kDefaultUdpLen;
  j = to_json(u);
  CHECK(j["protocol"] == "udp");
  CHECK(spec_from_json(j)->mode == Mode::kDatagram);
}

TEST_CASE("spec JSON with an unknown protocol or cost is a usage error, --rr over UDP is udp_rr") {
  json base = to_json(TestSpec{});
  struct Row {
    const char* key;
    json value;
    const char* message;
  };
  Row rows[] = {
      {"protocol", "sctp", "protocol 'sctp' is not supported (tcp or udp)"},
      {"cost", "most", "cost level must be full, bpf, ring, counters, rusage or off, got 'most'"}};
  for (auto& r : rows) {
    CAPTURE(r.key);
    json j = base;
    j[r.key] = r.value;
    auto s = spec_from_json(j);
    REQUIRE_FALSE(s);
    CHECK(s.error().code == Errc::kUsage);
    CHECK(s.error().message == r.message);
  }
  json j = base;
  j["protocol"] = "udp";
  j["block_len"] = kDefaultUdpLen;
  j["rr"] = true;
  auto s = spec_from_json(j);
  REQUIRE(s);
  CHECK(s->mode == Mode::kUdpRr);
  CHECK(is_rr(*s));
  CHECK(uses_udp(*s));
  CHECK_FALSE(is_udp(*s));  // the datagram stream's figures (loss, jitter) are not its
  CHECK(to_json(*s)["protocol"] == "udp");
  CHECK(to_json(*s)["rr"] == true);
  j["req_len"] = 70000;  // more than one datagram holds
  CHECK(spec_from_json(j).error().message.find("--rr -u: --req and --resp") == 0);
  j["streams"] = 0;  // the numbers are checked first, as before
  CHECK(spec_from_json(j).error().message.find("streams must be") == 0);
}
