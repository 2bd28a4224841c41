// MSG_ZEROCOPY: the kernel pins the user pages instead of copying them and reports on the
// socket's error queue when it is done with them. Completions coalesce into ranges of send
// sequence numbers; a range flagged SO_EE_CODE_ZEROCOPY_COPIED was copied after all (always
// so on loopback), and the copied share is reported.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "nicperf/paths/registry.hpp"
#include "nicperf/stream/payload.hpp"
#include "paths/zerocopy_util.hpp"

namespace nicperf {
namespace {

// Sends in flight before the path waits for completions; it bounds the pinned memory and the
// socket's option memory (optmem_max), which the kernel charges per pending notification.
constexpr std::uint32_t kMaxInFlight = 64;

class ZerocopySend final : public SendPath {
 public:
  Status open(const PathContext& ctx) override {
    ctx_ = ctx;
    int one = 1;
    if (setsockopt(ctx.fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one) != 0)
      return Error{Errc::kSystem, errno_text("SO_ZEROCOPY", errno)};
    return ok();
  }

  IoResult send(std::size_t max) override {
    if (next_seq_ - done_ >= kMaxInFlight)
      if (int err = reap(true); err) return {0, err};
    std::size_t pos = offset_ % ctx_.block_len;
    std::size_t len = std::min(ctx_.block_len - pos, max);
    ssize_t n = ::send(ctx_.fd, ctx_.payload->data() + pos, len, MSG_ZEROCOPY);
    if (n < 0) {
      // ENOBUFS: too many notifications pending; collect some and let the caller retry.
      if (errno == ENOBUFS) return {0, reap(true) ? errno : EAGAIN};
      return {0, errno};
    }
    ++next_seq_;  // every successful zerocopy send takes one sequence number
    offset_ += std::uint64_t(n);
    if (int err = reap(false); err) return {std::size_t(n), err};
    return {std::size_t(n), 0};
  }

  IoResult finish() override {
    while (done_ < next_seq_)
      if (int err = reap(true); err) return {0, err};
    return {};
  }

  PathStats stats() const override { return {done_, copied_}; }

 private:
  // Reads completion ranges from the error queue; waits for at least one when `block`.
  int reap(bool block) {
    for (;;) {
      if (block) {
        pollfd p{ctx_.fd, 0, 0};  // POLLERR is always reported
        int r = poll(&p, 1, 1000);
        if (r < 0 && errno != EINTR) return errno;
        if (r == 0) return ETIMEDOUT;
      }
      int got = read_errqueue();
      if (got < 0) return -got;
      if (got > 0 || !block) return 0;
    }
  }

  // Returns completion messages read (0 if none were waiting) or -errno.
  int read_errqueue() {
    auto on_range = [this](std::uint32_t lo, std::uint32_t hi, bool copied) {
      std::uint64_t n = std::uint64_t(std::uint32_t(hi - lo)) + 1;  // range [lo, hi]
      done_ += n;
      if (copied) copied_ += n;
    };
    return read_zerocopy_errqueue(ctx_.fd, on_range, [](int) {});
  }

  PathContext ctx_;
  std::uint64_t offset_ = 0;
  std::uint64_t next_seq_ = 0, done_ = 0, copied_ = 0;
};

}  // namespace

std::string probe_zerocopy() {
  return probe_so_zerocopy(SOCK_STREAM, "the kernel refuses SO_ZEROCOPY");
}

std::unique_ptr<SendPath> make_send_zerocopy() { return std::make_unique<ZerocopySend>(); }

}  // namespace nicperf
