#include <doctest/doctest.h>
#include <linux/perf_event.h>

#include <cstring>

#include "nicperf/cost/irq_trace.hpp"

using namespace nicperf;

namespace {

TraceRecord rec(int cpu, pid_t tid, std::uint64_t t, TraceKind k, std::uint32_t n) {
  return {cpu, tid, t, k, n};
}

constexpr auto kSE = TraceKind::kSoftirqEntry, kSX = TraceKind::kSoftirqExit;
constexpr auto kIE = TraceKind::kIrqEntry, kIX = TraceKind::kIrqExit;

// A sample as the kernel writes it for TID | TIME | CPU | RAW.
std::vector<char> sample(std::uint16_t tp, pid_t tid, std::uint64_t time, std::uint32_t cpu,
                         std::uint32_t number) {
  std::vector<char> r(48, 0);
  perf_event_header h{PERF_RECORD_SAMPLE, 0, 48};
  std::memcpy(r.data(), &h, sizeof h);
  std::uint32_t t = std::uint32_t(tid), raw = 12;
  std::memcpy(r.data() + 8, &t, 4);  // pid
  std::memcpy(r.data() + 12, &t, 4);
  std::memcpy(r.data() + 16, &time, 8);
  std::memcpy(r.data() + 24, &cpu, 4);
  std::memcpy(r.data() + 32, &raw, 4);
  std::memcpy(r.data() + 36, &tp, 2);
  std::memcpy(r.data() + 44, &number, 4);
  return r;
}

}  // namespace

TEST_CASE("pairing and attribution across two CPUs: nesting, a lost gap, the window edges") {
  IrqAccounting a(2);
  a.set_window(100, 1000);
  // CPU 0: a softirq that began before the window counts only its time inside it.
  a.add(rec(0, 10, 50, kSE, kNetRx));
  a.add(rec(0, 10, 150, kSX, kNetRx));
  // A hardirq nested in a softirq is charged once, as hardirq time.
  a.add(rec(0, 10, 200, kSE, kNetRx));
  a.add(rec(0, 10, 250, kIE, 24));
  a.add(rec(0, 10, 270, kIX, 24));
  a.add(rec(0, 10, 300, kSX, kNetRx));
  // Records were lost between entry and exit: the pair is dropped, not guessed.
  a.add(rec(0, 11, 400, kSE, kNetTx));
  a.lost(0, 5);
  a.add(rec(0, 11, 450, kSX, kNetTx));
  // CPU 1: the idle task (tid 0), a softirq running past the window's end, an exit without an
  // entry, and one wholly after the window.
  a.add(rec(1, 0, 500, kSE, 1));
  a.add(rec(1, 0, 600, kSX, 1));
  a.add(rec(1, 20, 950, kSE, kNetRx));
  a.add(rec(1, 20, 1100, kSX, kNetRx));
  a.add(rec(1, 20, 1200, kSX, kNetRx));
  a.add(rec(1, 20, 1500, kSE, kNetRx));
  a.add(rec(1, 20, 1600, kSX, kNetRx));

  const auto& t = a.by_tid();
  REQUIRE(t.count(10));
  CHECK(t.at(10).softirq[kNetRx].ns == 50 + 80);
  CHECK(t.at(10).softirq[kNetRx].count == 1);
  CHECK(t.at(10).hardirq.ns == 20);
  CHECK(t.at(10).hardirq.count == 1);
  CHECK_FALSE(t.count(11));
  CHECK(t.at(0).softirq[1].ns == 100);
  CHECK(t.at(20).softirq[kNetRx].ns == 50);
  CHECK(t.at(20).softirq[kNetRx].count == 1);
  CHECK(a.lost_records() == 5);
  CHECK(a.by_irq().at(24).ns == 20);
  IrqBucket total = a.total();
  CHECK(total.softirq[kNetRx].ns == 180);
  CHECK(total.softirq[kNetRx].count == 2);
  CHECK(total.softirq_other().ns == 100);
  CHECK(a.entries()[kNetRx] == 2);
  CHECK(a.entries()[kNetTx] == 1);
  CHECK(a.entries()[1] == 1);
}

TEST_CASE("nothing is charged before a window is set") {
  IrqAccounting a(1);
  a.add(rec(0, 1, 10, kSE, kNetRx));
  a.add(rec(0, 1, 20, kSX, kNetRx));
  CHECK(a.total().softirq_total().ns == 0);
  CHECK(a.entries()[kNetRx] == 0);
}

TEST_CASE("the ring walk hands over records whole, also one that wraps around the end") {
  const std::uint64_t size = 256;
  std::vector<char> ring(size, 0);
  std::map<std::uint16_t, TraceKind> kinds = {{223, kSE}, {224, kSX}};
  std::uint64_t tail = 200, head = tail;  // the second record straddles offset 256
  for (int i = 0; i < 3; ++i) {
    auto r = sample(i % 2 ? 224 : 223, 42, 1000 + std::uint64_t(i), 1, kNetRx);
    for (char c : r) ring[head++ % size] = c;
  }
  std::vector<char> scratch;
  std::vector<TraceRecord> got;
  std::uint64_t new_tail = walk_ring(ring.data(), size, tail, head, scratch,
                                     [&](std::uint32_t type, const char* data, std::size_t n) {
                                       CHECK(type == PERF_RECORD_SAMPLE);
                                       if (auto t = parse_sample(data, n, kinds)) got.push_back(*t);
                                     });
  CHECK(new_tail == head);
  REQUIRE(got.size() == 3);
  CHECK(got[1].kind == kSX);
  CHECK(got[1].time_ns == 1001);
  CHECK(got[1].tid == 42);
  CHECK(got[1].cpu == 1);
  CHECK(got[2].number == kNetRx);
}

TEST_CASE("a torn or foreign record is not decoded") {
  std::map<std::uint16_t, TraceKind> kinds = {{223, kSE}};
  auto r = sample(999, 1, 1, 0, 3);
  CHECK_FALSE(parse_sample(r.data(), r.size(), kinds));
  r = sample(223, 1, 1, 0, 3);
  CHECK(parse_sample(r.data(), r.size(), kinds));
  CHECK_FALSE(parse_sample(r.data(), 20, kinds));
  std::uint32_t huge = 1000;
  std::memcpy(r.data() + 32, &huge, 4);
  CHECK_FALSE(parse_sample(r.data(), r.size(), kinds));
}
