#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>

#include "nicperf/stream/latency.hpp"
#include "nicperf/util/error.hpp"

using namespace nicperf;
using nlohmann::json;

namespace {

LatencyHistogram uniform(std::uint64_t from, std::uint64_t to) {
  LatencyHistogram h;
  for (std::uint64_t v = from; v <= to; ++v) h.record(v);
  return h;
}

void check_same(const LatencyHistogram& a, const LatencyHistogram& b) {
  CHECK(a.count() == b.count());
  CHECK(a.min() == b.min());
  CHECK(a.max() == b.max());
  CHECK(a.mean() == doctest::Approx(b.mean()));
  CHECK(a.to_json() == b.to_json());
}

// A valid histogram's JSON with one field replaced.
json with(const std::string& key, json value) {
  LatencyHistogram h;
  for (std::uint64_t v : {3, 500, 70000}) h.record(v);
  json j = h.to_json();
  j[key] = std::move(value);
  return j;
}

}  // namespace

TEST_CASE("latency histogram keeps exact count, min, max and mean") {
  LatencyHistogram h;
  for (std::uint64_t v : {1000, 7, 123456789, 4242}) h.record(v);
  CHECK(h.count() == 4);
  CHECK(h.min() == 7);
  CHECK(h.max() == 123456789);
  CHECK(h.mean() == doctest::Approx((1000.0 + 7 + 123456789 + 4242) / 4));
  h.record(1ull << 60);  // beyond the buckets' range: clamped there, max stays exact
  CHECK(h.max() == 1ull << 60);
  CHECK(h.quantile(1.0) == 1ull << 60);
  CHECK(h.quantile(0.99) == 1ull << 60);  // not the clamp bucket's nominal top, 2^48 - 1
  h.clear();
  CHECK(h.count() == 0);
  CHECK(h.max() == 0);
}

TEST_CASE("latency quantiles of a uniform set are within one sub-bucket") {
  auto h = uniform(1, 10000);
  for (double q : {0.01, 0.1, 0.5, 0.9, 0.99, 0.999}) {
    CAPTURE(q);
    double want = q * 10000;
    auto got = static_cast<double>(h.quantile(q));
    CHECK(got >= want);  // a bucket's upper bound: never below the true value
    CHECK(got <= want * 1.016);
  }
  CHECK(h.quantile(1.0) == 10000);
  CHECK(h.quantile(0.0) == 1);
  auto s = summarize(h);
  CHECK(s.count == 10000);
  CHECK(s.min == 1);
  CHECK(s.max == 10000);
  CHECK(s.p50 == h.quantile(0.5));
  CHECK(s.p999 == h.quantile(0.999));
  CHECK(s.mean == doctest::Approx(5000.5));
}

TEST_CASE("small latencies are exact") {
  auto h = uniform(0, 99);
  CHECK(h.quantile(0.5) == 49);
  CHECK(h.quantile(0.9) == 89);
  CHECK(h.quantile(0.0) == 0);
}

TEST_CASE("an empty latency histogram reports zeros") {
  LatencyHistogram h;
  CHECK(h.count() == 0);
  CHECK(h.min() == 0);
  CHECK(h.max() == 0);
  CHECK(h.mean() == 0);
  CHECK(h.quantile(0.5) == 0);
  CHECK(h.quantile(1.0) == 0);
  auto s = summarize(h);
  CHECK(s.p99 == 0);
  auto back = LatencyHistogram::from_json(h.to_json());
  REQUIRE(back);
  CHECK(back->count() == 0);
}

TEST_CASE("merging latency histograms equals recording both") {
  auto a = uniform(10, 5000), b = uniform(3000, 900000);
  LatencyHistogram both;
  for (std::uint64_t v = 10; v <= 5000; ++v) both.record(v);
  for (std::uint64_t v = 3000; v <= 900000; ++v) both.record(v);
  LatencyHistogram merged = a;
  merged.merge(b);
  check_same(merged, both);
  CHECK(merged.quantile(0.5) == both.quantile(0.5));
  LatencyHistogram empty;
  empty.merge(a);  // an empty side must not drag min to 0
  check_same(empty, a);
  a.merge(LatencyHistogram{});
  check_same(empty, a);
}

TEST_CASE("latency histogram JSON round trip") {
  LatencyHistogram h;
  for (std::uint64_t v : std::initializer_list<std::uint64_t>{0, 1, 127, 128, 5000, 5001, 1000000,
                                                              1ull << 47, 1ull << 50})
    h.record(v);
  json j = h.to_json();
  CHECK(j.at("buckets").size() == 8);  // sparse: 5000 and 5001 share a bucket
  auto back = LatencyHistogram::from_json(json::parse(j.dump()));
  REQUIRE(back);
  check_same(*back, h);
  for (double q : {0.1, 0.5, 0.9, 1.0}) CHECK(back->quantile(q) == h.quantile(q));
}

TEST_CASE("latency histogram JSON is validated") {
  REQUIRE(LatencyHistogram::from_json(with("min", 3)));  // the baseline is accepted
  struct Bad {
    const char* why;
    json j;
  };
  for (const Bad& b : {
           Bad{"not an object", json::array()},
           Bad{"min is a string", with("min", "3")},
           Bad{"max is negative", with("max", -1)},
           Bad{"count is a float", with("count", 3.5)},
           Bad{"sum is null", with("sum", nullptr)},
           Bad{"sum is negative", with("sum", -1.0)},
           Bad{"buckets is an object", with("buckets", json::object())},
           Bad{"bucket is not a pair", with("buckets", json::parse("[[3,1,1],[8,1],[1000,1]]"))},
           Bad{"bucket index is a string", with("buckets", json::parse(R"([["3",1]])"))},
           Bad{"bucket index out of range", with("buckets", json::parse("[[3,2],[1000000,1]]"))},
           Bad{"bucket repeated", with("buckets", json::parse("[[3,1],[3,1],[500,1]]"))},
           Bad{"counts do not add up", with("count", 4)},
           Bad{"count above the buckets", with("count", 2)},
           Bad{"min above max", with("min", 80000)},
           Bad{"max outside its bucket", with("max", 100000000)},
           Bad{"empty with values",
               json::parse(R"({"min":0,"max":5,"count":0,"sum":0,"buckets":[]})")},
           Bad{"no buckets",
               [] {
                 json j = with("min", 3);
                 j.erase("buckets");
                 return j;
               }()},
       }) {
    CAPTURE(b.why);
    auto h = LatencyHistogram::from_json(b.j);
    REQUIRE_FALSE(h);
    CHECK(h.error().code == Errc::kProtocol);
  }
}
