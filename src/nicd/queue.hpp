// One queue thread of nicperf-nicd: reads one queue (port.hpp) of the sending device, writes the
// receiving device's queue that RSS picks. Only this thread touches its ring, coalescer and link;
// it publishes counters (single writer) and picks up settings and resets by epoch.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "nicd/nic_model.hpp"
#include "nicd/nic_packet.hpp"
#include "nicd/nicd.hpp"
#include "nicd/port.hpp"

namespace nicperf::nic {

class QueueWorker {
 public:
  QueueWorker(Direction dir, unsigned queue, Port& src, std::vector<Port*> dst, int cpu,
              Shared& shared);
  ~QueueWorker();
  QueueWorker(const QueueWorker&) = delete;
  QueueWorker& operator=(const QueueWorker&) = delete;

  void start();
  void wake();  // after a change to Shared
  void join();
  bool acked_reset(std::uint64_t epoch) const { return reset_seen_.load() >= epoch; }
  pid_t tid() const { return tid_.load(); }
  Direction direction() const { return dir_; }
  unsigned queue() const { return queue_; }
  int cpu() const { return cpu_; }
  const QueueCounters& counters() const { return counters_; }
  std::uint64_t steered() const { return steered_.get(); }
  std::uint32_t coalesce_usecs() const { return usecs_.load(std::memory_order_relaxed); }

  static constexpr std::size_t kMaxFrame = 65536 + 256;  // a GSO super-frame and its headers
  static constexpr std::size_t kBufSize = 2048;
  static constexpr int kReadBurst = 64;

 private:
  void run();
  void pick_up(bool first);
  void read_burst(Nanos now);
  void read_frames(Nanos now);
  void take_frames(Nanos now);
  bool ring_full() const;
  void classify(DescRing::Frame& f, Nanos now);
  void note_arrivals(Nanos now);
  bool must_deliver(Nanos now) const;
  void deliver(Nanos now);
  void count_device_drops(Nanos now, bool idle);
  bool write_frame(const DescRing::Frame& f);
  void wait(Nanos now);
  std::span<const std::uint8_t> linear(const DescRing::Frame& f);

  Direction dir_;
  unsigned queue_;
  Port& src_;
  std::vector<Port*> dst_;
  int cpu_;
  int wake_fd_ = -1;
  Shared& shared_;
  std::atomic<pid_t> tid_{0};
  std::atomic<std::uint64_t> reset_seen_{0};
  std::atomic<std::uint32_t> usecs_{0};
  std::uint64_t settings_seen_ = ~0ull;
  NicSettings settings_;
  std::optional<DescRing> ring_;
  Coalescer coalescer_;
  Link link_;
  RssTable rss_;
  std::uint64_t device_drops_ = 0;  // the source port's rx_dropped() when last counted
  Nanos drops_read_at_ = 0;
  std::size_t noted_ = 0;  // frames at the ring's front that reached the RX side
  QueueCounters counters_;
  Counter steered_;  // frames RSS sent to another queue than the one they were read from
  std::vector<iovec> iov_;
  std::vector<std::uint8_t> scratch_, segments_;
  std::thread thread_;
};

}  // namespace nicperf::nic
