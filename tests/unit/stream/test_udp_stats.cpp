#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "nicperf/stream/udp_stats.hpp"

using namespace nicperf;

namespace {

constexpr std::uint64_t kWindow = 1u << 16;  // UdpReceiveStats' memory of seen sequence numbers

// Constant transit time: sent every microsecond, arriving 50 us later.
void feed(UdpReceiveStats& s, std::uint64_t seq) {
  auto send = static_cast<std::int64_t>(seq) * 1000;
  s.on_datagram(seq, send, send + 50000);
}

void feed(UdpReceiveStats& s, std::initializer_list<std::uint64_t> seqs) {
  for (auto seq : seqs) feed(s, seq);
}

void feed_range(UdpReceiveStats& s, std::uint64_t from, std::uint64_t to) {
  for (auto seq = from; seq < to; ++seq) feed(s, seq);
}

struct Counts {
  std::uint64_t packets, lost, out_of_order, duplicates, next;
};

void check_counts(const UdpReceiveStats& s, Counts want) {
  CHECK(s.packets() == want.packets);
  CHECK(s.lost() == want.lost);
  CHECK(s.out_of_order() == want.out_of_order);
  CHECK(s.duplicates() == want.duplicates);
  CHECK(s.next_expected() == want.next);
}

// 0..n-1 shuffled within blocks of `block`, about 10 % dropped and 5 % sent twice (the copy at a
// random place in the same block). mt19937_64 is fully specified, so the fixed seed is portable.
std::vector<std::uint64_t> arrivals(std::uint64_t n, std::uint64_t block, std::mt19937_64& rng) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t base = 0; base < n; base += block) {
    std::vector<std::uint64_t> b;
    for (auto seq = base; seq < std::min(n, base + block); ++seq) b.push_back(seq);
    for (std::size_t i = b.size(); i > 1; --i) std::swap(b[i - 1], b[rng() % i]);
    std::vector<std::uint64_t> kept;
    for (auto seq : b) {
      if (rng() % 10 == 0) continue;
      kept.push_back(seq);
      if (rng() % 20 == 0)
        kept.insert(kept.begin() + static_cast<std::ptrdiff_t>(rng() % kept.size()), seq);
    }
    out.insert(out.end(), kept.begin(), kept.end());
  }
  return out;
}

}  // namespace

TEST_CASE("UDP datagrams in order") {
  UdpReceiveStats s;
  feed_range(s, 0, 100);
  check_counts(s, {.packets = 100, .lost = 0, .out_of_order = 0, .duplicates = 0, .next = 100});
  CHECK(s.jitter_ns() == 0);
}

TEST_CASE("UDP gap counts the skipped datagrams lost") {
  UdpReceiveStats s;
  feed(s, {0, 1, 2, 3, 4, 8, 9});
  check_counts(s, {.packets = 7, .lost = 3, .out_of_order = 0, .duplicates = 0, .next = 10});
}

TEST_CASE("UDP late datagram takes back its loss") {
  UdpReceiveStats s;
  feed(s, {0, 1, 3});
  check_counts(s, {.packets = 3, .lost = 1, .out_of_order = 0, .duplicates = 0, .next = 4});
  feed(s, {2, 4});
  check_counts(s, {.packets = 5, .lost = 0, .out_of_order = 1, .duplicates = 0, .next = 5});
}

TEST_CASE("UDP duplicates are counted apart and leave jitter alone") {
  UdpReceiveStats s;
  feed(s, {0, 1, 1, 2, 0});
  check_counts(s, {.packets = 3, .lost = 0, .out_of_order = 0, .duplicates = 2, .next = 3});
  s.on_datagram(2, 0, 999999);  // a very different transit, but a duplicate
  CHECK(s.duplicates() == 3);
  CHECK(s.jitter_ns() == 0);
  feed(s, {5, 3});
  feed(s, 3);  // a late one seen twice is a duplicate the second time
  check_counts(s, {.packets = 5, .lost = 1, .out_of_order = 1, .duplicates = 4, .next = 6});
}

