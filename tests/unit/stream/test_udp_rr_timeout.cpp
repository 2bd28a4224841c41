#include <doctest/doctest.h>

#include "nicperf/stream/latency.hpp"
#include "stream/udp_rr_timeout.hpp"

using namespace nicperf;

TEST_CASE("udp rr timeout: 1 s before any answer, then 10x the p99 within 1 ms..1 s") {
  RrTimeout t;
  CHECK(t.ns() == RrTimeout::kMaxNs);
  LatencyHistogram h;
  h.record(20'000);  // 20 us: 10x is 200 us, below the floor
  t.on_answer(h);
  CHECK(t.ns() == RrTimeout::kMinNs);
  for (int i = 0; i < 50; ++i) h.record(5'000'000);  // 5 ms
  t.on_answer(h);
  CHECK(t.ns() == doctest::Approx(50'000'000).epsilon(0.02));
  h.record(900'000'000);  // a p99 of 900 ms: capped at 1 s
  for (int i = 0; i < 10; ++i) h.record(900'000'000);
  t.on_answer(h);
  CHECK(t.ns() == RrTimeout::kMaxNs);
}

TEST_CASE("udp rr timeout: refreshed every answer at first, then every 256th") {
  RrTimeout t;
  LatencyHistogram h;
  for (int i = 0; i < 100; ++i) {
    h.record(200'000);
    t.on_answer(h);
  }
  CHECK(t.ns() == doctest::Approx(2'000'000).epsilon(0.02));
  for (int i = 0; i < 5000; ++i) h.record(10'000'000);
  t.on_answer(h);  // the 101st answer: not yet
  CHECK(t.ns() == doctest::Approx(2'000'000).epsilon(0.02));
  for (int i = 0; i < 160; ++i) t.on_answer(h);  // reaches the 256th
  CHECK(t.ns() == doctest::Approx(100'000'000).epsilon(0.02));
}
