// nicperf-nicd's model: histograms, counters, settings and the stats the client reads.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "nicd/nic_model.hpp"
#include "nicd/nicd.hpp"
#include "nicperf/nic/nic_report.hpp"

using namespace nicperf;
using namespace nicperf::nic;
using nlohmann::json;

TEST_CASE("nic model: Histogram buckets, to_json and reset") {
  const std::pair<std::uint64_t, int> buckets[] = {{0, 0}, {1, 0}, {2, 1}, {3, 1},
                                                   {4, 2}, {7, 2}, {8, 3}, {1024, 10}};
  for (auto [v, b] : buckets) CHECK(Histogram::bucket(v) == b);
  const std::uint64_t last = std::uint64_t{1} << (Histogram::kBuckets - 1);
  CHECK(Histogram::bucket(last - 1) == Histogram::kBuckets - 2);
  CHECK(Histogram::bucket(last) == Histogram::kBuckets - 1);
  CHECK(Histogram::bucket(std::uint64_t{1} << 50) == Histogram::kBuckets - 1);
  CHECK(Histogram::bucket(std::numeric_limits<std::uint64_t>::max()) == Histogram::kBuckets - 1);

  Histogram h;
  const json empty = h.to_json();
  CHECK(empty == json::parse(R"({"buckets":[],"count":0,"p50":0,"p99":0,"max":0})"));
  for (int i = 0; i < 60; ++i) h.add(1);  // bucket 0
  for (int i = 0; i < 39; ++i) h.add(5);  // bucket 2: 4..7
  h.add(100);                             // bucket 6: 64..127
  CHECK(h.to_json() ==
        json::parse(R"({"buckets":[[0,60],[4,39],[64,1]],"count":100,"p50":1,"p99":7,"max":127})"));
  h.add(3);
  h.add(100);  // 102 values: p99's rank is 101, past bucket 2's cumulative 100
  CHECK(h.to_json() == json::parse(R"({"buckets":[[0,60],[2,1],[4,39],[64,2]],"count":102,
                                       "p50":1,"p99":127,"max":127})"));
  h.reset();
  CHECK(h.to_json() == empty);
  h.add(std::numeric_limits<std::uint64_t>::max());
  json j = h.to_json();
  CHECK(j["buckets"] == json::array({json::array({last, 1})}));
  CHECK(j["max"] == 2 * last - 1);
}

TEST_CASE("nic model: QueueCounters to_json keys, ring mean and reset, Counter max") {
  Counter m;
  m.max(5);
  m.max(3);  // max only raises
  CHECK(m.get() == 5);
  m.add(1);
  CHECK(m.get() == 6);
  m.reset();
  CHECK(m.get() == 0);

  QueueCounters q;
  const json zero = q.to_json();
  CHECK(zero.size() == 13);
  CHECK(zero["ring_used_mean"] == 0.0);  // no samples: no division by zero
  Counter* all[] = {&q.frames,        &q.bytes,         &q.segments,     &q.wire_bytes,
                    &q.drops,         &q.lost,          &q.interrupts,   &q.ring_samples,
                    &q.ring_used_sum, &q.ring_used_max, &q.backpressure, &q.segmented};
  std::uint64_t v = 1;
  for (Counter* c : all) c->add(v++);
  q.frames_per_irq.add(4);
  q.residence_ns.add(1000);
  json j = q.to_json();
  CHECK(j["ring_used_mean"].get<double>() == doctest::Approx(9.0 / 8.0));  // sum / samples
  j.erase("ring_used_mean");
  CHECK(j == json::parse(R"({"frames":1,"bytes":2,"wire_segments":3,"wire_bytes":4,"drops":5,
      "lost":6,"interrupts":7,"ring_used_max":10,"backpressure":11,"segmented":12,
      "frames_per_interrupt":{"buckets":[[4,1]],"count":1,"p50":7,"p99":7,"max":7},
      "residence_ns":{"buckets":[[512,1]],"count":1,"p50":1023,"p99":1023,"max":1023}})"));
  q.reset();
  for (Counter* c : all) CHECK(c->get() == 0);
  CHECK(q.to_json() == zero);
}

