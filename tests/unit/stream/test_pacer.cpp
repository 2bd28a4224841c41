// The UDP pacer: the rate, bursts released whole, and a catch-up bounded by max_debt.
#include <doctest/doctest.h>

#include <chrono>

#include "stream/pacer.hpp"

using nicperf::Pacer;
using namespace std::chrono;

namespace {

Pacer::Clock::time_point at_ms(Pacer::Clock::time_point t0, double ms) {
  return t0 + duration_cast<Pacer::Clock::duration>(duration<double, std::milli>(ms));
}

}  // namespace

TEST_CASE("pacer: datagram k is due at k / pps") {
  auto t0 = Pacer::Clock::now();
  Pacer p(1000, 0, 100, t0);  // 1 per ms
  CHECK(p.allowed(0, t0) == 1);
  CHECK(p.allowed(1, t0) == 0);
  CHECK(p.allowed(0, at_ms(t0, 5.5)) == 6);
  CHECK(p.allowed(6, at_ms(t0, 5.5)) == 0);
  CHECK(p.allowed(4, at_ms(t0, 5.5)) == 2);
  CHECK(p.allowed(0, at_ms(t0, -3)) == 0);  // before the origin nothing is due
  CHECK(p.allowed(6, at_ms(t0, 6.5)) == 1);
  auto due = p.due_at(7) - t0;
  CHECK(duration<double, std::milli>(due).count() == doctest::Approx(7).epsilon(1e-6));
}

TEST_CASE("pacer: a burst goes whole when its first datagram is due") {
  auto t0 = Pacer::Clock::now();
  Pacer p(1000, 4, 100, t0);
  CHECK(p.allowed(0, t0) == 4);
  CHECK(p.allowed(4, at_ms(t0, 2.5)) == 0);  // datagram 4 is due at 4 ms
  CHECK(p.allowed(4, at_ms(t0, 4.5)) == 4);
  CHECK(p.due_at(5) == p.due_at(4));
  CHECK(p.due_at(3) == t0);
  CHECK(duration<double, std::milli>(p.due_at(8) - t0).count() == doctest::Approx(8));
}

TEST_CASE("pacer: a sender that fell behind catches up by at most max_debt") {
  auto t0 = Pacer::Clock::now();
  Pacer p(1000, 1, 10, t0);
  auto late = at_ms(t0, 100.5);  // 101 due, none sent
  CHECK(p.allowed(0, late) == 10);
  // The schedule moved: having sent those 10, nothing more is due at the same moment...
  CHECK(p.allowed(10, late) == 0);
  // ...and from there the rate holds again.
  CHECK(p.allowed(10, at_ms(t0, 103.5)) == 3);

  // The debt is never below one burst.
  Pacer b(1000, 8, 2, t0);
  CHECK(b.allowed(0, at_ms(t0, 50.5)) == 8);
}
