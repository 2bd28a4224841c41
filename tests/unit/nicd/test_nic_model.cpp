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
#include "nicperf/nic/nic_report.hpp"
#include "nicd/nicd.hpp"

using namespace nicperf;
using namespace nicperf::nic;
using nlohmann::json;

namespace {

std::size_t total_len(const std::vector<iovec>& iov) {
  std::size_t n = 0;
  for (const iovec& v : iov) n += v.iov_len;
  return n;
}

std::uint8_t* base(const iovec& v) { return static_cast<std::uint8_t*>(v.iov_base); }

// Writes `len` pattern bytes through `iov`, or checks that `iov` holds exactly those bytes.
bool pattern(const std::vector<iovec>& iov, std::size_t len, unsigned seed, bool write) {
  std::size_t k = 0;
  for (const iovec& v : iov) {
    for (std::size_t i = 0; i < v.iov_len && (k < len || !write); ++i, ++k) {
      auto want = static_cast<std::uint8_t>(seed * 31 + k * 7);
      if (write) base(v)[i] = want;
      if (base(v)[i] != want) return false;
    }
  }
  return k == len;
}

// Which level of Coalescer::kProfile the coalescer uses, -1 if none.
int level_of(const Coalescer& c) {
  for (std::size_t i = 0; i < Coalescer::kProfile.size(); ++i) {
    if (Coalescer::kProfile[i] == std::array{c.usecs(), c.frames()}) return static_cast<int>(i);
  }
  return -1;
}

constexpr int kTop = static_cast<int>(Coalescer::kProfile.size()) - 1;

// Feeds an adaptive coalescer `per_fire` frames every `step` ns and records the level changes,
// checking each moves one level and comes at least one millisecond window after the last.
struct AdaptiveDriver {
  Coalescer& c;
  Nanos t;
  int level = level_of(c);
  std::vector<std::pair<Nanos, int>> changes{};  // (time, new level)

  void run(Nanos duration, Nanos step, unsigned per_fire) {
    for (Nanos end = t + duration; t < end; t += step) {
      for (unsigned i = 0; i < per_fire; ++i) c.arrived(t);
      c.fired(t);
      int now = level_of(c);
      REQUIRE(now >= 0);
      if (now == level) continue;
      CHECK(std::abs(now - level) == 1);
      if (!changes.empty()) CHECK(t - changes.back().first >= 1'000'000);
      changes.emplace_back(t, level = now);
    }
  }
};

}  // namespace

TEST_CASE("nic model: DescRing chains ceil(len / buf_size) descriptors and pops in order") {
  DescRing r(16, 100);
  CHECK((r.entries() == 16 && r.buf_size() == 100));
  CHECK((r.used() == 0 && r.free() == 16 && r.frames() == 0));
  CHECK(DescRing(0, 100).entries() == 1);

  std::vector<iovec> iov;
  std::uint32_t used = 0;
  Nanos now = 1000;
  const std::pair<std::size_t, std::uint32_t> rows[] = {{0, 1},   {1, 1},   {100, 1},
                                                        {101, 2}, {200, 2}, {250, 3}};
  for (auto [len, descs] : rows) {
    CAPTURE(len);
    REQUIRE(r.reserve(len, iov));
    REQUIRE(iov.size() == 1);
    CHECK(total_len(iov) == descs * r.buf_size());
    CHECK(r.used() == used);  // a reservation alone takes nothing
    const DescRing::Frame& f = r.commit(len, now);
    CHECK((f.first == used && f.count == descs && f.len == len));
    CHECK((f.arrived == now && f.due == now && f.segments == 1 && !f.lost));
    used += descs;
    ++now;
    CHECK((r.used() == used && r.free() == 16 - used));
  }
  CHECK(r.frames() == 6);
  for (std::size_t i = 0; i < 6; ++i) CHECK(r.at(i).len == rows[i].first);
  for (auto [len, descs] : rows) {
    CHECK(r.front().len == len);  // the oldest first
    r.pop();
    used -= descs;
    CHECK(r.used() == used);
  }
  CHECK((r.frames() == 0 && r.free() == 16));
  r.pop();  // popping an empty ring is a no-op
  CHECK((r.frames() == 0 && r.used() == 0));

  // commit keeps only the descriptors len needs of a larger reservation.
  REQUIRE(r.reserve(1600, iov));
  CHECK(total_len(iov) == 1600);
  CHECK((r.commit(150, 5).count == 2 && r.used() == 2));
  CHECK(r.reserve(1400, iov));
  CHECK_FALSE(r.reserve(1401, iov));
}

