// read(): the baseline receive path.
#include <unistd.h>

#include <cerrno>

#include "nicperf/paths/registry.hpp"
#include "paths/page_buffer.hpp"

namespace nicperf {
namespace {

class ReadRecv final : public RecvPath {
 public:
  Status open(const PathContext& ctx) override {
    fd_ = ctx.fd;
    if (!buf_.resize(ctx.block_len))
      return Error{Errc::kSystem, errno_text("receive buffer mmap", errno)};
    return ok();
  }

  IoResult recv() override {
    ssize_t n = ::read(fd_, buf_.data(), buf_.size());
    if (n < 0) return {0, errno};
    return {std::size_t(n), 0, buf_.data()};
  }

 private:
  int fd_ = -1;
  PageBuffer buf_;
};

}  // namespace

std::unique_ptr<RecvPath> make_recv_read() { return std::make_unique<ReadRecv>(); }

}  // namespace nicperf