TEST_CASE("UDP window edges: reused slots are cleared, older ones are late") {
  UdpReceiveStats s;
  feed_range(s, 0, 10);
  feed(s, kWindow + 5);  // next is kWindow + 6: the window holds 6 .. kWindow + 5
  std::uint64_t lost = kWindow - 5;
  check_counts(
      s, {.packets = 11, .lost = lost, .out_of_order = 0, .duplicates = 0, .next = kWindow + 6});
  feed(s, kWindow + 2);  // shares seq 2's slot, which must have been cleared
  CHECK(s.out_of_order() == 1);
  CHECK(s.duplicates() == 0);
  feed(s, 6);  // the oldest one still remembered
  CHECK(s.duplicates() == 1);
  feed(s, 5);  // just beyond memory: late, not a duplicate
  check_counts(
      s,
      {.packets = 13, .lost = lost - 2, .out_of_order = 2, .duplicates = 1, .next = kWindow + 6});
}

TEST_CASE("UDP jump beyond the window, then old datagrams") {
  UdpReceiveStats s;
  feed_range(s, 0, 10);
  const std::uint64_t jump = 3 * kWindow + 5;
  feed(s, jump);
  std::uint64_t lost = jump - 10;
  check_counts(s,
               {.packets = 11, .lost = lost, .out_of_order = 0, .duplicates = 0, .next = jump + 1});
  feed(s, 5);    // seen before, but too old to tell: late
  feed(s, 100);  // from the gap, too old to remember
  check_counts(
      s, {.packets = 13, .lost = lost - 2, .out_of_order = 2, .duplicates = 0, .next = jump + 1});
  feed(s, jump - 2);  // in the window, on seq 3's old slot: late, not a duplicate
  feed(s, jump - 2);
  check_counts(
      s, {.packets = 14, .lost = lost - 3, .out_of_order = 3, .duplicates = 1, .next = jump + 1});
}

TEST_CASE("UDP jitter of a constant transit time is zero") {
  UdpReceiveStats s;
  const std::int64_t offset = 1'000'000'000'000'000;  // the receiver's clock is far ahead
  for (std::int64_t i = 0; i < 1000; ++i) {
    std::int64_t send = i * i * 37;  // irregular sending
    s.on_datagram(static_cast<std::uint64_t>(i), send, send + offset + 20000);
  }
  CHECK(s.jitter_ns() == 0);
}

TEST_CASE("UDP jitter converges to a constant transit change") {
  // Transit alternates 0 and D, so every datagram after the first has |D| = 1000 ns and
  // J_n = J_{n-1} + (D - J_{n-1}) / 16, i.e. J_n = D (1 - (15/16)^n) from J_0 = 0.
  const double d = 1000;
  UdpReceiveStats s;
  for (int i = 0; i <= 300; ++i) {
    std::int64_t send = i * 10000;
    s.on_datagram(static_cast<std::uint64_t>(i), send, send + (i % 2 ? 1000 : 0));
    double want = d * (1 - std::pow(15.0 / 16.0, i));
    CAPTURE(i);
    CHECK(s.jitter_ns() == doctest::Approx(want).epsilon(1e-12));
  }
  CHECK(s.jitter_ns() == doctest::Approx(d).epsilon(1e-7));
}

TEST_CASE("UDP counts conserve the datagrams sent") {
  struct Shape {
    std::uint64_t n, block;
  };
  // One permutation smaller than the window; then a long run reordered within blocks.
  for (Shape shape : {Shape{20000, 20000}, Shape{300000, 500}}) {
    CAPTURE(shape.n);
    std::mt19937_64 rng(12345);
    auto seqs = arrivals(shape.n, shape.block, rng);
    UdpReceiveStats s;
    for (auto seq : seqs) feed(s, seq);
    std::set<std::uint64_t> distinct(seqs.begin(), seqs.end());
    CHECK(s.packets() + s.lost() == s.next_expected());
    CHECK(s.packets() == distinct.size());
    CHECK(s.duplicates() == seqs.size() - distinct.size());
    CHECK(s.next_expected() == *distinct.rbegin() + 1);
    CHECK(s.out_of_order() > 0);
    CHECK(s.duplicates() > 0);
  }
}