TEST_CASE("nic model: apply_setting takes every key and to_json shows it") {
  NicSettings s;
  CHECK(to_json(s) == json::parse(R"({"rx-usecs":50,"rx-frames":32,"adaptive":false,"tso":true,
      "gro":true,"rate":0,"delay":0,"loss":0.0,"ring":256,"busy-poll":0})"));
  const std::pair<const char*, json> good[] = {{"rx-usecs=0", 0},
                                               {"rx-usecs=100000", 100000},
                                               {"rx-frames=0", 0},
                                               {"rx-frames=4096", 4096},
                                               {"busy-poll=30", 30},
                                               {"adaptive=on", true},
                                               {"adaptive=off", false},
                                               {"adaptive=1", true},
                                               {"adaptive=0", false},
                                               {"adaptive=true", true},
                                               {"adaptive=false", false},
                                               {"tso=off", false},
                                               {"tso=on", true},
                                               {"gro=false", false},
                                               {"gro=1", true},
                                               {"rate=10G", 10e9},
                                               {"rate=2.5M", 2.5e6},
                                               {"rate=100k", 100e3},
                                               {"rate=0", 0},
                                               {"rate=1500", 1500},
                                               {"delay=250", 250},
                                               {"delay=10000000", 1e7},
                                               {"loss=10", 10.0},
                                               {"loss=0.5", 0.5},
                                               {"loss=100", 100.0},
                                               {"loss=0", 0.0},
                                               {"ring=64", 64},
                                               {"ring=4096", 4096}};
  for (const auto& [kv, want] : good) {
    std::string text = kv, key = text.substr(0, text.find('='));
    CAPTURE(text);
    REQUIRE(apply_setting(s, key, text.substr(text.find('=') + 1)));
    json shown = to_json(s)[key];  // to_json shows what the setting became
    if (want.is_boolean()) {
      CHECK(shown == want);
    } else {
      CHECK(shown.get<double>() == doctest::Approx(want.get<double>()));
    }
  }
  CHECK(s.link.rate_bps == 1500);
  CHECK(s.link.loss == 0.0);
  REQUIRE(apply_setting(s, "loss", "12.5"));
  CHECK(s.link.loss == doctest::Approx(0.125));  // percent in, probability inside
  REQUIRE(apply_setting(s, "rate", "10G"));
  CHECK(s.link.rate_bps == 10'000'000'000ull);

  NicSettings back;
  REQUIRE(apply_settings(back, to_json(s)));  // to_json's output is valid input
  CHECK(to_json(back) == to_json(s));
}

TEST_CASE("nic model: apply_setting refuses bad values and unknown keys, naming the key") {
  std::istringstream bad(  // key=value items
      "rx-usecs=|rx-usecs=-1|rx-usecs=100001|rx-usecs=1.5|rx-usecs=abc|rx-usecs=5 |"
      "rx-usecs=1e99999|rx-usecs=99999999999999999999999|rx-frames=4097|rx-frames=x|"
      "adaptive=yes|adaptive=|tso=2|gro=On|rate=fast|rate=-1G|rate=|rate=10X|delay=10000001|"
      "delay=-5|loss=101|loss=-1|loss=|loss=nan|loss=inf|loss=5%|ring=63|ring=0|ring=4097|"
      "ring=big|rx_usecs=1|speed=10G|mtu=1500");
  for (std::string kv; std::getline(bad, kv, '|');) {
    std::string key = kv.substr(0, kv.find('=')), value = kv.substr(kv.find('=') + 1);
    CAPTURE(key);
    CAPTURE(value);
    NicSettings s;
    const json before = to_json(s);
    auto st = apply_setting(s, key, value);
    REQUIRE_FALSE(st);
    CHECK(st.error().code == Errc::kUsage);
    CHECK(st.error().message.find(key) != std::string::npos);
    CHECK(to_json(s) == before);
  }
  NicSettings s;
  auto unknown = apply_setting(s, "", "1");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message.find("unknown") != std::string::npos);
}

