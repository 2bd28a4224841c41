// write(): the baseline copy path.
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "nicperf/paths/registry.hpp"
#include "nicperf/stream/payload.hpp"

namespace nicperf {
namespace {

class WriteSend final : public SendPath {
 public:
  Status open(const PathContext& ctx) override {
    ctx_ = ctx;
    return ok();
  }

  IoResult send(std::size_t max) override {
    std::size_t pos = offset_ % ctx_.block_len;
    std::size_t len = std::min(ctx_.block_len - pos, max);
    ssize_t n = ::write(ctx_.fd, ctx_.payload->data() + pos, len);
    if (n < 0) return {0, errno};
    offset_ += std::uint64_t(n);
    return {std::size_t(n), 0};
  }

 private:
  PathContext ctx_;
  std::uint64_t offset_ = 0;
};

}  // namespace

std::unique_ptr<SendPath> make_send_write() { return std::make_unique<WriteSend>(); }

}  // namespace nicperf