TEST_CASE("nic model: DescRing back-pressure when descriptors or frame slots run out") {
  DescRing r(4, 100);
  std::vector<iovec> iov;
  REQUIRE(r.reserve(400, iov));
  r.commit(400, 1);
  CHECK(r.free() == 0);
  CHECK_FALSE(r.reserve(1, iov));
  CHECK_FALSE(r.reserve(0, iov));
  CHECK((r.used() == 4 && r.frames() == 1));
  r.pop();
  CHECK(r.free() == 4);

  REQUIRE(r.reserve(300, iov));
  r.commit(300, 2);
  CHECK(r.free() == 1);
  CHECK_FALSE(r.reserve(101, iov));  // needs 2, 1 free
  CHECK(r.used() == 3);              // a refused reservation changes nothing
  REQUIRE(r.reserve(100, iov));
  r.commit(100, 3);
  CHECK_FALSE(r.reserve(1, iov));
  r.pop();
  r.pop();

  for (int i = 0; i < 4; ++i) {  // every frame slot taken by one-descriptor frames
    REQUIRE(r.reserve(10, iov));
    r.commit(10, 4);
  }
  CHECK(r.frames() == 4);
  CHECK_FALSE(r.reserve(1, iov));
  r.pop();
  CHECK(r.reserve(100, iov));
  CHECK_FALSE(r.reserve(101, iov));
  CHECK_FALSE(DescRing(4, 100).reserve(401, iov));  // more than the whole ring never fits
}

TEST_CASE("nic model: DescRing wraps a chain into two iovecs at the region's end and start") {
  DescRing r(8, 100);
  std::vector<iovec> iov;
  REQUIRE(r.reserve(100, iov));
  std::uint8_t* region = base(iov[0]);
  REQUIRE(r.reserve(600, iov));  // a new reservation replaces the first
  r.commit(600, 1);
  CHECK((r.front().first == 0 && r.front().count == 6));
  r.pop();  // the next chain starts at descriptor 6

  REQUIRE(r.reserve(350, iov));  // 4 descriptors: 6, 7, 0, 1
  REQUIRE(iov.size() == 2);
  CHECK(base(iov[0]) == region + 600);
  CHECK(base(iov[0]) + iov[0].iov_len == region + 8 * 100);  // the region's end
  CHECK(base(iov[1]) == region);
  CHECK(iov[0].iov_len + iov[1].iov_len == 400);
  pattern(iov, 350, 9, true);
  const DescRing::Frame& f = r.commit(350, 2);
  CHECK((f.first == 6 && f.count == 4));
  CHECK(r.used() == 4);

  r.buffers(f, iov);
  REQUIRE(iov.size() == 2);
  CHECK((iov[0].iov_len == 200 && iov[1].iov_len == 150));
  CHECK(base(iov[1]) == region);
  CHECK(pattern(iov, 350, 9, false));

  DescRing s(4, 100);  // a chain ending exactly at the region's end does not wrap
  REQUIRE(s.reserve(200, iov));
  s.commit(200, 1);
  REQUIRE(s.reserve(200, iov));
  CHECK(iov.size() == 1);
  CHECK(total_len(iov) == 200);
}

