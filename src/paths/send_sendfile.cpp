// sendfile(): the kernel reads the payload file's page cache straight into the socket, with no
// user-to-kernel copy.
#include <sys/sendfile.h>

#include <algorithm>
#include <cerrno>

#include "nicperf/paths/registry.hpp"
#include "nicperf/stream/payload.hpp"

namespace nicperf {
namespace {

class SendfileSend final : public SendPath {
 public:
  Status open(const PathContext& ctx) override {
    ctx_ = ctx;
    return ok();
  }

  IoResult send(std::size_t max) override {
    auto pos = static_cast<off_t>(offset_ % ctx_.block_len);
    std::size_t len = std::min(ctx_.block_len - std::size_t(pos), max);
    ssize_t n = ::sendfile(ctx_.fd, ctx_.payload->fd(), &pos, len);
    if (n < 0) return {0, errno};
    offset_ += std::uint64_t(n);
    return {std::size_t(n), 0};
  }

 private:
  PathContext ctx_;
  std::uint64_t offset_ = 0;
};

}  // namespace

std::unique_ptr<SendPath> make_send_sendfile() { return std::make_unique<SendfileSend>(); }

}  // namespace nicperf
