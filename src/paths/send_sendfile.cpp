// sendfile(): the kernel reads the payload file's page cache straight into the socket, with no
// user-to-kernel copy.
#include <sys/sendfile.h>

#include "nicperf/paths/registry.hpp"
#include "nicperf/stream/payload.hpp"
#include "paths/block_send.hpp"

namespace nicperf {
namespace {

class SendfileSend final : public BlockSend<SendfileSend> {
 public:
  ssize_t send_from(std::size_t pos, std::size_t len) {
    auto off = static_cast<off_t>(pos);
    return ::sendfile(ctx_.fd, ctx_.payload->fd(), &off, len);
  }
};

}  // namespace

std::unique_ptr<SendPath> make_send_sendfile() { return std::make_unique<SendfileSend>(); }

}  // namespace nicperf
