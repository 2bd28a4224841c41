// recv(MSG_TRUNC): TCP drops the data in the kernel without copying it to user space.
#include <sys/socket.h>

#include <cerrno>

#include "nicperf/paths/registry.hpp"

namespace nicperf {
namespace {

class DiscardRecv final : public RecvPath {
 public:
  Status open(const PathContext& ctx) override {
    fd_ = ctx.fd;
    len_ = ctx.block_len;
    return ok();
  }

  IoResult recv() override {
    ssize_t n = ::recv(fd_, nullptr, len_, MSG_TRUNC);
    if (n < 0) return {0, errno};
    return {std::size_t(n), 0, nullptr};
  }

 private:
  int fd_ = -1;
  std::size_t len_ = 0;
};

}  // namespace

std::unique_ptr<RecvPath> make_recv_discard() { return std::make_unique<DiscardRecv>(); }

}  // namespace nicperf
