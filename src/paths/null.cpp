// null: moves no bytes. The sender claims `max` bytes per call without touching the socket, and
// the receiver reports EOF at once, so the framework (threads, intervals, results exchange) can be
// tested without I/O. Its figures are labelled by the mode name and are never network figures.
#include <algorithm>

#include "nicperf/paths/registry.hpp"

namespace nicperf {
namespace {

class NullSend final : public SendPath {
 public:
  Status open(const PathContext& ctx) override {
    block_len_ = ctx.block_len;
    return ok();
  }
  IoResult send(std::size_t max) override { return {std::min(block_len_, max), 0}; }

 private:
  std::size_t block_len_ = 0;
};

class NullRecv final : public RecvPath {
 public:
  Status open(const PathContext&) override { return ok(); }
  IoResult recv() override { return {}; }
};

}  // namespace

std::unique_ptr<SendPath> make_send_null() { return std::make_unique<NullSend>(); }
std::unique_ptr<RecvPath> make_recv_null() { return std::make_unique<NullRecv>(); }

}  // namespace nicperf
