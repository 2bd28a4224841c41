// write(): the baseline copy path.
#include <unistd.h>

#include "nicperf/paths/registry.hpp"
#include "nicperf/stream/payload.hpp"
#include "paths/block_send.hpp"

namespace nicperf {
namespace {

class WriteSend final : public BlockSend<WriteSend> {
 public:
  ssize_t send_from(std::size_t pos, std::size_t len) {
    return ::write(ctx_.fd, ctx_.payload->data() + pos, len);
  }
};

}  // namespace

std::unique_ptr<SendPath> make_send_write() { return std::make_unique<WriteSend>(); }

}  // namespace nicperf
