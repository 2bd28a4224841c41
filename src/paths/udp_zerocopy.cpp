// MSG_ZEROCOPY for UDP, with UDP_SEGMENT for batches: the kernel pins our pages instead of
// copying them, so a buffer may not be restamped until its completion arrives on the error
// queue. The path therefore rotates through a pool of batch buffers, each remembering the
// zero-copy sequence numbers (one per successful sendmsg) its sends took.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <utility>
#include <vector>

#include "nicperf/paths/dgram_path.hpp"
#include "paths/udp_util.hpp"
#include "paths/zerocopy_util.hpp"

namespace nicperf {

namespace {

// Batches in flight at most: enough to keep sending while loopback or the NIC completes.
constexpr int kPool = 8;
// A wait for completions gives up after this long without one.
constexpr auto kIdle = std::chrono::seconds(2);

struct Slot {
  std::uint32_t first = 0;    // its first sequence number
  std::uint32_t count = 0;    // sequence numbers taken since it was handed out
  std::uint32_t pending = 0;  // ... not yet completed
};

class ZerocopyDgramSend final : public DgramSendPath {
 public:
  Status open(const DgramContext& ctx) override {
    if (auto st = check_dgram_context(ctx, true); !st) return st;
    int one = 1;
    if (setsockopt(ctx.fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one) != 0)
      return Error{Errc::kSystem, errno_text("SO_ZEROCOPY", errno)};
    ctx_ = ctx;
    pool_ = pattern_batches(ctx, kPool);
    return ok();
  }

  // room() cannot fail, so a failed wait is kept for the send() that follows.
  char* room() override {
    if (used_) cur_ = (cur_ + 1) % kPool;
    used_ = false;
    if (int err = claim(); err && !err_) err_ = err;
    return slot_data(cur_);
  }

  DgramResult send(std::size_t count) override {
    if (err_) return {0, std::exchange(err_, 0)};
    if (int err = claim()) return {0, err};  // room() could not free it, or was skipped
    Slot& slot = slots_[cur_];
    const std::size_t len = ctx_.datagram_len, per_send = gso_datagrams_per_send(len);
    std::size_t sent = 0;
    while (sent < count) {
      std::size_t n = std::min(per_send, count - sent);
      int err = send_segmented(ctx_.fd, slot_data(cur_) + sent * len, n, len, MSG_ZEROCOPY);
      if (err == ENOBUFS) err = on_enobufs();
      if (err) return {sent, err};
      ++slot.count, ++slot.pending, ++next_id_, ++issued_;
      used_ = true;
      sent += n;
    }
    return {sent, 0};
  }

  DgramResult finish() override {
    int err = wait_for([&] { return completed_ >= issued_; });
    return {0, err ? err : std::exchange(err_, 0)};
  }

  bool drops_whole_batch() const override { return true; }  // a super-datagram goes whole

  PathStats stats() const override { return {completed_, copied_}; }

 private:
  char* slot_data(int i) { return pool_.data() + std::size_t(i) * ctx_.batch * ctx_.datagram_len; }

  // Waits until the kernel has let go of the current slot, then starts its new record.
  int claim() {
    Slot& slot = slots_[cur_];
    if (slot.pending > 0)
      if (int err = wait_for([&] { return slot.pending == 0; })) return err;
    slot = {next_id_, 0, 0};
    return 0;
  }

  // ENOBUFS has two causes. A queue below the socket dropped the datagrams (seen with
  // IP_RECVERR): the kernel spent a sequence number, and its completion is already queued, so
  // reading it tells. Or the pending notifications used up the socket's option memory
  // (optmem_max): nothing was sent; collect some and let the caller try again.
  int on_enobufs() {
    std::uint32_t next_before = next_id_;
    if (int got = read_errqueue(); got < 0) return -got;
    if (next_id_ != next_before) return ENOBUFS;
    if (completed_ >= issued_) return EAGAIN;
    std::uint64_t completed_before = completed_;
    int err = wait_for([&] { return completed_ > completed_before; });
    return err ? err : EAGAIN;
  }

  // Reaps the error queue until done(); ETIMEDOUT after kIdle without a completion, or an
  // error the socket reported meanwhile (ECONNREFUSED).
  template <class Done>
  int wait_for(Done done) {
    using Clock = std::chrono::steady_clock;
    auto deadline = Clock::now() + kIdle;
    bool woken = false;
    for (;;) {
      int got = read_errqueue();
      if (got < 0) return -got;
      if (done()) return 0;
      if (err_) return std::exchange(err_, 0);
      if (got > 0) deadline = Clock::now() + kIdle;
      if (got == 0 && woken)
        if (int err = socket_error()) return err;
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return ETIMEDOUT;
      pollfd p{ctx_.fd, 0, 0};  // POLLERR is always reported
      int r = poll(&p, 1, int(left));
      if (r < 0 && errno != EINTR) return errno;
      woken = r > 0;
    }
  }

  int socket_error() {
    int err = 0;
    socklen_t len = sizeof err;
    return getsockopt(ctx_.fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 ? err : errno;
  }

  // Returns completion messages read (0 if none were waiting) or -errno. Errors queued with
  // IP_RECVERR (ICMP port unreachable) are kept for send() to report: reading them clears the
  // socket error that would otherwise have.
  int read_errqueue() {
    return read_zerocopy_errqueue(
        ctx_.fd,
        [this](std::uint32_t lo, std::uint32_t hi, bool copied) { complete(lo, hi, copied); },
        [this](int err) {
          if (err_ == 0) err_ = err;
        });
  }

  // Sequence numbers [lo, hi] are done (32 bits, wrapping).
  void complete(std::uint32_t lo, std::uint32_t hi, bool copied) {
    if (std::uint32_t(hi - next_id_) < (1u << 31)) {  // a send we took for failed (ENOBUFS)
      issued_ += std::uint64_t(std::uint32_t(hi - next_id_)) + 1;
      next_id_ = hi + 1;
    }
    std::uint64_t n = std::uint64_t(std::uint32_t(hi - lo)) + 1;
    completed_ += n;
    if (copied) copied_ += n;
    for (Slot& s : slots_)
      for (std::uint32_t i = 0; i < s.count && s.pending > 0; ++i)
        if (std::uint32_t(s.first + i - lo) <= std::uint32_t(hi - lo)) --s.pending;
  }

  DgramContext ctx_;
  std::vector<char> pool_;
  std::array<Slot, kPool> slots_{};
  int cur_ = 0;
  bool used_ = false;  // the current slot has been sent from since room() handed it out
  int err_ = 0;
  std::uint32_t next_id_ = 0;  // the socket's next zero-copy sequence number
  std::uint64_t issued_ = 0, completed_ = 0, copied_ = 0;
};

}  // namespace

std::string probe_udp_zerocopy() {
  return probe_so_zerocopy(SOCK_DGRAM, "the kernel refuses SO_ZEROCOPY on UDP");
}

std::unique_ptr<DgramSendPath> make_udp_send_zerocopy() {
  return std::make_unique<ZerocopyDgramSend>();
}

}  // namespace nicperf
