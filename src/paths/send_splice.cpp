// vmsplice() the pattern pages into a pipe, then splice() the pipe into the socket: the socket
// references the payload pages instead of copying them.
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "nicperf/paths/registry.hpp"
#include "nicperf/stream/payload.hpp"
#include "nicperf/util/unique_fd.hpp"

namespace nicperf {
namespace {

class SpliceSend final : public SendPath {
 public:
  Status open(const PathContext& ctx) override {
    ctx_ = ctx;
    int ends[2];
    if (pipe2(ends, O_CLOEXEC) != 0) return Error{Errc::kSystem, errno_text("pipe2", errno)};
    pipe_[0].reset(ends[0]);
    pipe_[1].reset(ends[1]);
    // A pipe as large as a block (within the system's limit) moves a block per call.
    int want = int(std::min<std::size_t>(ctx.block_len, 1u << 20));
    int got = fcntl(pipe_[1].get(), F_SETPIPE_SZ, want);
    pipe_size_ = std::size_t(got > 0 ? got : fcntl(pipe_[1].get(), F_GETPIPE_SZ));
    page_ = std::size_t(sysconf(_SC_PAGESIZE));
    return ok();
  }

  IoResult send(std::size_t max) override {
    std::size_t pos = offset_ % ctx_.block_len;
    std::size_t len = std::min({ctx_.block_len - pos, max, pipe_size_});
    // The payload is never written after it is filled, so whole pages may be gifted.
    bool whole_pages = pos % page_ == 0 && len % page_ == 0;
    iovec iov{const_cast<char*>(ctx_.payload->data()) + pos, len};
    ssize_t in = vmsplice(pipe_[1].get(), &iov, 1, whole_pages ? SPLICE_F_GIFT : 0);
    if (in < 0) return {0, errno};
    std::size_t moved = 0;
    while (moved < std::size_t(in)) {  // drain the pipe: its bytes are already ours to send
      ssize_t out = splice(pipe_[0].get(), nullptr, ctx_.fd, nullptr, std::size_t(in) - moved,
                           SPLICE_F_MOVE | SPLICE_F_MORE);
      if (out < 0 && errno == EINTR) continue;
      if (out <= 0) {
        offset_ += moved;
        return {moved, out < 0 ? errno : EPIPE};
      }
      moved += std::size_t(out);
    }
    offset_ += moved;
    return {moved, 0};
  }

 private:
  PathContext ctx_;
  UniqueFd pipe_[2];
  std::size_t pipe_size_ = 0, page_ = 4096;
  std::uint64_t offset_ = 0;
};

}  // namespace

std::unique_ptr<SendPath> make_send_splice() { return std::make_unique<SpliceSend>(); }

}  // namespace nicperf
