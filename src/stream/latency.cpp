#include "nicperf/stream/latency.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "nicperf/util/error.hpp"

namespace nicperf {
namespace {

// HdrHistogram's layout: the first group holds 0..127 one value per bucket; every later power of
// two [2^m, 2^(m+1)), m >= 7, is split in 64 equal buckets, so a bucket is at most 1/64 wide.
constexpr int kSubBits = 6;
constexpr std::uint64_t kSub = 1ull << kSubBits;  // 64 buckets per power of two
constexpr std::uint64_t kFirst = 2 * kSub;        // 0..127, exact
constexpr int kTopBit = 48;                       // values from 2^48 on share the last bucket
constexpr std::size_t kBuckets = kFirst + (kTopBit - (kSubBits + 1)) * kSub;
constexpr std::uint64_t kLast = kBuckets - 1;

std::size_t bucket_index(std::uint64_t ns) {
  if (ns < kFirst) return static_cast<std::size_t>(ns);
  int msb = std::bit_width(ns) - 1;
  if (msb >= kTopBit) return kLast;
  int shift = msb - kSubBits;
  std::uint64_t sub = (ns >> shift) - kSub;
  return static_cast<std::size_t>(kFirst + static_cast<std::uint64_t>(msb - kSubBits - 1) * kSub +
                                  sub);
}

// The highest value a bucket holds.
std::uint64_t bucket_top(std::size_t index) {
  if (index < kFirst) return index;
  std::uint64_t group = (index - kFirst) / kSub, sub = (index - kFirst) % kSub;
  int shift = static_cast<int>(group) + 1;
  return ((kSub + sub + 1) << shift) - 1;
}

Error bad(const std::string& what) { return Error{Errc::kProtocol, "latency histogram: " + what}; }

// nlohmann keeps a non-negative integer as unsigned when parsed but as signed when built in code.
bool get_u64(const nlohmann::json& v, std::uint64_t& out) {
  if (v.is_number_unsigned()) {
    out = v.get<std::uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) {
    out = static_cast<std::uint64_t>(v.get<std::int64_t>());
    return true;
  }
  return false;
}

bool get_u64_field(const nlohmann::json& j, const char* key, std::uint64_t& out) {
  auto it = j.find(key);
  return it != j.end() && get_u64(*it, out);
}

// Fills `buckets` from [[index, n], ...]; returns the total count or an error.
Expected<std::uint64_t> read_buckets(const nlohmann::json& list,
                                     std::vector<std::uint64_t>& buckets) {
  if (!list.is_array()) return bad("\"buckets\" is not an array");
  std::uint64_t total = 0;
  for (const auto& pair : list) {
    std::uint64_t index = 0, n = 0;
    if (!pair.is_array() || pair.size() != 2 || !get_u64(pair[0], index) || !get_u64(pair[1], n))
      return bad("a bucket is not [index, count] of non-negative integers");
    if (index >= kBuckets) return bad("bucket index " + std::to_string(index) + " out of range");
    if (n == 0 || buckets[index] != 0)
      return bad("bucket " + std::to_string(index) + " repeated or empty");
    if (n > std::numeric_limits<std::uint64_t>::max() - total) return bad("bucket counts overflow");
    buckets[index] = n;
    total += n;
  }
  return total;
}

// The occupied buckets must span exactly from min's bucket to max's.
bool extremes_match(const std::vector<std::uint64_t>& buckets, std::uint64_t min,
                    std::uint64_t max) {
  auto first = std::find_if(buckets.begin(), buckets.end(), [](auto n) { return n != 0; });
  auto last = std::find_if(buckets.rbegin(), buckets.rend(), [](auto n) { return n != 0; });
  if (first == buckets.end()) return false;
  auto lo = static_cast<std::size_t>(first - buckets.begin());
  auto hi = static_cast<std::size_t>(buckets.rend() - last) - 1;
  return lo == bucket_index(min) && hi == bucket_index(max);
}

}  // namespace

LatencyHistogram::LatencyHistogram() : buckets_(kBuckets, 0) {}

void LatencyHistogram::record(std::uint64_t ns) {
  min_ = count_ ? std::min(min_, ns) : ns;
  max_ = count_ ? std::max(max_, ns) : ns;
  ++buckets_[bucket_index(ns)];
  ++count_;
  sum_ += static_cast<long double>(ns);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  for (std::size_t i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  min_ = count_ ? std::min(min_, other.min_) : other.min_;
  max_ = count_ ? std::max(max_, other.max_) : other.max_;
  count_ += other.count_;
  sum_ += other.sum_;
}

void LatencyHistogram::clear() {
  std::fill(buckets_.begin(), buckets_.end(), 0);
  count_ = min_ = max_ = 0;
  sum_ = 0;
}

double LatencyHistogram::mean() const {
  return count_ ? static_cast<double>(sum_ / static_cast<long double>(count_)) : 0.0;
}

std::uint64_t LatencyHistogram::quantile(double q) const {
  if (count_ == 0) return 0;
  if (!(q > 0)) return min_;  // also NaN
  if (q >= 1) return max_;
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen < rank) continue;
    // The last bucket also holds everything beyond 2^48, so its only honest bound is max.
    std::uint64_t top = i == kLast ? max_ : bucket_top(i);
    return std::clamp(top, min_, max_);
  }
  return max_;
}

nlohmann::json LatencyHistogram::to_json() const {
  auto buckets = nlohmann::json::array();
  for (std::size_t i = 0; i < kBuckets; ++i)
    if (buckets_[i]) buckets.push_back({i, buckets_[i]});
  return {{"min", min()},
          {"max", max_},
          {"count", count_},
          {"sum", static_cast<double>(sum_)},
          {"buckets", std::move(buckets)}};
}

Expected<LatencyHistogram> LatencyHistogram::from_json(const nlohmann::json& j) {
  if (!j.is_object()) return bad("not an object");
  LatencyHistogram h;
  if (!get_u64_field(j, "min", h.min_) || !get_u64_field(j, "max", h.max_) ||
      !get_u64_field(j, "count", h.count_))
    return bad("\"min\", \"max\" and \"count\" must be non-negative integers");
  auto sum = j.find("sum");
  if (sum == j.end() || !sum->is_number() || !std::isfinite(sum->get<double>()) ||
      sum->get<double>() < 0)
    return bad("\"sum\" must be a finite non-negative number");
  h.sum_ = sum->get<double>();
  auto list = j.find("buckets");
  if (list == j.end()) return bad("no \"buckets\"");
  auto total = read_buckets(*list, h.buckets_);
  if (!total) return total.error();
  if (*total != h.count_) return bad("bucket counts do not add up to \"count\"");
  if (h.count_ == 0) {
    if (h.min_ || h.max_ || h.sum_ != 0) return bad("an empty histogram with values");
    return h;
  }
  if (h.min_ > h.max_) return bad("\"min\" above \"max\"");
  if (!extremes_match(h.buckets_, h.min_, h.max_))
    return bad("\"min\" and \"max\" do not match the occupied buckets");
  return h;
}

LatencySummary summarize(const LatencyHistogram& h) {
  LatencySummary s;
  s.count = h.count();
  s.mean = h.mean();
  s.min = h.min();
  s.p50 = h.quantile(0.5);
  s.p90 = h.quantile(0.9);
  s.p99 = h.quantile(0.99);
  s.p999 = h.quantile(0.999);
  s.max = h.max();
  return s;
}

}  // namespace nicperf
