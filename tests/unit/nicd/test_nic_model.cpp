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

TEST_CASE("nic model: a DescRing without a region holds frames in the device's buffers") {
  DescRing r(4, 0);  // the xdp backend's: the UMEM is the region
  std::vector<iovec> iov;
  CHECK_FALSE(r.reserve(1, iov));  // nothing to read into
  std::uint8_t bufs[5][16] = {};
  for (std::uint64_t i = 0; i < 4; ++i) {
    DescRing::Frame* f = r.hold(bufs[i], 10 + i, 100 + i, 7);
    REQUIRE(f != nullptr);
    CHECK((f->count == 1 && f->arrived == 7 && f->due == 7 && f->token == 100 + i));
  }
  CHECK((r.used() == 4 && r.free() == 0 && r.frames() == 4));
  CHECK(r.hold(bufs[4], 10, 104, 8) == nullptr);  // more buffers out than descriptors: a drop
  CHECK(r.used() == 4);
  r.buffers(r.front(), iov);  // the frame's bytes where the device put them, whole
  REQUIRE(iov.size() == 1);
  CHECK((iov[0].iov_base == bufs[0] && iov[0].iov_len == 10));
  CHECK(r.at(3).token == 103);
  r.pop();
  CHECK((r.free() == 1 && r.front().token == 101));
  DescRing::Frame* f = r.hold(bufs[4], 12, 104, 9);  // wraps onto the freed descriptor
  REQUIRE(f != nullptr);
  CHECK(r.at(3).token == 104);
  for (std::uint64_t want = 101; want <= 104; ++want) {
    CHECK(r.front().token == want);
    r.pop();
  }
  CHECK((r.used() == 0 && r.frames() == 0));
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

TEST_CASE("nic model: Coalescer configure changes take effect, fixed settings ignore the rate") {
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
