// The copy-from-the-block send paths (write, sendfile): each call sends from where the last one
// stopped, at most a block, wrapping at the end of the payload (a block, or -F's file).
// Derived::send_from(pos, len) makes the one system call (CRTP, so the per-call path has no second
// virtual call).
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "nicperf/paths/send_path.hpp"
#include "nicperf/stream/payload.hpp"

namespace nicperf {

template <class Derived>
class BlockSend : public SendPath {
 public:
  Status open(const PathContext& ctx) override {
    ctx_ = ctx;
    return ok();
  }

  IoResult send(std::size_t max) final {
    std::size_t size = ctx_.payload->size();
    std::size_t pos = offset_ % size;
    std::size_t len = std::min({ctx_.block_len, size - pos, max});
    ssize_t n = static_cast<Derived*>(this)->send_from(pos, len);
    if (n < 0) return {0, errno};
    offset_ += std::uint64_t(n);
    return {std::size_t(n), 0};
  }

 protected:
  PathContext ctx_;

 private:
  std::uint64_t offset_ = 0;
};

}  // namespace nicperf