TEST_CASE("nic model: apply_settings takes JSON values and is all-or-nothing") {
  NicSettings s;
  REQUIRE(apply_settings(s, json::parse(R"({"adaptive":true,"tso":false,"gro":0,"rx-usecs":0,
      "rx-frames":1,"rate":"10G","delay":100,"loss":2.5,"ring":1024})")));
  CHECK((s.coalesce.adaptive && !s.tso && !s.gro));
  CHECK((s.coalesce.rx_usecs == 0 && s.coalesce.rx_frames == 1 && s.ring == 1024));
  CHECK((s.link.rate_bps == 10'000'000'000ull && s.link.delay_us == 100));
  CHECK(s.link.loss == doctest::Approx(0.025));
  REQUIRE(apply_settings(s, json{{"rate", 1'000'000'000}, {"adaptive", "off"}, {"gro", true}}));
  CHECK((s.link.rate_bps == 1'000'000'000 && !s.coalesce.adaptive && s.gro));
  REQUIRE(apply_settings(s, json::object()));

  const json before = to_json(s);
  // Keys apply in order ("adaptive" < "delay" < "ring" < "rx-*" < "tso" < "zzz"), so the good
  // ones ahead of the bad one have been applied to the copy when it fails.
  for (const char* bad :
       {R"({"adaptive":true,"ring":1,"tso":true})", R"({"adaptive":true,"tso":"maybe"})",
        R"({"delay":5,"rx-usecs":-5})", R"({"delay":5,"rx-usecs":null})",
        R"({"delay":5,"rx-usecs":1.5})", R"({"delay":5,"rx-frames":true})",
        R"({"delay":5,"zzz":1})", R"({"delay":5,"loss":[1]})", R"({"adaptive":1,"ring":{}})"}) {
    CAPTURE(bad);
    auto st = apply_settings(s, json::parse(bad));
    REQUIRE_FALSE(st);
    CHECK(st.error().code == Errc::kUsage);
    CHECK(to_json(s) == before);
  }
  auto named = apply_settings(s, json{{"ring", 8}});
  REQUIRE_FALSE(named);
  CHECK(named.error().message.find("ring") != std::string::npos);
  for (const json& notobj : {json(), json::array({1}), json("rx-usecs=0"), json(5)}) {
    CAPTURE(notobj.dump());
    auto st = apply_settings(s, notobj);
    REQUIRE_FALSE(st);
    CHECK(st.error().code == Errc::kUsage);
    CHECK(to_json(s) == before);
  }
}

TEST_CASE("nic model: validate(NicdConfig) refuses bad namespaces, queues, mtu and socket") {
  CHECK(validate(NicdConfig{}));
  auto check = [](auto edit, const std::string& mentions) {
    NicdConfig c;
    edit(c);
    auto st = validate(c);
    if (mentions.empty()) {
      CHECK(st);
      return;
    }
    REQUIRE_FALSE(st);
    CHECK(st.error().code == Errc::kUsage);
    CHECK(st.error().message.find(mentions) != std::string::npos);
  };
  for (unsigned q : {1u, 16u}) check([&](NicdConfig& c) { c.queues = q; }, "");
  for (unsigned q : {0u, 17u}) check([&](NicdConfig& c) { c.queues = q; }, "queues");
  for (unsigned m : {576u, 9000u}) check([&](NicdConfig& c) { c.mtu = m; }, "");
  for (unsigned m : {0u, 575u, 9001u}) check([&](NicdConfig& c) { c.mtu = m; }, "mtu");
  for (const char* ns : {"cli", "nicperf", "xnicperf-cli", "nicperf-CLI", "nicperf-a_b",
                         "nicperf-a/b", "nicperf-a b", "nicperf-a.b", ""}) {
    CAPTURE(ns);
    std::string quoted = std::string("'") + ns + "'";
    check([&](NicdConfig& c) { c.cli_ns = ns; }, quoted);
    check([&](NicdConfig& c) { c.srv_ns = ns; }, quoted);
  }
  check([](NicdConfig& c) { c.srv_ns = "nicperf-" + std::string(40, 'a'); }, "namespace");
  check([](NicdConfig& c) { c.cli_ns = "nicperf-test-1"; }, "");
  check([](NicdConfig& c) { c.cli_ns = c.srv_ns = "nicperf-x"; }, "differ");
  check([](NicdConfig& c) { c.socket = ""; }, "socket");
  check([](NicdConfig& c) { c.socket = "/tmp/" + std::string(200, 's'); }, "socket");
  check([](NicdConfig& c) { c.socket = "/tmp/nicd.sock"; }, "");
}

namespace {

struct QueueSpec {
  unsigned queue;
  int tid;
  std::uint64_t frames, bytes, interrupts, ring_max, ring_samples, ring_sum, residence, steered;
  double busy_ns;
};

// One queue's entry in Nicd::stats(): QueueCounters::to_json() plus the worker's keys.
json queue_reply(const QueueSpec& q) {
  QueueCounters c;
  c.frames.add(q.frames);
  c.bytes.add(q.bytes);
  c.segments.add(q.frames / 2);
  c.wire_bytes.add(q.bytes + 100);
  c.interrupts.add(q.interrupts);
  for (Counter* k : {&c.drops, &c.lost, &c.backpressure, &c.segmented}) k->add(2);
  c.ring_samples.add(q.ring_samples);
  c.ring_used_sum.add(q.ring_sum);
  c.ring_used_max.max(q.ring_max);
  c.frames_per_irq.add(q.frames / q.interrupts);
  for (int i = 0; i < 10; ++i) c.residence_ns.add(q.residence);
  json j = c.to_json();
  j["queue"] = q.queue;
  j["tid"] = q.tid;
  j["steered"] = q.steered;
  j["rx_usecs_now"] = 50;
  j["busy_ns"] = q.busy_ns;
  return j;
}

// Two queues cli->srv, one srv->cli, over 2 s.
json stats_reply() {
  json c2s = json::array({queue_reply({0, 101, 100, 150'000, 10, 7, 4, 10, 1000, 5, 5e8}),
                          queue_reply({1, 102, 300, 450'000, 20, 3, 2, 12, 5000, 6, 2.5e8})});
  json s2c = json::array({queue_reply({0, 103, 50, 3000, 50, 1, 1, 1, 300, 0, 1e8})});
  return {{"interval_ns", 2'000'000'000},
          {"directions", {{"cli_to_srv", c2s}, {"srv_to_cli", s2c}}}};
}

}  // namespace

TEST_CASE("nicd: --backend auto picks xdp only for frames it can carry, in a build that has it") {
  NicdConfig c;
  c.settings.tso = true;  // super-frames: only a TAP carries them
  CHECK(auto_backend(c) == Backend::kTap);
  c.settings.tso = false;
#ifdef NICPERF_HAVE_XDP
  CHECK(auto_backend(c) == Backend::kXdp);
#else
  CHECK(auto_backend(c) == Backend::kTap);
#endif
  c.mtu = 9000;  // above a page per frame
  CHECK(auto_backend(c) == Backend::kTap);
  CHECK(parse_backend("auto").error().message.find("auto, tap or xdp") != std::string::npos);
}

TEST_CASE("nic model: nic_stats_from_json reads the daemon's stats and totals them") {
  auto s = nic_stats_from_json(stats_reply());
  REQUIRE(s);
  CHECK(s->interval_s == doctest::Approx(2.0));
  CHECK(s->settings.is_null());
  REQUIRE(s->directions.size() == 2);
  const NicDirection& c2s = s->directions[0];
  CHECK((c2s.name == "cli_to_srv" && s->directions[1].name == "srv_to_cli"));
  REQUIRE(c2s.queues.size() == 2);
  REQUIRE(s->directions[1].queues.size() == 1);

  const NicQueueStats& q0 = c2s.queues[0];
  CHECK((q0.queue == 0 && q0.tid == 101 && q0.frames == 100 && q0.bytes == 150'000));
  CHECK((q0.wire_segments == 50 && q0.wire_bytes == 150'100 && q0.drops == 2 && q0.lost == 2));
  CHECK((q0.interrupts == 10 && q0.backpressure == 2 && q0.segmented == 2 && q0.steered == 5));
  CHECK(q0.ring_used_max == 7);
  CHECK(q0.ring_used_mean == doctest::Approx(2.5));
  CHECK(q0.busy_ns == doctest::Approx(5e8));
  CHECK((q0.residence_p50_ns == 1023 && q0.residence_p99_ns == 1023));
  CHECK(q0.frames_per_irq() == doctest::Approx(10.0));
  CHECK(q0.frames_per_interrupt["count"] == 1);
  CHECK((c2s.queues[1].queue == 1 && c2s.queues[1].residence_p99_ns == 8191));

  NicQueueStats t = c2s.total();
  CHECK((t.frames == 400 && t.bytes == 600'000 && t.wire_segments == 200));
  CHECK((t.wire_bytes == 600'200 && t.drops == 4 && t.lost == 4 && t.interrupts == 30));
  CHECK((t.backpressure == 4 && t.segmented == 4 && t.steered == 11));
  CHECK(t.ring_used_max == 7);                      // maxima
  CHECK(t.ring_used_mean == doctest::Approx(6.0));  // the largest queue mean
  CHECK((t.residence_p50_ns == 8191 && t.residence_p99_ns == 8191));
  CHECK(t.busy_ns == doctest::Approx(7.5e8));  // sums
  CHECK(t.frames_per_irq() == doctest::Approx(400.0 / 30));
  CHECK(NicQueueStats{}.frames_per_irq() == 0.0);

  json reply = stats_reply();
  reply["settings"] = to_json(NicSettings{});
  auto with = nic_stats_from_json(reply);
  REQUIRE(with);
  CHECK(with->settings == to_json(NicSettings{}));

  reply = {{"interval_ns", 0},
           {"directions", {{"cli_to_srv", json::array()}, {"srv_to_cli", json::array()}}}};
  auto empty = nic_stats_from_json(reply);
  REQUIRE(empty);
  CHECK(empty->directions[0].queues.empty());
  CHECK(empty->directions[0].total().frames == 0);
}

TEST_CASE("nic model: to_json(NicStats) has per-direction queues and a total") {
  const json reply = stats_reply();
  auto s = nic_stats_from_json(reply);
  REQUIRE(s);
  json j = to_json(*s);
  CHECK(j["interval_seconds"] == doctest::Approx(2.0));
  CHECK_FALSE(j.contains("settings"));
  for (const char* dir : {"cli_to_srv", "srv_to_cli"}) {
    CAPTURE(dir);
    const json& d = j["directions"][dir];
    REQUIRE(d["queues"].size() == reply["directions"][dir].size());
    for (std::size_t i = 0; i < d["queues"].size(); ++i) {
      const json& out = d["queues"][i];
      const json& in = reply["directions"][dir][i];
      for (const char* key :
           {"queue", "tid", "frames", "bytes", "wire_segments", "wire_bytes", "interrupts", "drops",
            "lost", "backpressure", "segmented", "steered", "ring_used_max", "ring_used_mean",
            "frames_per_interrupt", "residence_ns"}) {
        CAPTURE(key);
        CHECK(out[key] == in[key]);
      }
      CHECK(out["busy_seconds"].get<double>() ==
            doctest::Approx(in["busy_ns"].get<double>() / 1e9));
      CHECK(out["frames_per_interrupt_mean"].get<double>() ==
            doctest::Approx(in["frames"].get<double>() / in["interrupts"].get<double>()));
    }
    for (const char* gone : {"queue", "tid", "frames_per_interrupt", "residence_ns"}) {
      CHECK_FALSE(d["total"].contains(gone));
    }
  }
  json total = j["directions"]["cli_to_srv"]["total"];
  CHECK((total["frames"] == 400 && total["interrupts"] == 30 && total["ring_used_max"] == 7));
  CHECK(total["busy_seconds"].get<double>() == doctest::Approx(0.75));
  CHECK(total["frames_per_interrupt_mean"].get<double>() == doctest::Approx(400.0 / 30));
  CHECK(total["host_softirq_seconds"].is_null());  // not traced

  s->directions[0].queues[0].host_softirq_ns = 2e8;  // traced on one queue
  total = to_json(*s)["directions"]["cli_to_srv"]["total"];
  CHECK(total["host_softirq_seconds"].get<double>() == doctest::Approx(0.2));
  CHECK(total["nic_own_seconds"].get<double>() == doctest::Approx(0.55));

  s->settings = to_json(NicSettings{});
  CHECK(to_json(*s)["settings"] == s->settings);
}

TEST_CASE("nic model: nic_table has a row per queue and an all row for several queues") {
  auto s = nic_stats_from_json(stats_reply());
  REQUIRE(s);
  std::string table = nic_table(*s);
  CHECK(table.rfind("NIC (nicperf-nicd) over 2.00 s\n", 0) == 0);
  CHECK(table.find("direction  queue") != std::string::npos);
  std::istringstream in(table);
  std::vector<std::pair<std::string, std::string>> rows;  // (direction, queue)
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string dir, queue;
    words >> dir >> queue;
    if (dir != "cli->srv" && dir != "srv->cli") continue;
    rows.emplace_back(dir, queue);
    lines.push_back(line);
  }
  using Row = std::pair<std::string, std::string>;
  CHECK(rows == std::vector<Row>{
                    {"cli->srv", "0"}, {"cli->srv", "1"}, {"cli->srv", "all"}, {"srv->cli", "0"}});
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].find(" 100 ") != std::string::npos);  // frames
  CHECK(lines[2].find(" 400 ") != std::string::npos);
  CHECK(lines[0].find(" 25.0% ") != std::string::npos);  // busy: 0.5 s over 2 s
  CHECK(lines[2].find(" 37.5% ") != std::string::npos);
  CHECK(lines[0].back() == '-');  // no host softirq traced

  s->settings = to_json(NicSettings{});
  CHECK(nic_table(*s).find("rx-usecs 50, rx-frames 32, tso on, gro on") != std::string::npos);
  s->settings["adaptive"] = true;
  CHECK(nic_table(*s).find("(adaptive)") != std::string::npos);
}

TEST_CASE("nic model: malformed stats replies are protocol errors") {
  std::vector<json> bad = {json(), json::array(), json("stats")};
  auto broken = [&](auto edit) {
    json r = stats_reply();
    edit(r);
    bad.push_back(r);
  };
  broken([](json& r) { r.erase("interval_ns"); });
  broken([](json& r) { r["interval_ns"] = "soon"; });
  broken([](json& r) { r.erase("directions"); });
  broken([](json& r) { r["directions"].erase("srv_to_cli"); });
  broken([](json& r) { r["directions"]["cli_to_srv"] = 5; });
  for (const char* key : {"queue", "tid", "frames", "bytes", "steered", "ring_used_mean", "busy_ns",
                          "frames_per_interrupt", "residence_ns"}) {
    broken([&](json& r) { r["directions"]["cli_to_srv"][1].erase(key); });
  }
  broken([](json& r) { r["directions"]["srv_to_cli"][0]["frames"] = "many"; });
  broken([](json& r) { r["directions"]["srv_to_cli"][0]["residence_ns"].erase("p99"); });
  broken([](json& r) { r["directions"]["srv_to_cli"][0]["residence_ns"] = 7; });
  for (std::size_t i = 0; i < bad.size(); ++i) {
    std::string text = bad[i].dump().substr(0, 200);
    CAPTURE(text);
    auto s = nic_stats_from_json(bad[i]);
    REQUIRE_FALSE(s);
    CHECK(s.error().code == Errc::kProtocol);
    CHECK(s.error().message.find("malformed") != std::string::npos);
  }
}