TEST_CASE("nic model: DescRing keeps order and bytes over many wrapping frames") {
  DescRing r(16, 64);
  std::vector<iovec> iov;
  std::deque<std::pair<std::size_t, unsigned>> model;  // (len, seed) of the frames in the ring
  unsigned seed = 0, lcg = 12345;
  std::size_t wrapped = 0, refused = 0;
  for (int step = 0; step < 3000; ++step) {
    lcg = lcg * 1103515245u + 12345u;
    if ((lcg >> 16) % 3 != 0 || model.empty()) {
      std::size_t len = 1 + (lcg >> 8) % 400;
      if (!r.reserve(len, iov)) {
        ++refused;
        CHECK(r.free() < (len + 63) / 64);
        r.pop();
        model.pop_front();
        continue;
      }
      REQUIRE(total_len(iov) == (len + 63) / 64 * 64);
      wrapped += iov.size() == 2;
      pattern(iov, len, ++seed, true);
      CHECK(r.commit(len, static_cast<Nanos>(step)).len == len);
      model.emplace_back(len, seed);
    } else {
      r.buffers(r.front(), iov);
      CHECK(total_len(iov) == model.front().first);
      CHECK(pattern(iov, model.front().first, model.front().second, false));
      r.pop();
      model.pop_front();
    }
    REQUIRE(r.frames() == model.size());
    std::uint32_t used = 0;
    for (std::size_t i = 0; i < model.size(); ++i) {
      const DescRing::Frame& f = r.at(i);
      CHECK(f.len == model[i].first);
      used += f.count;
      if (i + 1 < model.size()) CHECK(r.at(i + 1).first == (f.first + f.count) % r.entries());
    }
    CHECK(r.used() == used);
    CHECK(r.used() + r.free() == r.entries());
  }
  CHECK(wrapped > 10);
  CHECK(refused > 10);
}

