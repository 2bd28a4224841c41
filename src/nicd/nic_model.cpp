#include "nicd/nic_model.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace nicperf::nic {

DescRing::DescRing(std::uint32_t entries, std::size_t buf_size)
    : entries_(std::max<std::uint32_t>(entries, 1)),
      buf_size_(buf_size),
      region_(buf_size == 0 ? nullptr : new std::uint8_t[entries_ * buf_size]),
      frames_(entries_) {}

namespace {

std::uint32_t descs_for(std::size_t len, std::size_t buf_size) {
  return static_cast<std::uint32_t>(std::max<std::size_t>(1, (len + buf_size - 1) / buf_size));
}

}  // namespace

void DescRing::buffers(const Frame& f, std::vector<iovec>& iov) const {
  iov.clear();
  if (f.data != nullptr) {
    iov.push_back({const_cast<std::uint8_t*>(f.data), f.len});
    return;
  }
  std::size_t left = f.len == 0 ? static_cast<std::size_t>(f.count) * buf_size_ : f.len;
  std::uint32_t tail_descs = std::min(f.count, entries_ - f.first);
  std::size_t first_part = std::min(left, static_cast<std::size_t>(tail_descs) * buf_size_);
  iov.push_back({region_.get() + static_cast<std::size_t>(f.first) * buf_size_, first_part});
  if (left > first_part) iov.push_back({region_.get(), left - first_part});
}

bool DescRing::reserve(std::size_t max_len, std::vector<iovec>& iov) {
  if (!region_) return false;
  std::uint32_t need = descs_for(max_len, buf_size_);
  if (need > free() || count_ == entries_) return false;
  reserved_ = need;
  Frame probe{.first = next_desc_, .count = need};
  buffers(probe, iov);
  return true;
}

DescRing::Frame& DescRing::commit(std::size_t len, Nanos now) {
  std::uint32_t need = std::min(descs_for(len, buf_size_), reserved_);
  Frame& f = frames_[(head_ + count_) % entries_];
  f = Frame{.first = next_desc_, .count = need, .len = len, .arrived = now, .due = now};
  next_desc_ = (next_desc_ + need) % entries_;
  used_ += need;
  ++count_;
  reserved_ = 0;
  return f;
}

DescRing::Frame* DescRing::hold(const std::uint8_t* data, std::size_t len, std::uint64_t token,
                                Nanos now) {
  if (free() == 0 || count_ == entries_) return nullptr;
  Frame& f = frames_[(head_ + count_) % entries_];
  f = Frame{.first = next_desc_, .count = 1, .len = len, .arrived = now, .due = now};
  f.data = data;
  f.token = token;
  next_desc_ = (next_desc_ + 1) % entries_;
  ++used_;
  ++count_;
  return &f;
}

void DescRing::pop() {
  if (count_ == 0) return;
  used_ -= frames_[head_].count;
  head_ = (head_ + 1) % entries_;
  --count_;
}

Coalescer::Coalescer(CoalesceSettings s) { configure(s); }

void Coalescer::configure(CoalesceSettings s) {
  set_ = s;
  usecs_ = s.rx_usecs;
  frames_ = s.rx_frames;
  if (s.adaptive) {
    usecs_ = kProfile[level_][0];
    frames_ = kProfile[level_][1];
  }
}

void Coalescer::arrived(Nanos now) {
  if (pending_++ == 0) first_ = now;
}

bool Coalescer::due(Nanos now) const {
  if (pending_ == 0) return false;
  if (frames_ != 0 && pending_ >= frames_) return true;
  return now >= deadline();
}

Nanos Coalescer::deadline() const { return first_ + static_cast<Nanos>(usecs_) * 1000; }

void Coalescer::fired(Nanos now) {
  window_frames_ += pending_;
  pending_ = 0;
  if (set_.adaptive) adapt(now);
}

