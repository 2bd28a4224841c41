#include "nicd/queue.hpp"

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "nicperf/util/clock.hpp"

namespace nicperf::nic {

namespace {

VnetHdr header_of(std::span<const std::uint8_t> frame) {
  VnetHdr h;
  std::memcpy(&h, frame.data(), sizeof h);
  return h;
}

}  // namespace

QueueWorker::QueueWorker(Direction dir, unsigned queue, Port& src, std::vector<Port*> dst, int cpu,
                         Shared& shared)
    : dir_(dir),
      queue_(queue),
      src_(src),
      dst_(std::move(dst)),
      cpu_(cpu),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      shared_(shared),
      link_({}, 0x6e6963ull + queue * 2 + static_cast<unsigned>(dir)),
      rss_(static_cast<unsigned>(dst_.size())) {}

QueueWorker::~QueueWorker() {
  join();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void QueueWorker::start() {
  thread_ = std::thread([this] { run(); });
}

void QueueWorker::wake() {
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
}

void QueueWorker::join() {
  if (thread_.joinable()) {
    wake();
    thread_.join();
  }
}

void QueueWorker::run() {
  tid_ = gettid();
  // The coalescing timer is tens of microseconds: the default 50 us timer slack would swamp it.
  prctl(PR_SET_TIMERSLACK, 1UL);
  if (cpu_ >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu_, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  }
  std::string name = std::string(dir_ == Direction::kCliToSrv ? "nicd-c2s-" : "nicd-s2c-") +
                     std::to_string(queue_);
  pthread_setname_np(pthread_self(), name.c_str());
  pick_up(true);
  while (!shared_.stop.load(std::memory_order_relaxed)) {
    pick_up(false);
    Nanos now = monotonic_ns();
    read_burst(now);
    now = monotonic_ns();
    note_arrivals(now);
    if (must_deliver(now)) deliver(now);
    wait(now);
  }
}

// Settings apply between bursts; a new ring size waits until the ring is empty, since frames
// in it live in the old buffer region.
void QueueWorker::pick_up(bool first) {
  std::uint64_t epoch = shared_.settings_epoch.load(std::memory_order_acquire);
  if (first || epoch != settings_seen_) {
    {
      std::lock_guard lock(shared_.mutex);
      settings_ = shared_.settings;
    }
    settings_seen_ = epoch;
    coalescer_.configure(settings_.coalesce);
    link_.configure(settings_.link);
  }
  if (!ring_ || (ring_->entries() != settings_.ring && ring_->frames() == 0)) {
    ring_.emplace(settings_.ring, src_.holds_frames() ? 0 : kBufSize);
    src_.set_rx_buffers(settings_.ring);
    noted_ = 0;
  }
  usecs_.store(coalescer_.usecs(), std::memory_order_relaxed);
  std::uint64_t reset = shared_.reset_epoch.load(std::memory_order_acquire);
  if (reset != reset_seen_.load(std::memory_order_relaxed)) {
    counters_.reset();
    steered_.reset();
    reset_seen_.store(reset, std::memory_order_release);
  }
}

// The coalescer looks at every frame as it lands, so rx-frames=N raises its interrupt with
// exactly N frames, however many the tap had queued.
void QueueWorker::read_burst(Nanos now) {
  read_frames(now);
  src_.end_receive();
}

void QueueWorker::read_frames(Nanos now) {
  if (src_.holds_frames()) return take_frames(now);
  for (int i = 0; i < kReadBurst; ++i) {
    if (!ring_->reserve(kMaxFrame, iov_)) {
      counters_.backpressure.add(1);
      return;
    }
    ssize_t n = src_.receive(iov_);
    if (n <= static_cast<ssize_t>(sizeof(VnetHdr))) return;  // EAGAIN, EIO while down, or runt
    classify(ring_->commit(static_cast<std::size_t>(n), now), now);
    note_arrivals(now);
    if (must_deliver(now)) deliver(now);
  }
}

// The device filled its buffers already: the ring records them, and at most --ring can be out
// (set_rx_buffers), so a full ring means --ring just shrank under frames already posted.
void QueueWorker::take_frames(Nanos now) {
  Port::Held h{};
  for (int i = 0; i < kReadBurst && src_.take(h); ++i) {
    // A runt is refused before the ring holds it: a held frame's buffer goes back at delivery.
    DescRing::Frame* f =
        h.len > sizeof(VnetHdr) ? ring_->hold(h.data, h.len, h.token, now) : nullptr;
    if (f == nullptr) {
      counters_.drops.add(1);
      src_.give_back(h.token);
      continue;
    }
    classify(*f, now);
    note_arrivals(now);
    if (must_deliver(now)) deliver(now);
  }
}

bool QueueWorker::ring_full() const {
  if (src_.holds_frames()) return ring_->free() == 0;
  return ring_->free() * kBufSize < kMaxFrame;
}

std::span<const std::uint8_t> QueueWorker::linear(const DescRing::Frame& f) {
  ring_->buffers(f, iov_);
  if (iov_.size() == 1) return {static_cast<const std::uint8_t*>(iov_[0].iov_base), f.len};
  scratch_.resize(f.len);
  std::size_t at = 0;
  for (const iovec& v : iov_) {
    std::memcpy(scratch_.data() + at, v.iov_base, v.iov_len);
    at += v.iov_len;
  }
  return scratch_;
}

void QueueWorker::classify(DescRing::Frame& f, Nanos now) {
  auto bytes = linear(f);
  VnetHdr hdr = header_of(bytes);
  auto frame = bytes.subspan(sizeof(VnetHdr));
  f.segments = static_cast<std::uint16_t>(wire_segments(hdr, frame));
  f.wire_bytes = static_cast<std::uint32_t>(wire_bytes(hdr, frame));
  f.queue = static_cast<std::uint16_t>(queue_ % dst_.size());
  // Both directions hash the flow as the client sends it, so a flow's replies land on the
  // queue its data came from and the kernel's automq keeps the flow on one queue index. With
  // one queue there is nothing to steer: the hash was 6% of a queue thread's time per frame.
  if (dst_.size() > 1) {
    if (auto flow = parse_flow(frame)) {
      if (dir_ == Direction::kSrvToCli) *flow = reversed(*flow);
      f.queue = static_cast<std::uint16_t>(rss_.queue_for(rss_hash(*flow)));
    }
  }
  f.lost = link_.lost();
  f.due = link_.depart(now, f.wire_bytes);
  std::uint64_t used = src_.holds_frames() ? src_.rx_occupancy() : ring_->used();
  counters_.ring_samples.add(1);
  counters_.ring_used_sum.add(used);
  counters_.ring_used_max.max(used);
}

void QueueWorker::note_arrivals(Nanos now) {
  for (; noted_ < ring_->frames(); ++noted_) {
    const auto& f = ring_->at(noted_);
    if (f.due > now) break;
    coalescer_.arrived(std::max(f.due, f.arrived));
  }
}

// The interrupt fires when the coalescer says so, or at once when the ring cannot take another
// frame: holding frames back then would only stall the sender.
bool QueueWorker::must_deliver(Nanos now) const {
  if (noted_ == 0) return false;
  if (coalescer_.due(now)) return true;
  return ring_full();
}

void QueueWorker::deliver(Nanos now) {
  Nanos written = monotonic_ns();  // residence ends at the write, not at the decision to write
  std::uint64_t queues_hit = 0, touched = 0;
  std::size_t burst = noted_;
  for (std::size_t i = 0; i < burst; ++i) {
    const DescRing::Frame& f = ring_->front();
    if (!f.lost) touched |= std::uint64_t{1} << (f.queue % 64);
    if (f.lost) {
      counters_.lost.add(1);
    } else if (write_frame(f)) {
      counters_.frames.add(1);
      counters_.bytes.add(f.len - sizeof(VnetHdr));
      counters_.segments.add(f.segments);
      counters_.wire_bytes.add(f.wire_bytes);
      counters_.residence_ns.add(written - f.arrived);
      if (f.queue != queue_) steered_.add(1);
      queues_hit |= std::uint64_t{1} << (f.queue % 64);
    } else {
      counters_.drops.add(1);
    }
    if (f.data != nullptr) src_.give_back(f.token);
    ring_->pop();
  }
  noted_ = 0;
  src_.end_receive();
  count_device_drops(now, false);
  for (std::size_t q = 0; q < dst_.size(); ++q) {
    if (touched & (std::uint64_t{1} << (q % 64))) dst_[q]->flush();
  }
  counters_.interrupts.add(static_cast<std::uint64_t>(std::popcount(queues_hit)));
  counters_.frames_per_irq.add(burst);
  coalescer_.fired(now);
}

// The device's own drop count is a system call on xdp (XDP_STATISTICS, under the socket's
// mutex): read at most once a millisecond while frames flow instead of once per interrupt, and
// always before the thread sleeps, so `stats` of a quiet NIC is exact.
void QueueWorker::count_device_drops(Nanos now, bool idle) {
  if (!idle && now - drops_read_at_ < 1'000'000) return;
  drops_read_at_ = now;
  std::uint64_t dropped = src_.rx_dropped();
  counters_.drops.add(dropped - device_drops_);
  device_drops_ = dropped;
}

bool QueueWorker::write_frame(const DescRing::Frame& f) {
  Port& dst = *dst_[f.queue % dst_.size()];
  auto bytes = linear(f);
  VnetHdr hdr = header_of(bytes);
  if (settings_.gro || hdr.gso_type == kGsoNone) {
    ring_->buffers(f, iov_);
    return dst.send(iov_, f.len);
  }
  // GRO off: the receiver gets MTU frames, cut here as a NIC without LRO would see them.
  auto parts = segment_tcp(hdr, bytes.subspan(sizeof(VnetHdr)), segments_);
  if (!parts) return false;
  counters_.segmented.add(1);
  bool all = true;
  for (const SegmentRef& s : *parts) {
    iovec one{segments_.data() + s.offset, s.size};
    all &= dst.send({&one, 1}, s.size);
  }
  segments_.clear();
  return all;
}

void QueueWorker::wait(Nanos now) {
  Nanos until = now + 1'000'000'000;  // nothing pending: sleep until a frame or a wake-up
  if (noted_ > 0) until = coalescer_.deadline();
  if (noted_ < ring_->frames()) until = std::min(until, ring_->at(noted_).due);
  if (until <= now && noted_ > 0) return;
  if (noted_ == 0 && ring_->frames() == 0) count_device_drops(now, true);
  if (settings_.busy_poll_us != 0 && !ring_full()) {
    // Like the kernel's busy_poll: spinning a few microseconds spares the wake-up of a halted
    // vCPU when frames come back to back, at the price of the CPU it burns (counted as busy).
    Nanos end = std::min(until, now + settings_.busy_poll_us * 1000);
    while (monotonic_ns() < end) {
      pollfd p{src_.fd(), POLLIN, 0};
      if (poll(&p, 1, 0) > 0 || shared_.stop.load(std::memory_order_relaxed)) return;
    }
  }
  bool room = !ring_full();
  pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {src_.fd(), static_cast<short>(room ? POLLIN : 0), 0}};
  Nanos left = until > now ? until - now : 0;
  timespec ts{static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
  if (ppoll(fds, 2, &ts, nullptr) > 0 && (fds[0].revents & POLLIN)) {
    std::uint64_t v;
    [[maybe_unused]] ssize_t n = read(wake_fd_, &v, sizeof v);
  }
}

}  // namespace nicperf::nic