TEST_CASE("nic model: Coalescer fires at rx_frames pending or rx_usecs after the first") {
  Coalescer d;
  CHECK((d.usecs() == 50 && d.frames() == 32 && !d.settings().adaptive));

  Coalescer c({.rx_usecs = 50, .rx_frames = 4});
  CHECK_FALSE(c.due(1'000'000'000));  // nothing pending: never due
  const Nanos t = 1'000'000;
  for (Nanos i = 0; i < 3; ++i) c.arrived(t + i * 1000);
  CHECK(c.pending() == 3);
  CHECK(c.deadline() == t + 50'000);  // from the first arrival, not the last
  CHECK_FALSE(c.due(t + 3000));
  CHECK_FALSE(c.due(t + 49'999));
  CHECK(c.due(t + 50'000));
  c.arrived(t + 4000);
  CHECK(c.due(t + 4000));  // the fourth frame
  c.fired(t + 4000);
  CHECK(c.pending() == 0);
  CHECK_FALSE(c.due(t + 1'000'000));
  c.arrived(t + 200'000);  // a new burst starts a new timer
  CHECK(c.deadline() == t + 250'000);
  CHECK_FALSE(c.due(t + 249'999));
  CHECK(c.due(t + 250'000));

  struct Edge {
    CoalesceSettings set;
    int arrivals;
    Nanos quiet_until, due_at;  // not due before quiet_until, due at due_at
  };
  for (Edge e : {Edge{{.rx_usecs = 0, .rx_frames = 32}, 1, 5000, 5000},  // rx_usecs 0: at once
                 Edge{{.rx_usecs = 10, .rx_frames = 0}, 100'000, 15'000, 15'000},  // timer alone
                 Edge{{.rx_usecs = 0, .rx_frames = 0}, 1, 5000, 5000},
                 Edge{{.rx_usecs = 1000, .rx_frames = 1}, 1, 5000, 5000}}) {
    CAPTURE(e.set.rx_usecs);
    CAPTURE(e.set.rx_frames);
    Coalescer k(e.set);
    for (int i = 0; i < e.arrivals; ++i) k.arrived(5000);
    CHECK(k.deadline() == 5000 + e.set.rx_usecs * Nanos{1000});
    if (e.quiet_until > 5000) CHECK_FALSE(k.due(e.quiet_until - 1));
    CHECK(k.due(e.due_at));
  }
}

TEST_CASE("nic model: Coalescer configure changes take effect; fixed settings ignore the rate") {
  Coalescer c({.rx_usecs = 100, .rx_frames = 8});
  c.arrived(1'000'000);
  CHECK(c.deadline() == 1'100'000);
  c.configure({.rx_usecs = 10, .rx_frames = 2});
  CHECK((c.settings().rx_usecs == 10 && c.settings().rx_frames == 2));
  CHECK((c.usecs() == 10 && c.frames() == 2));
  CHECK(c.deadline() == 1'010'000);  // the pending burst's timer follows
  CHECK_FALSE(c.due(1'000'000));
  c.arrived(1'000'001);
  CHECK(c.due(1'000'001));
  c.fired(1'000'001);

  for (Nanos t = 2'000'000; t < 20'000'000; t += 1000) {
    c.arrived(t);
    c.fired(t);
  }
  CHECK((c.usecs() == 10 && c.frames() == 2));  // not adaptive: 1M frames/s changes nothing

  c.configure({.rx_usecs = 10, .rx_frames = 2, .adaptive = true});
  CHECK(c.settings().adaptive);
  CHECK(level_of(c) >= 0);  // adaptive mode runs on the profile
  c.configure({.rx_usecs = 7, .rx_frames = 3});
  CHECK((c.usecs() == 7 && c.frames() == 3));
}

TEST_CASE("nic model: adaptive Coalescer moves one profile level per millisecond window") {
  Coalescer c({.adaptive = true});
  const int start = level_of(c);
  REQUIRE(start >= 0);
  REQUIRE(start < kTop);
  const Nanos t0 = 1'000'000'000;
  AdaptiveDriver up{c, t0};
  up.run(999'000, 1000, 1);  // 1M frames/s, but less than one window
  CHECK(level_of(c) == start);
  up.run(8'000'000, 1000, 1);
  CHECK(level_of(c) == kTop);
  CHECK((c.usecs() == Coalescer::kProfile[kTop][0] && c.frames() == Coalescer::kProfile[kTop][1]));
  CHECK(up.changes.size() == static_cast<std::size_t>(kTop - start));
  REQUIRE_FALSE(up.changes.empty());
  CHECK(up.changes[0].first == t0 + 1'000'000);  // the end of the first window
  CHECK(up.changes[0].second == start + 1);

  // 5k frames/s (under kRateSteps[0]) brings it down to the bottom, one step at a time.
  AdaptiveDriver down{c, up.t};
  down.run(20'000'000, 200'000, 1);
  CHECK(level_of(c) == 0);
  CHECK((c.usecs() == Coalescer::kProfile[0][0] && c.frames() == Coalescer::kProfile[0][1]));
  CHECK(down.changes.size() == static_cast<std::size_t>(kTop));
}

TEST_CASE("nic model: adaptive Coalescer settles on the level the rate calls for") {
  Coalescer c({.adaptive = true});
  AdaptiveDriver high{c, 5'000'000'000};
  high.run(10'000'000, 1000, 1);
  REQUIRE(level_of(c) == kTop);

  // 150k frames/s: at least kRateSteps[1], under kRateSteps[2] -> level 2.
  REQUIRE((150e3 >= Coalescer::kRateSteps[1] && 150e3 < Coalescer::kRateSteps[2]));
  AdaptiveDriver mid{c, high.t};
  mid.run(10'000'000, 20'000, 3);
  CHECK(level_of(c) == 2);
  mid.run(10'000'000, 20'000, 3);
  CHECK(mid.changes.size() == static_cast<std::size_t>(kTop - 2));  // and stays there

  // A long idle gap is one window: one step down, not a jump to the bottom.
  Nanos later = mid.t + 50'000'000;
  c.arrived(later);
  c.fired(later);
  CHECK(level_of(c) == 1);
}

TEST_CASE("nic model: Link serializes back-to-back frames at rate_bps with kBurst of slack") {
  const Nanos ser = 10'000;  // 1250 bytes at 1 Gbit/s
  Link l({.rate_bps = 1'000'000'000});
  const Nanos t = 1'000'000'000;
  std::vector<Nanos> d;
  for (Nanos i = 0; i < 60; ++i) d.push_back(l.depart(t, 1250));
  for (Nanos i = 0; i < 60; ++i) CHECK(d[i] == std::max(t, t - Link::kBurst + (i + 1) * ser));
  CHECK(std::count(d.begin(), d.end(), t) == static_cast<long>(Link::kBurst / ser));
  for (int i = 21; i < 60; ++i) CHECK(d[i] - d[i - 1] == ser);
  const Nanos busy = d.back();  // the wire is busy until the last frame left
  CHECK(busy == t + 40 * ser);

  SUBCASE("an idle gap longer than kBurst banks no more than kBurst") {
    Nanos t2 = busy + 1'000'000;  // idle 1 ms: 100 frames' worth
    std::vector<Nanos> e;
    for (int i = 0; i < 40; ++i) e.push_back(l.depart(t2, 1250));
    CHECK(std::count(e.begin(), e.end(), t2) == static_cast<long>(Link::kBurst / ser));
    for (Nanos i = 0; i < 40; ++i) CHECK(e[i] == std::max(t2, t2 - Link::kBurst + (i + 1) * ser));
  }
  SUBCASE("a caller late by less than kBurst catches up") {
    Nanos t3 = busy + 50'000;  // 5 frames' worth late
    std::vector<Nanos> e;
    for (int i = 0; i < 10; ++i) e.push_back(l.depart(t3, 1250));
    for (Nanos i = 0; i < 10; ++i) CHECK(e[i] == std::max(t3, busy + (i + 1) * ser));
    CHECK(std::count(e.begin(), e.end(), t3) == 5);
    CHECK(e[5] == t3 + ser);
  }
  SUBCASE("an early caller waits for the wire") { CHECK(l.depart(t, 1250) == busy + ser); }
}

TEST_CASE("nic model: Link departs at now + delay, after bytes * 8 / rate with a rate") {
  Link none;
  CHECK(none.depart(123, 1500) == 123);
  Link unlimited({.rate_bps = 0, .delay_us = 250});
  for (Nanos now : {Nanos{0}, Nanos{1'000'000}, Nanos{5}, Nanos{1'000'000}}) {
    CHECK(unlimited.depart(now, 60) == now + 250'000);
    CHECK(unlimited.depart(now, 65'000) == now + 250'000);
  }
  Link l({.rate_bps = 10'000'000'000, .delay_us = 100});
  CHECK(l.depart(0, 9000) == 7200 + 100'000);  // at time 0 there is no credit to take
  CHECK(l.depart(0, 1500) == 7200 + 1200 + 100'000);
  CHECK(l.depart(0, 64) == 7200 + 1200 + 51 + 100'000);  // 51.2 ns, truncated
  l.configure({.rate_bps = 1'000'000'000});
  CHECK((l.settings().rate_bps == 1'000'000'000 && l.settings().delay_us == 0));
  CHECK(l.depart(0, 125) == 7200 + 1200 + 51 + 1000);
}

TEST_CASE("nic model: Link loss draws") {
  Link zero({.loss = 0}), all({.loss = 1});
  for (int i = 0; i < 10'000; ++i) REQUIRE_FALSE(zero.lost());
  for (int i = 0; i < 10'000; ++i) REQUIRE(all.lost());

  Link tenth({.loss = 0.1});
  int lost = 0;
  for (int i = 0; i < 100'000; ++i) lost += tenth.lost();
  CHECK(lost > 9'400);  // 10000 expected, sigma ~95
  CHECK(lost < 10'600);

  auto draws = [](Link l) {
    std::vector<bool> v;
    for (int i = 0; i < 1000; ++i) v.push_back(l.lost());
    return v;
  };
  CHECK(draws(Link({.loss = 0.5}, 42)) == draws(Link({.loss = 0.5}, 42)));
  CHECK(draws(Link({.loss = 0.5}, 42)) != draws(Link({.loss = 0.5}, 4242)));
  CHECK(draws(Link({.loss = 0.5})) == draws(Link({.loss = 0.5})));  // a fixed default seed
}

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

TEST_CASE("nic model: QueueCounters to_json keys, ring mean and reset; Counter max") {
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
