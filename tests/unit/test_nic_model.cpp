#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "nicperf/nic_model.hpp"
#include "nicperf/nic_report.hpp"
#include "nicperf/nicd.hpp"

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

// Writes `len` bytes of a pattern derived from `seed` through `iov`.
void fill(const std::vector<iovec>& iov, std::size_t len, unsigned seed) {
  std::size_t k = 0;
  for (const iovec& v : iov) {
    for (std::size_t i = 0; i < v.iov_len && k < len; ++i, ++k) {
      base(v)[i] = static_cast<std::uint8_t>(seed * 31 + k * 7);
    }
  }
}

bool matches(const std::vector<iovec>& iov, std::size_t len, unsigned seed) {
  std::size_t k = 0;
  for (const iovec& v : iov) {
    for (std::size_t i = 0; i < v.iov_len; ++i, ++k) {
      if (base(v)[i] != static_cast<std::uint8_t>(seed * 31 + k * 7)) return false;
    }
  }
  return k == len;
}

// Which level of Coalescer::kProfile the coalescer currently uses, -1 if none.
int level_of(const Coalescer& c) {
  for (std::size_t i = 0; i < Coalescer::kProfile.size(); ++i) {
    if (Coalescer::kProfile[i][0] == c.usecs() && Coalescer::kProfile[i][1] == c.frames()) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

// Feeds an adaptive coalescer `per_fire` frames every `step` ns and records each level change.
struct AdaptiveDriver {
  Coalescer& c;
  Nanos t;
  int level = level_of(c);
  std::vector<std::pair<Nanos, int>> changes;  // (time, new level)

  void run(Nanos duration, Nanos step, unsigned per_fire) {
    for (Nanos end = t + duration; t < end; t += step) {
      for (unsigned i = 0; i < per_fire; ++i) c.arrived(t);
      c.fired(t);
      int now = level_of(c);
      REQUIRE(now >= 0);
      if (now != level) changes.emplace_back(t, now);
      level = now;
    }
  }
  // No change moves more than one level, and changes are at least a millisecond apart.
  void check_steps(int from) const {
    int prev = from;
    for (std::size_t i = 0; i < changes.size(); ++i) {
      CAPTURE(i);
      CHECK(std::abs(changes[i].second - prev) == 1);
      if (i > 0) CHECK(changes[i].first - changes[i - 1].first >= 1'000'000);
      prev = changes[i].second;
    }
  }
};

}  // namespace

// ---------------------------------------------------------------------------------- DescRing

TEST_CASE("nic model: DescRing starts empty and chains ceil(len / buf_size) descriptors") {
  DescRing r(16, 100);
  CHECK(r.entries() == 16);
  CHECK(r.buf_size() == 100);
  CHECK(r.used() == 0);
  CHECK(r.free() == 16);
  CHECK(r.frames() == 0);
  CHECK(DescRing(0, 100).entries() == 1);

  std::vector<iovec> iov;
  struct Row {
    std::size_t len;
    std::uint32_t descs;
  };
  std::uint32_t used = 0;
  std::uint32_t next = 0;
  Nanos now = 1000;
  for (Row row : {Row{0, 1}, Row{1, 1}, Row{100, 1}, Row{101, 2}, Row{200, 2}, Row{250, 3}}) {
    CAPTURE(row.len);
    REQUIRE(r.reserve(row.len, iov));
    REQUIRE(iov.size() == 1);
    CHECK(total_len(iov) == row.descs * r.buf_size());
    const DescRing::Frame& f = r.commit(row.len, now);
    CHECK(f.first == next);
    CHECK(f.count == row.descs);
    CHECK(f.len == row.len);
    CHECK(f.arrived == now);
    CHECK(f.due == now);
    CHECK(f.segments == 1);
    CHECK_FALSE(f.lost);
    used += row.descs;
    next += row.descs;
    ++now;
    CHECK(r.used() == used);
    CHECK(r.free() == 16 - used);
  }
  CHECK(r.frames() == 6);
  // Popping gives back the head frame's descriptors, in order.
  for (std::uint32_t descs : {1u, 1u, 1u, 2u, 2u, 3u}) {
    CHECK(r.front().count == descs);
    r.pop();
    used -= descs;
    CHECK(r.used() == used);
  }
  CHECK(r.frames() == 0);
  CHECK(r.free() == 16);
  r.pop();  // popping an empty ring is a no-op
  CHECK(r.frames() == 0);
  CHECK(r.used() == 0);
}

TEST_CASE("nic model: DescRing commit keeps only what len needs of a larger reservation") {
  DescRing r(8, 100);
  std::vector<iovec> iov;
  REQUIRE(r.reserve(800, iov));
  CHECK(total_len(iov) == 800);
  CHECK(r.used() == 0);  // a reservation alone takes nothing
  const DescRing::Frame& f = r.commit(150, 5);
  CHECK(f.count == 2);
  CHECK(r.used() == 2);
  REQUIRE(r.reserve(600, iov));  // the other six are free again
  CHECK_FALSE(r.reserve(700, iov));
}

TEST_CASE("nic model: DescRing back-pressure when descriptors or frame slots run out") {
  DescRing r(4, 100);
  std::vector<iovec> iov;
  REQUIRE(r.reserve(400, iov));
  r.commit(400, 1);
  CHECK(r.free() == 0);
  CHECK_FALSE(r.reserve(1, iov));
  CHECK_FALSE(r.reserve(0, iov));
  CHECK(r.used() == 4);
  CHECK(r.frames() == 1);
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

  // Every frame slot taken by one-descriptor frames.
  for (int i = 0; i < 4; ++i) {
    REQUIRE(r.reserve(10, iov));
    r.commit(10, 4);
  }
  CHECK(r.frames() == 4);
  CHECK_FALSE(r.reserve(1, iov));
  CHECK_FALSE(r.reserve(1000, iov));  // more than the whole ring never fits
}

TEST_CASE("nic model: DescRing wraps a chain into two iovecs at the region's end and start") {
  DescRing r(8, 100);
  std::vector<iovec> iov;
  REQUIRE(r.reserve(100, iov));
  std::uint8_t* region = base(iov[0]);
  std::uint8_t* region_end = region + 8 * 100;
  REQUIRE(r.reserve(600, iov));  // a new reservation replaces the first
  r.commit(600, 1);
  CHECK(r.front().first == 0);
  CHECK(r.front().count == 6);
  r.pop();  // the next chain starts at descriptor 6
  CHECK(r.used() == 0);

  REQUIRE(r.reserve(350, iov));  // 4 descriptors: 6, 7, 0, 1
  REQUIRE(iov.size() == 2);
  CHECK(base(iov[0]) == region + 600);
  CHECK(base(iov[0]) + iov[0].iov_len == region_end);
  CHECK(base(iov[1]) == region);
  CHECK(iov[0].iov_len + iov[1].iov_len == 400);
  fill(iov, 350, 9);
  const DescRing::Frame& f = r.commit(350, 2);
  CHECK(f.first == 6);
  CHECK(f.count == 4);

  r.buffers(f, iov);
  REQUIRE(iov.size() == 2);
  CHECK(iov[0].iov_len == 200);
  CHECK(iov[1].iov_len == 150);
  CHECK(base(iov[1]) == region);
  CHECK(matches(iov, 350, 9));

  // A chain ending exactly at the region's end does not wrap.
  DescRing s(4, 100);
  REQUIRE(s.reserve(200, iov));
  s.commit(200, 1);
  REQUIRE(s.reserve(200, iov));
  CHECK(iov.size() == 1);
  CHECK(total_len(iov) == 200);
}

TEST_CASE("nic model: DescRing front and at keep order; data written reads back in buffers") {
  DescRing r(16, 64);
  std::vector<iovec> iov;
  std::deque<std::pair<std::size_t, unsigned>> model;  // (len, seed) of the frames in the ring
  unsigned seed = 0, lcg = 12345;
  std::size_t wrapped = 0, refused = 0;
  for (int step = 0; step < 2000; ++step) {
    lcg = lcg * 1103515245u + 12345u;
    bool push = (lcg >> 16) % 3 != 0 || model.empty();
    if (push) {
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
      fill(iov, len, ++seed);
      const DescRing::Frame& f = r.commit(len, static_cast<Nanos>(step));
      CHECK(f.len == len);
      model.emplace_back(len, seed);
    } else {
      const DescRing::Frame& f = r.front();
      CHECK(f.len == model.front().first);
      r.buffers(f, iov);
      CHECK(total_len(iov) == f.len);
      CHECK(matches(iov, f.len, model.front().second));
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
    if (!model.empty()) CHECK(&r.front() == &r.at(0));
  }
  CHECK(wrapped > 0);
  CHECK(refused > 0);
}

// --------------------------------------------------------------------------------- Coalescer

TEST_CASE("nic model: Coalescer fires at rx_frames pending or rx_usecs after the first") {
  Coalescer d;
  CHECK(d.usecs() == 50);
  CHECK(d.frames() == 32);
  CHECK_FALSE(d.settings().adaptive);

  Coalescer c({.rx_usecs = 50, .rx_frames = 4});
  CHECK_FALSE(c.due(1'000'000'000));  // nothing pending: never due
  Nanos t = 1'000'000;
  for (int i = 0; i < 3; ++i) c.arrived(t + i * 1000);
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
}

TEST_CASE("nic model: Coalescer rx_usecs 0 fires at once and rx_frames 0 is the timer alone") {
  Coalescer now({.rx_usecs = 0, .rx_frames = 32});
  now.arrived(5000);
  CHECK(now.deadline() == 5000);
  CHECK(now.due(5000));

  Coalescer timer({.rx_usecs = 10, .rx_frames = 0});
  for (int i = 0; i < 100'000; ++i) timer.arrived(7000);
  CHECK_FALSE(timer.due(7000));
  CHECK_FALSE(timer.due(16'999));
  CHECK(timer.due(17'000));

  Coalescer both({.rx_usecs = 0, .rx_frames = 0});
  both.arrived(1);
  CHECK(both.due(1));

  Coalescer one({.rx_usecs = 1000, .rx_frames = 1});
  one.arrived(1);
  CHECK(one.due(1));
}

TEST_CASE("nic model: Coalescer configure changes take effect") {
  Coalescer c({.rx_usecs = 100, .rx_frames = 8});
  c.arrived(1'000'000);
  CHECK(c.deadline() == 1'100'000);
  c.configure({.rx_usecs = 10, .rx_frames = 2});
  CHECK(c.settings().rx_usecs == 10);
  CHECK(c.settings().rx_frames == 2);
  CHECK(c.usecs() == 10);
  CHECK(c.frames() == 2);
  CHECK(c.deadline() == 1'010'000);  // the pending burst's timer follows
  CHECK_FALSE(c.due(1'000'000));
  c.arrived(1'000'001);
  CHECK(c.due(1'000'001));

  c.configure({.rx_usecs = 10, .rx_frames = 2, .adaptive = true});
  CHECK(c.settings().adaptive);
  CHECK(level_of(c) >= 0);  // adaptive mode runs on the profile
  c.configure({.rx_usecs = 7, .rx_frames = 3, .adaptive = false});
  CHECK(c.usecs() == 7);
  CHECK(c.frames() == 3);
}

TEST_CASE("nic model: Coalescer without adaptive mode keeps its settings at any rate") {
  Coalescer c({.rx_usecs = 20, .rx_frames = 5});
  for (Nanos t = 1'000'000; t < 20'000'000; t += 1000) {
    c.arrived(t);
    c.fired(t);
  }
  CHECK(c.usecs() == 20);
  CHECK(c.frames() == 5);
}

TEST_CASE("nic model: adaptive Coalescer climbs one level per millisecond at a high rate") {
  Coalescer c({.adaptive = true});
  int start = level_of(c);
  REQUIRE(start >= 0);
  REQUIRE(start < static_cast<int>(Coalescer::kProfile.size()) - 1);
  const int top = static_cast<int>(Coalescer::kProfile.size()) - 1;
  AdaptiveDriver drv{c, 1'000'000'000};

  drv.run(999'000, 1000, 1);  // 1M frames/s, but less than a full window
  CHECK(level_of(c) == start);
  drv.run(8'000'000, 1000, 1);
  CHECK(level_of(c) == top);
  CHECK(c.usecs() == Coalescer::kProfile[top][0]);
  CHECK(c.frames() == Coalescer::kProfile[top][1]);
  CHECK(drv.changes.size() == static_cast<std::size_t>(top - start));
  drv.check_steps(start);
  for (const auto& [when, level] : drv.changes) CHECK(level > start);
  REQUIRE_FALSE(drv.changes.empty());
  CHECK(drv.changes[0].first <= 1'000'000'000 + 1'001'000);  // the first window's end

  // A low rate (5k frames/s) brings it back down to the bottom level, one step at a time.
  AdaptiveDriver down{c, drv.t};
  down.run(20'000'000, 200'000, 1);
  CHECK(level_of(c) == 0);
  CHECK(c.usecs() == Coalescer::kProfile[0][0]);
  CHECK(c.frames() == Coalescer::kProfile[0][1]);
  CHECK(down.changes.size() == static_cast<std::size_t>(top));
  down.check_steps(top);
}

TEST_CASE("nic model: adaptive Coalescer settles on the level the rate calls for") {
  Coalescer c({.adaptive = true});
  AdaptiveDriver drv{c, 5'000'000'000};
  drv.run(10'000'000, 1000, 1);
  const int top = static_cast<int>(Coalescer::kProfile.size()) - 1;
  REQUIRE(level_of(c) == top);

  // 150k frames/s: at least kRateSteps[1], under kRateSteps[2] -> level 2.
  REQUIRE(150e3 >= Coalescer::kRateSteps[1]);
  REQUIRE(150e3 < Coalescer::kRateSteps[2]);
  AdaptiveDriver mid{c, drv.t};
  mid.run(10'000'000, 20'000, 3);
  CHECK(level_of(c) == 2);
  mid.check_steps(top);
  CHECK(mid.changes.size() == static_cast<std::size_t>(top - 2));
  mid.run(10'000'000, 20'000, 3);
  CHECK(level_of(c) == 2);
  CHECK(mid.changes.size() == static_cast<std::size_t>(top - 2));  // and stays there

  // A long idle gap is one window: one step down, not a jump to the bottom.
  Nanos later = mid.t + 50'000'000;
  c.arrived(later);
  c.fired(later);
  CHECK(level_of(c) == 1);
}

// -------------------------------------------------------------------------------------- Link

TEST_CASE("nic model: Link without a rate departs at now + delay") {
  Link none;
  CHECK(none.depart(123, 1500) == 123);
  Link l({.rate_bps = 0, .delay_us = 250});
  for (Nanos now : {Nanos{0}, Nanos{1'000'000}, Nanos{5}, Nanos{1'000'000}}) {
    for (std::size_t bytes : {std::size_t{60}, std::size_t{65'000}}) {
      CHECK(l.depart(now, bytes) == now + 250'000);
    }
  }
  CHECK(l.settings().delay_us == 250);
}

TEST_CASE("nic model: Link serializes back-to-back frames at rate_bps with kBurst of credit") {
  // 1250 bytes at 1 Gbit/s: 10 us on the wire.
  const Nanos ser = 10'000;
  Link l({.rate_bps = 1'000'000'000});
  const Nanos t = 1'000'000'000;
  std::vector<Nanos> d;
  for (int i = 0; i < 60; ++i) d.push_back(l.depart(t, 1250));
  for (int i = 0; i < 60; ++i) {
    CAPTURE(i);
    CHECK(d[i] == std::max(t, t - Link::kBurst + (i + 1) * ser));
    if (i > 0) CHECK(d[i] >= d[i - 1]);
  }
  CHECK(std::count(d.begin(), d.end(), t) == static_cast<long>(Link::kBurst / ser));
  for (int i = 21; i < 60; ++i) CHECK(d[i] - d[i - 1] == ser);
  Nanos busy = d.back();  // the wire is busy until the last frame left
  CHECK(busy == t + 40 * ser);

  SUBCASE("an idle gap longer than kBurst banks no more than kBurst") {
    Nanos t2 = busy + 1'000'000;  // idle 1 ms: 100 frames' worth
    std::vector<Nanos> e;
    for (int i = 0; i < 40; ++i) e.push_back(l.depart(t2, 1250));
    CHECK(std::count(e.begin(), e.end(), t2) == static_cast<long>(Link::kBurst / ser));
    for (int i = 0; i < 40; ++i) CHECK(e[i] == std::max(t2, t2 - Link::kBurst + (i + 1) * ser));
  }
  SUBCASE("a caller late by less than kBurst catches up") {
    Nanos t3 = busy + 50'000;  // 5 frames' worth late
    std::vector<Nanos> e;
    for (int i = 0; i < 10; ++i) e.push_back(l.depart(t3, 1250));
    for (int i = 0; i < 10; ++i) CHECK(e[i] == std::max(t3, busy + (i + 1) * ser));
    CHECK(std::count(e.begin(), e.end(), t3) == 5);
    CHECK(e[5] == t3 + ser);
  }
  SUBCASE("a caller that is early waits for the wire") { CHECK(l.depart(t, 1250) == busy + ser); }
}

TEST_CASE("nic model: Link spacing follows bytes * 8 / rate and delay adds on top") {
  Link l({.rate_bps = 10'000'000'000, .delay_us = 100});
  Nanos t = 0;  // at time 0 there is no credit to take
  CHECK(l.depart(t, 9000) == 7200 + 100'000);
  CHECK(l.depart(t, 1500) == 7200 + 1200 + 100'000);
  CHECK(l.depart(t, 64) == 7200 + 1200 + 51 + 100'000);  // 51.2 ns, truncated

  l.configure({.rate_bps = 1'000'000'000});
  CHECK(l.settings().rate_bps == 1'000'000'000);
  CHECK(l.settings().delay_us == 0);
  Nanos busy = 7200 + 1200 + 51;
  CHECK(l.depart(t, 125) == busy + 1000);
}

TEST_CASE("nic model: Link loss draws") {
  Link zero({.loss = 0});
  for (int i = 0; i < 10'000; ++i) REQUIRE_FALSE(zero.lost());
  Link all({.loss = 1});
  for (int i = 0; i < 10'000; ++i) REQUIRE(all.lost());

  Link tenth({.loss = 0.1});
  int lost = 0;
  for (int i = 0; i < 100'000; ++i) lost += tenth.lost();
  CHECK(lost > 9'400);  // 10000 expected, sigma ~95
  CHECK(lost < 10'600);

  Link a({.loss = 0.5}, 42), b({.loss = 0.5}, 42), c({.loss = 0.5}, 4242);
  std::vector<bool> sa, sb, sc;
  for (int i = 0; i < 1000; ++i) {
    sa.push_back(a.lost());
    sb.push_back(b.lost());
    sc.push_back(c.lost());
  }
  CHECK(sa == sb);
  CHECK(sa != sc);
  Link d1({.loss = 0.5}), d2({.loss = 0.5});  // the default seed is fixed too
  for (int i = 0; i < 1000; ++i) REQUIRE(d1.lost() == d2.lost());
}

// ------------------------------------------------------------------ Histogram, QueueCounters

TEST_CASE("nic model: Histogram bucket boundaries") {
  CHECK(Histogram::bucket(0) == 0);
  CHECK(Histogram::bucket(1) == 0);
  CHECK(Histogram::bucket(2) == 1);
  CHECK(Histogram::bucket(3) == 1);
  CHECK(Histogram::bucket(4) == 2);
  CHECK(Histogram::bucket(7) == 2);
  CHECK(Histogram::bucket(8) == 3);
  CHECK(Histogram::bucket(1023) == 9);
  CHECK(Histogram::bucket(1024) == 10);
  CHECK(Histogram::bucket(std::uint64_t{1} << (Histogram::kBuckets - 1)) ==
        Histogram::kBuckets - 1);
  CHECK(Histogram::bucket(std::uint64_t{1} << 50) == Histogram::kBuckets - 1);
  CHECK(Histogram::bucket(std::numeric_limits<std::uint64_t>::max()) == Histogram::kBuckets - 1);
}

TEST_CASE("nic model: Histogram to_json count, percentiles, max and buckets; reset") {
  Histogram h;
  json empty = h.to_json();
  CHECK(empty["count"] == 0);
  CHECK(empty["p50"] == 0);
  CHECK(empty["p99"] == 0);
  CHECK(empty["max"] == 0);
  CHECK(empty["buckets"] == json::array());

  for (int i = 0; i < 60; ++i) h.add(1);  // bucket 0
  for (int i = 0; i < 39; ++i) h.add(5);  // bucket 2: 4..7
  h.add(100);                             // bucket 6: 64..127
  json j = h.to_json();
  CHECK(j["count"] == 100);
  CHECK(j["p50"] == 1);
  CHECK(j["p99"] == 7);
  CHECK(j["max"] == 127);
  CHECK(j["buckets"] == json::parse("[[0,60],[4,39],[64,1]]"));

  h.add(3);
  h.add(100);  // 102 values: p99's rank is 101, past bucket 2's cumulative 100
  j = h.to_json();
  CHECK(j["count"] == 102);
  CHECK(j["p50"] == 1);
  CHECK(j["p99"] == 127);
  CHECK(j["buckets"] == json::parse("[[0,60],[2,1],[4,39],[64,2]]"));

  h.reset();
  CHECK(h.to_json() == empty);
  h.add(std::numeric_limits<std::uint64_t>::max());
  j = h.to_json();
  CHECK(j["buckets"][0][0] == std::uint64_t{1} << (Histogram::kBuckets - 1));
  CHECK(j["max"] == (std::uint64_t{1} << Histogram::kBuckets) - 1);
}

TEST_CASE("nic model: QueueCounters to_json keys, ring mean and reset; Counter max") {
  Counter m;
  m.max(5);
  m.max(3);
  CHECK(m.get() == 5);
  m.max(9);
  CHECK(m.get() == 9);
  m.add(1);
  CHECK(m.get() == 10);
  m.reset();
  CHECK(m.get() == 0);

  QueueCounters q;
  json zero = q.to_json();
  for (const char* key : {"frames", "bytes", "wire_segments", "wire_bytes", "drops", "lost",
                          "interrupts", "backpressure", "segmented", "ring_used_max",
                          "ring_used_mean", "frames_per_interrupt", "residence_ns"}) {
    CAPTURE(key);
    CHECK(zero.contains(key));
  }
  CHECK(zero["ring_used_mean"] == 0.0);  // no samples: no division by zero

  Counter* all[] = {&q.frames,        &q.bytes,         &q.segments,     &q.wire_bytes,
                    &q.drops,         &q.lost,          &q.interrupts,   &q.ring_samples,
                    &q.ring_used_sum, &q.ring_used_max, &q.backpressure, &q.segmented};
  std::uint64_t v = 1;
  for (Counter* c : all) c->add(v++);
  q.frames_per_irq.add(4);
  q.residence_ns.add(1000);
  json j = q.to_json();
  CHECK(j["frames"] == 1);
  CHECK(j["bytes"] == 2);
  CHECK(j["wire_segments"] == 3);
  CHECK(j["wire_bytes"] == 4);
  CHECK(j["drops"] == 5);
  CHECK(j["lost"] == 6);
  CHECK(j["interrupts"] == 7);
  CHECK(j["ring_used_max"] == 10);
  CHECK(j["backpressure"] == 11);
  CHECK(j["segmented"] == 12);
  CHECK(j["ring_used_mean"].get<double>() == doctest::Approx(9.0 / 8.0));
  CHECK(j["frames_per_interrupt"]["count"] == 1);
  CHECK(j["residence_ns"]["max"] == 1023);

  q.reset();
  for (Counter* c : all) CHECK(c->get() == 0);
  CHECK(q.to_json() == zero);
}

// -------------------------------------------------------------------------------------- nicd

TEST_CASE("nic model: apply_setting takes every key and to_json shows it") {
  NicSettings s;
  json d = to_json(s);
  CHECK(d == json::parse(R"({"rx-usecs":50,"rx-frames":32,"adaptive":false,"tso":true,
      "gro":true,"rate":0,"delay":0,"loss":0.0,"ring":256})"));

  auto set = [&](const char* k, const char* v) {
    CAPTURE(k);
    CAPTURE(v);
    auto st = apply_setting(s, k, v);
    CHECK(st);
  };
  set("rx-usecs", "0");
  CHECK(s.coalesce.rx_usecs == 0);
  set("rx-usecs", "100000");
  CHECK(s.coalesce.rx_usecs == 100000);
  set("rx-frames", "0");
  CHECK(s.coalesce.rx_frames == 0);
  set("rx-frames", "4096");
  CHECK(s.coalesce.rx_frames == 4096);
  for (const char* on : {"on", "1", "true"}) {
    s.coalesce.adaptive = s.tso = s.gro = false;
    set("adaptive", on);
    set("tso", on);
    set("gro", on);
    CHECK(s.coalesce.adaptive);
    CHECK(s.tso);
    CHECK(s.gro);
  }
  for (const char* off : {"off", "0", "false"}) {
    s.coalesce.adaptive = true;
    set("adaptive", off);
    set("tso", off);
    set("gro", off);
    CHECK_FALSE(s.coalesce.adaptive);
    CHECK_FALSE(s.tso);
    CHECK_FALSE(s.gro);
  }
  set("rate", "10G");
  CHECK(s.link.rate_bps == 10'000'000'000ull);
  set("rate", "2.5M");
  CHECK(s.link.rate_bps == 2'500'000);
  set("rate", "100k");
  CHECK(s.link.rate_bps == 100'000);
  set("rate", "0");
  CHECK(s.link.rate_bps == 0);
  set("delay", "250");
  CHECK(s.link.delay_us == 250);
  set("delay", "10000000");
  CHECK(s.link.delay_us == 10'000'000);
  set("loss", "10");
  CHECK(s.link.loss == doctest::Approx(0.1));
  set("loss", "0.5");
  CHECK(s.link.loss == doctest::Approx(0.005));
  set("loss", "100");
  CHECK(s.link.loss == doctest::Approx(1.0));
  set("ring", "64");
  CHECK(s.ring == 64);
  set("ring", "4096");
  CHECK(s.ring == 4096);

  json j = to_json(s);
  CHECK(j["rx-usecs"] == 100000);
  CHECK(j["rx-frames"] == 4096);
  CHECK(j["adaptive"] == false);
  CHECK(j["tso"] == false);
  CHECK(j["rate"] == 0);
  CHECK(j["delay"] == 10'000'000);
  CHECK(j["loss"].get<double>() == doctest::Approx(100.0));  // percent, as it was given
  CHECK(j["ring"] == 4096);

  set("rate", "10G");
  set("loss", "12.5");
  NicSettings back;
  REQUIRE(apply_settings(back, to_json(s)));  // to_json's output is valid input
  CHECK(to_json(back) == to_json(s));
}

TEST_CASE("nic model: apply_setting refuses bad values and unknown keys, naming the key") {
  struct Bad {
    const char* key;
    const char* value;
  };
  for (Bad b : {Bad{"rx-usecs", ""},
                Bad{"rx-usecs", "-1"},
                Bad{"rx-usecs", "100001"},
                Bad{"rx-usecs", "1.5"},
                Bad{"rx-usecs", "abc"},
                Bad{"rx-usecs", "5 "},
                Bad{"rx-usecs", "99999999999999999999999"},
                Bad{"rx-frames", "4097"},
                Bad{"rx-frames", "x"},
                Bad{"adaptive", "yes"},
                Bad{"adaptive", ""},
                Bad{"tso", "2"},
                Bad{"gro", "On"},
                Bad{"rate", "fast"},
                Bad{"rate", "-1G"},
                Bad{"rate", ""},
                Bad{"rate", "10X"},
                Bad{"delay", "10000001"},
                Bad{"delay", "-5"},
                Bad{"loss", "101"},
                Bad{"loss", "-1"},
                Bad{"loss", ""},
                Bad{"loss", "nan"},
                Bad{"loss", "inf"},
                Bad{"loss", "5%"},
                Bad{"ring", "63"},
                Bad{"ring", "0"},
                Bad{"ring", "4097"},
                Bad{"ring", "big"},
                Bad{"rx_usecs", "1"},
                Bad{"speed", "10G"},
                Bad{"", "1"}}) {
    CAPTURE(b.key);
    CAPTURE(b.value);
    NicSettings s;
    json before = to_json(s);
    auto st = apply_setting(s, b.key, b.value);
    REQUIRE_FALSE(st);
    CHECK(st.error().code == Errc::kUsage);
    if (*b.key != '\0') CHECK(st.error().message.find(b.key) != std::string::npos);
    CHECK(to_json(s) == before);
  }
  NicSettings s;
  auto unknown = apply_setting(s, "mtu", "1500");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message.find("unknown") != std::string::npos);
}

TEST_CASE("nic model: apply_settings takes JSON values and is all-or-nothing") {
  NicSettings s;
  REQUIRE(apply_settings(s, json::parse(R"({"adaptive":true,"tso":false,"gro":0,
      "rx-usecs":0,"rx-frames":1,"rate":"10G","delay":100,"loss":2.5,"ring":1024})")));
  CHECK(s.coalesce.adaptive);
  CHECK_FALSE(s.tso);
  CHECK_FALSE(s.gro);
  CHECK(s.coalesce.rx_usecs == 0);
  CHECK(s.coalesce.rx_frames == 1);
  CHECK(s.link.rate_bps == 10'000'000'000ull);
  CHECK(s.link.delay_us == 100);
  CHECK(s.link.loss == doctest::Approx(0.025));
  CHECK(s.ring == 1024);

  REQUIRE(apply_settings(s, json{{"rate", 1'000'000'000}, {"adaptive", "off"}}));
  CHECK(s.link.rate_bps == 1'000'000'000);
  CHECK_FALSE(s.coalesce.adaptive);
  REQUIRE(apply_settings(s, json::object()));

  json before = to_json(s);
  // Keys apply in order ("adaptive" < "ring" < "tso"): good ones before the bad one are undone.
  for (const char* bad :
       {R"({"adaptive":true,"ring":1,"tso":true})", R"({"adaptive":true,"tso":"maybe"})",
        R"({"delay":5,"rx-usecs":-5})", R"({"delay":5,"rx-usecs":null})",
        R"({"delay":5,"rx-usecs":1.5})", R"({"delay":5,"rx-frames":true})",
        R"({"delay":5,"zzz":1})", R"({"delay":5,"loss":[1]})"}) {
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
  NicdConfig good;
  CHECK(validate(good));
  auto refused = [](const NicdConfig& c, const std::string& mentions) {
    auto st = validate(c);
    REQUIRE_FALSE(st);
    CHECK(st.error().code == Errc::kUsage);
    CHECK(st.error().message.find(mentions) != std::string::npos);
  };
  for (unsigned q : {1u, 16u}) {
    NicdConfig c;
    c.queues = q;
    CHECK(validate(c));
  }
  for (unsigned q : {0u, 17u}) {
    NicdConfig c;
    c.queues = q;
    refused(c, "queues");
  }
  for (unsigned mtu : {576u, 9000u}) {
    NicdConfig c;
    c.mtu = mtu;
    CHECK(validate(c));
  }
  for (unsigned mtu : {0u, 575u, 9001u}) {
    NicdConfig c;
    c.mtu = mtu;
    refused(c, "mtu");
  }
  for (const char* ns : {"cli", "nicperf", "xnicperf-cli", "nicperf-CLI", "nicperf-a_b",
                         "nicperf-a/b", "nicperf-a b", "nicperf-a.b", ""}) {
    CAPTURE(ns);
    NicdConfig c;
    c.cli_ns = ns;
    refused(c, std::string("'") + ns + "'");
    NicdConfig d;
    d.srv_ns = ns;
    refused(d, std::string("'") + ns + "'");
  }
  NicdConfig long_name;
  long_name.srv_ns = "nicperf-" + std::string(40, 'a');
  refused(long_name, "namespace");
  NicdConfig ok_name;
  ok_name.cli_ns = "nicperf-test-1";
  ok_name.srv_ns = "nicperf-test-2";
  CHECK(validate(ok_name));
  NicdConfig same;
  same.cli_ns = same.srv_ns = "nicperf-x";
  refused(same, "differ");
  NicdConfig no_socket;
  no_socket.socket = "";
  refused(no_socket, "socket");
  NicdConfig long_socket;
  long_socket.socket = "/tmp/" + std::string(200, 's');
  refused(long_socket, "socket");
}

// -------------------------------------------------------------------------------- nic_report

namespace {

struct QueueSpec {
  unsigned queue;
  int tid;
  std::uint64_t frames, bytes, interrupts, ring_max, ring_samples, ring_sum, residence;
  std::uint64_t steered;
  double busy_ns;
};

json queue_reply(const QueueSpec& q) {
  QueueCounters c;
  c.frames.add(q.frames);
  c.bytes.add(q.bytes);
  c.segments.add(q.frames / 2);
  c.wire_bytes.add(q.bytes + 100);
  c.drops.add(1);
  c.lost.add(2);
  c.interrupts.add(q.interrupts);
  c.backpressure.add(3);
  c.segmented.add(4);
  c.ring_samples.add(q.ring_samples);
  c.ring_used_sum.add(q.ring_sum);
  c.ring_used_max.max(q.ring_max);
  c.frames_per_irq.add(q.frames / std::max<std::uint64_t>(q.interrupts, 1));
  for (int i = 0; i < 10; ++i) c.residence_ns.add(q.residence);
  json j = c.to_json();
  j["queue"] = q.queue;
  j["tid"] = q.tid;
  j["steered"] = q.steered;
  j["rx_usecs_now"] = 50;
  j["busy_ns"] = q.busy_ns;
  return j;
}

// Two queues cli->srv, one srv->cli, over 2 s, as Nicd::stats() shapes it.
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
  CHECK(c2s.name == "cli_to_srv");
  CHECK(s->directions[1].name == "srv_to_cli");
  REQUIRE(c2s.queues.size() == 2);
  REQUIRE(s->directions[1].queues.size() == 1);

  const NicQueueStats& q0 = c2s.queues[0];
  CHECK(q0.queue == 0);
  CHECK(q0.tid == 101);
  CHECK(q0.frames == 100);
  CHECK(q0.bytes == 150'000);
  CHECK(q0.wire_segments == 50);
  CHECK(q0.wire_bytes == 150'100);
  CHECK(q0.drops == 1);
  CHECK(q0.lost == 2);
  CHECK(q0.interrupts == 10);
  CHECK(q0.backpressure == 3);
  CHECK(q0.segmented == 4);
  CHECK(q0.steered == 5);
  CHECK(q0.ring_used_max == 7);
  CHECK(q0.ring_used_mean == doctest::Approx(2.5));
  CHECK(q0.busy_ns == doctest::Approx(5e8));
  CHECK(q0.residence_p50_ns == 1023);
  CHECK(q0.residence_p99_ns == 1023);
  CHECK(q0.frames_per_irq() == doctest::Approx(10.0));
  CHECK(q0.frames_per_interrupt["count"] == 1);
  CHECK(c2s.queues[1].queue == 1);
  CHECK(c2s.queues[1].residence_p99_ns == 8191);

  NicQueueStats t = c2s.total();
  CHECK(t.frames == 400);
  CHECK(t.bytes == 600'000);
  CHECK(t.wire_segments == 200);
  CHECK(t.wire_bytes == 600'200);
  CHECK(t.drops == 2);
  CHECK(t.lost == 4);
  CHECK(t.interrupts == 30);
  CHECK(t.backpressure == 6);
  CHECK(t.segmented == 8);
  CHECK(t.steered == 11);
  CHECK(t.ring_used_max == 7);                      // max
  CHECK(t.ring_used_mean == doctest::Approx(6.0));  // max of the queues' means
  CHECK(t.residence_p50_ns == 8191);                // max
  CHECK(t.busy_ns == doctest::Approx(7.5e8));       // sum
  CHECK(t.frames_per_irq() == doctest::Approx(400.0 / 30));
  CHECK(NicQueueStats{}.frames_per_irq() == 0.0);

  json reply = stats_reply();
  reply["settings"] = to_json(NicSettings{});
  auto with = nic_stats_from_json(reply);
  REQUIRE(with);
  CHECK(with->settings == to_json(NicSettings{}));

  json none = {{"interval_ns", 0},
               {"directions", {{"cli_to_srv", json::array()}, {"srv_to_cli", json::array()}}}};
  auto empty = nic_stats_from_json(none);
  REQUIRE(empty);
  CHECK(empty->directions[0].queues.empty());
  CHECK(empty->directions[0].total().frames == 0);
}

TEST_CASE("nic model: to_json(NicStats) has per-direction queues and a total") {
  json reply = stats_reply();
  auto s = nic_stats_from_json(reply);
  REQUIRE(s);
  json j = to_json(*s);
  CHECK(j["interval_seconds"] == doctest::Approx(2.0));
  CHECK_FALSE(j.contains("settings"));
  for (const char* dir : {"cli_to_srv", "srv_to_cli"}) {
    CAPTURE(dir);
    REQUIRE(j["directions"].contains(dir));
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
    const json& total = d["total"];
    for (const char* gone : {"queue", "tid", "frames_per_interrupt", "residence_ns"}) {
      CHECK_FALSE(total.contains(gone));
    }
  }
  const json& total = j["directions"]["cli_to_srv"]["total"];
  CHECK(total["frames"] == 400);
  CHECK(total["interrupts"] == 30);
  CHECK(total["ring_used_max"] == 7);
  CHECK(total["busy_seconds"].get<double>() == doctest::Approx(0.75));
  CHECK(total["frames_per_interrupt_mean"].get<double>() == doctest::Approx(400.0 / 30));

  s->settings = to_json(NicSettings{});
  CHECK(to_json(*s)["settings"] == s->settings);
}

TEST_CASE("nic model: nic_table has a row per queue and an all row for several queues") {
  auto s = nic_stats_from_json(stats_reply());
  REQUIRE(s);
  std::string table = nic_table(*s);
  CHECK(table.rfind("NIC (nicperf-nicd) over 2.00 s\n", 0) == 0);
  std::istringstream in(table);
  std::string line;
  std::vector<std::pair<std::string, std::string>> rows;  // (direction, queue)
  std::vector<std::string> lines;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string dir, queue;
    words >> dir >> queue;
    if (dir == "cli->srv" || dir == "srv->cli") {
      rows.emplace_back(dir, queue);
      lines.push_back(line);
    }
  }
  using Row = std::pair<std::string, std::string>;
  CHECK(rows == std::vector<Row>{
                    {"cli->srv", "0"}, {"cli->srv", "1"}, {"cli->srv", "all"}, {"srv->cli", "0"}});
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].find(" 100 ") != std::string::npos);  // frames
  CHECK(lines[2].find(" 400 ") != std::string::npos);
  CHECK(lines[0].size() >= 6);
  CHECK(lines[0].substr(lines[0].size() - 6) == " 25.0%");  // 0.5 s busy over 2 s
  CHECK(lines[2].substr(lines[2].size() - 6) == " 37.5%");
  CHECK(table.find("direction  queue") != std::string::npos);

  s->settings = to_json(NicSettings{});
  std::string with = nic_table(*s);
  CHECK(with.find("rx-usecs 50, rx-frames 32, tso on, gro on") != std::string::npos);
  s->settings["adaptive"] = true;
  CHECK(nic_table(*s).find("(adaptive)") != std::string::npos);
}

TEST_CASE("nic model: malformed stats replies are protocol errors") {
  std::vector<json> bad;
  bad.push_back(json());
  bad.push_back(json::array());
  bad.push_back(json("stats"));
  json r = stats_reply();
  r.erase("interval_ns");
  bad.push_back(r);
  r = stats_reply();
  r["interval_ns"] = "soon";
  bad.push_back(r);
  r = stats_reply();
  r.erase("directions");
  bad.push_back(r);
  r = stats_reply();
  r["directions"].erase("srv_to_cli");
  bad.push_back(r);
  r = stats_reply();
  r["directions"]["cli_to_srv"] = 5;
  bad.push_back(r);
  for (const char* key : {"queue", "tid", "frames", "bytes", "steered", "ring_used_mean", "busy_ns",
                          "frames_per_interrupt", "residence_ns"}) {
    r = stats_reply();
    r["directions"]["cli_to_srv"][1].erase(key);
    bad.push_back(r);
  }
  r = stats_reply();
  r["directions"]["srv_to_cli"][0]["frames"] = "many";
  bad.push_back(r);
  r = stats_reply();
  r["directions"]["srv_to_cli"][0]["residence_ns"].erase("p99");
  bad.push_back(r);
  r = stats_reply();
  r["directions"]["srv_to_cli"][0]["residence_ns"] = 7;
  bad.push_back(r);
  for (std::size_t i = 0; i < bad.size(); ++i) {
    CAPTURE(i);
    auto s = nic_stats_from_json(bad[i]);
    REQUIRE_FALSE(s);
    CHECK(s.error().code == Errc::kProtocol);
    CHECK(s.error().message.find("malformed") != std::string::npos);
  }
}
