// The emulated NIC's model, free of sockets and threads so tests drive it with a fake clock:
// a descriptor ring over a preallocated buffer region, the RX interrupt coalescer
// (ethtool -C's rx-usecs / rx-frames / adaptive), the link (rate, delay, loss) and the
// counters a queue thread keeps.
#pragma once

#include <sys/uio.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "nicperf/nic/nicd_client.hpp"

namespace nicperf::nic {

using Nanos = std::uint64_t;  // CLOCK_MONOTONIC nanoseconds, passed in by the caller

// A descriptor ring: `entries` descriptors, each owning `buf_size` bytes of one region (the
// "DMA" area). A frame takes a chain of consecutive descriptors; frames leave in order.
// With buf_size 0 there is no region: frames are held where the device put them (AF_XDP's
// UMEM), one descriptor each.
class DescRing {
 public:
  struct Frame {
    std::uint32_t first = 0, count = 0;  // descriptor chain
    std::size_t len = 0;
    Nanos arrived = 0;        // read from the tap
    Nanos due = 0;            // may be delivered (link serialization and delay)
    std::uint16_t queue = 0;  // RX queue on the receiving side (RSS)
    std::uint16_t segments = 1;
    std::uint32_t wire_bytes = 0;
    bool lost = false;  // the link dropped it: it leaves the ring unwritten
    // A held frame (hold()): its bytes stay in the device's memory, `token` names the buffer.
    const std::uint8_t* data = nullptr;
    std::uint64_t token = 0;
  };

  DescRing(std::uint32_t entries, std::size_t buf_size);
  std::uint32_t entries() const { return entries_; }
  std::uint32_t used() const { return used_; }
  std::uint32_t free() const { return entries_ - used_; }
  std::size_t frames() const { return count_; }
  std::size_t buf_size() const { return buf_size_; }

  // Buffers for a frame of up to `max_len` bytes (1 or 2 iovecs, 2 when the chain wraps);
  // false when the ring lacks the descriptors: back-pressure, the caller stops reading.
  bool reserve(std::size_t max_len, std::vector<iovec>& iov);
  // Keeps the descriptors `len` bytes need as one frame; the rest of the reservation is free.
  Frame& commit(std::size_t len, Nanos now);
  // Takes one descriptor for a frame left in the device's buffer `data`; nullptr when none is
  // free (the device posted more buffers than the ring has: a drop).
  Frame* hold(const std::uint8_t* data, std::size_t len, std::uint64_t token, Nanos now);
  const Frame& front() const { return frames_[head_]; }
  Frame& front() { return frames_[head_]; }
  const Frame& at(std::size_t i) const { return frames_[(head_ + i) % entries_]; }
  // The frame's bytes as 1 or 2 iovecs.
  void buffers(const Frame& f, std::vector<iovec>& iov) const;
  void pop();

 private:
  std::uint32_t entries_;
  std::size_t buf_size_;
  std::unique_ptr<std::uint8_t[]> region_;
  std::vector<Frame> frames_;  // one slot per descriptor at most
  std::size_t head_ = 0, count_ = 0;
  std::uint32_t next_desc_ = 0, used_ = 0;
  std::uint32_t reserved_ = 0;
};

// Decides when pending RX frames raise an "interrupt" (are written into the tap as one burst):
// once rx_frames are pending, or rx_usecs after the first one arrived, whichever comes first
// (rx_usecs 0: at once; rx_frames 0: the timer alone). Adaptive mode picks (usecs, frames)
// from a profile by the frame rate it sees, as the kernel's net_dim does.
class Coalescer {
 public:
  explicit Coalescer(CoalesceSettings s = {});
  void configure(CoalesceSettings s);
  const CoalesceSettings& settings() const { return set_; }
  std::uint32_t usecs() const { return usecs_; }
  std::uint32_t frames() const { return frames_; }

  void arrived(Nanos now);  // a frame joined the pending burst
  unsigned pending() const { return pending_; }
  bool due(Nanos now) const;
  Nanos deadline() const;  // when the timer fires; only meaningful while pending() > 0
  void fired(Nanos now);   // the burst was delivered

  // The adaptive profile: (usecs, frames) per level and the frame rates that move between them.
  static constexpr std::array<std::array<std::uint32_t, 2>, 5> kProfile{
      {{0, 1}, {8, 16}, {16, 32}, {32, 64}, {64, 64}}};
  static constexpr std::array<double, 4> kRateSteps{20e3, 100e3, 300e3, 600e3};

 private:
  void adapt(Nanos now);

  CoalesceSettings set_;
  std::uint32_t usecs_ = 0, frames_ = 0;
  unsigned pending_ = 0;
  Nanos first_ = 0;
  Nanos window_start_ = 0;
  std::uint64_t window_frames_ = 0;
  unsigned level_ = 2;
};

// The wire: frames serialize one after another at rate_bps (a token bucket one frame deep, with
// `burst` of slack so a late thread can catch up), then take delay_us to arrive.
class Link {
 public:
  explicit Link(LinkSettings s = {}, std::uint64_t seed = 0x6e6963706572660aull);
  void configure(LinkSettings s);
  const LinkSettings& settings() const { return set_; }
  // When a frame of `wire_bytes` read at `now` may be delivered; advances the wire.
  Nanos depart(Nanos now, std::size_t wire_bytes);
  bool lost();  // draws once per frame

  static constexpr Nanos kBurst = 200'000;  // 200 us of slack

 private:
  LinkSettings set_;
  Nanos busy_until_ = 0;
  std::uint64_t rng_;
};

// A counter with one writer (its queue thread) and any readers: relaxed load+store, no lock.
class Counter {
 public:
  void add(std::uint64_t n) { v_.store(v_.load(std::memory_order_relaxed) + n, kRelaxed); }
  void max(std::uint64_t n) {
    if (n > v_.load(kRelaxed)) v_.store(n, kRelaxed);
  }
  void reset() { v_.store(0, kRelaxed); }
  std::uint64_t get() const { return v_.load(kRelaxed); }

 private:
  static constexpr auto kRelaxed = std::memory_order_relaxed;
  std::atomic<std::uint64_t> v_{0};
};

// Log2 buckets: bucket 0 holds 0 and 1, bucket i holds [2^i, 2^(i+1)).
class Histogram {
 public:
  static constexpr int kBuckets = 40;
  static int bucket(std::uint64_t v);
  void add(std::uint64_t v) { b_[bucket(v)].add(1); }
  void reset();
  // {"buckets": [[lower bound, count], ...] (non-empty ones), "count", "p50", "p99", "max"}
  // where percentiles are the upper bound of the bucket holding them.
  nlohmann::json to_json() const;

 private:
  std::array<Counter, kBuckets> b_;
};

// What one queue thread counts for its direction. Only that thread writes.
struct QueueCounters {
  Counter frames, bytes, segments, wire_bytes, drops, lost, interrupts;
  Counter ring_samples, ring_used_sum, ring_used_max, backpressure;
  Counter segmented;  // super-frames the model cut into MTU frames (GRO off)
  Histogram frames_per_irq, residence_ns;
  void reset();
  nlohmann::json to_json() const;
};

}  // namespace nicperf::nic
