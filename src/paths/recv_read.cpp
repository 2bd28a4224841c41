// read(): the baseline receive path.
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "nicperf/paths/registry.hpp"

namespace nicperf {
namespace {

class ReadRecv final : public RecvPath {
 public:
  Status open(const PathContext& ctx) override {
    fd_ = ctx.fd;
    buf_.resize(ctx.block_len);
    return ok();
  }

  IoResult recv() override {
    ssize_t n = ::read(fd_, buf_.data(), buf_.size());
    if (n < 0) return {0, errno};
    return {std::size_t(n), 0, buf_.data()};
  }

 private:
  int fd_ = -1;
  std::vector<char> buf_;
};

}  // namespace

std::unique_ptr<RecvPath> make_recv_read() { return std::make_unique<ReadRecv>(); }

}  // namespace nicperf