// Every millisecond, move one profile level toward the one the frame rate calls for; one step
// at a time so a short burst does not swing the settings.
void Coalescer::adapt(Nanos now) {
  if (window_start_ == 0) window_start_ = now;
  Nanos span = now - window_start_;
  if (span < 1'000'000) return;
  double rate = static_cast<double>(window_frames_) * 1e9 / static_cast<double>(span);
  unsigned want = 0;
  while (want < kRateSteps.size() && rate >= kRateSteps[want]) ++want;
  if (want > level_) ++level_;
  if (want < level_) --level_;
  usecs_ = kProfile[level_][0];
  frames_ = kProfile[level_][1];
  window_start_ = now;
  window_frames_ = 0;
}

Link::Link(LinkSettings s, std::uint64_t seed) : set_(s), rng_(seed | 1) {}

void Link::configure(LinkSettings s) { set_ = s; }

Nanos Link::depart(Nanos now, std::size_t wire_bytes) {
  Nanos start = now;
  if (set_.rate_bps != 0) {
    // A wire idle longer than the burst slack does not bank credit for later frames.
    start = std::max(busy_until_, now > kBurst ? now - kBurst : 0);
    double ns = static_cast<double>(wire_bytes) * 8e9 / static_cast<double>(set_.rate_bps);
    busy_until_ = start + static_cast<Nanos>(ns);
    start = std::max(now, busy_until_);
  }
  return start + set_.delay_us * 1000;
}

bool Link::lost() {
  if (set_.loss <= 0) return false;
  // xorshift64*: cheap, and seeded so a test sees the same losses every run.
  rng_ ^= rng_ >> 12;
  rng_ ^= rng_ << 25;
  rng_ ^= rng_ >> 27;
  std::uint64_t r = rng_ * 0x2545F4914F6CDD1Dull;
  return static_cast<double>(r >> 11) * 0x1.0p-53 < set_.loss;
}

int Histogram::bucket(std::uint64_t v) {
  if (v < 2) return 0;
  return std::min(kBuckets - 1, static_cast<int>(std::bit_width(v)) - 1);
}

void Histogram::reset() {
  for (auto& b : b_) b.reset();
}

nlohmann::json Histogram::to_json() const {
  std::array<std::uint64_t, kBuckets> n{};
  std::uint64_t total = 0;
  for (int i = 0; i < kBuckets; ++i) total += n[i] = b_[i].get();
  auto upper = [](int i) { return (std::uint64_t{2} << i) - 1; };
  auto percentile = [&](double p) -> std::uint64_t {
    auto rank = static_cast<std::uint64_t>(std::ceil(p * static_cast<double>(total)));
    std::uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += n[i];
      if (seen >= rank && n[i] != 0) return upper(i);
    }
    return 0;
  };
  nlohmann::json buckets = nlohmann::json::array();
  std::uint64_t top = 0;
  for (int i = 0; i < kBuckets; ++i) {
    if (n[i] == 0) continue;
    buckets.push_back({i == 0 ? 0 : std::uint64_t{1} << i, n[i]});
    top = upper(i);
  }
  return {{"buckets", buckets},
          {"count", total},
          {"p50", percentile(0.5)},
          {"p99", percentile(0.99)},
          {"max", top}};
}

void QueueCounters::reset() {
  for (Counter* c : {&frames, &bytes, &segments, &wire_bytes, &drops, &lost, &interrupts,
                     &ring_samples, &ring_used_sum, &ring_used_max, &backpressure, &segmented})
    c->reset();
  frames_per_irq.reset();
  residence_ns.reset();
}

nlohmann::json QueueCounters::to_json() const {
  double mean = ring_samples.get() == 0 ? 0.0
                                        : static_cast<double>(ring_used_sum.get()) /
                                              static_cast<double>(ring_samples.get());
  return {{"frames", frames.get()},
          {"bytes", bytes.get()},
          {"wire_segments", segments.get()},
          {"wire_bytes", wire_bytes.get()},
          {"drops", drops.get()},
          {"lost", lost.get()},
          {"interrupts", interrupts.get()},
          {"backpressure", backpressure.get()},
          {"segmented", segmented.get()},
          {"ring_used_max", ring_used_max.get()},
          {"ring_used_mean", mean},
          {"frames_per_interrupt", frames_per_irq.to_json()},
          {"residence_ns", residence_ns.to_json()}};
}

}  // namespace nicperf::nic
