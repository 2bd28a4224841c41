// send() / recv(): the baseline datagram paths, one system call per datagram.
#include <sys/socket.h>

#include <cerrno>
#include <vector>

#include "nicperf/paths/dgram_path.hpp"
#include "paths/udp_util.hpp"

namespace nicperf {

namespace {

class WriteDgramSend final : public BatchDgramSend {
 public:
  DgramResult send(std::size_t count) override {
    for (std::size_t i = 0; i < count;) {
      if (::send(ctx_.fd, buf_.data() + i * ctx_.datagram_len, ctx_.datagram_len, 0) >= 0)
        ++i;
      else if (errno != EINTR)
        return {i, errno};
    }
    return {count, 0};
  }
};

class ReadDgramRecv final : public DgramRecvPath {
 public:
  Status open(const DgramContext& ctx) override {
    if (auto st = check_dgram_context(ctx, false); !st) return st;
    fd_ = ctx.fd;
    buf_.resize(ctx.datagram_len);
    return ok();
  }

  // A longer datagram than expected is cut to the buffer (MSG_TRUNC) and handed on as it is:
  // its length tells the stream.
  DgramResult recv(std::span<Datagram> out) override {
    if (out.empty()) return {};
    ssize_t n = ::recv(fd_, buf_.data(), buf_.size(), 0);
    if (n < 0) return {0, errno};
    out[0] = {buf_.data(), std::size_t(n)};
    return {1, 0};
  }

 private:
  int fd_ = -1;
  std::vector<char> buf_;
};

}  // namespace

std::unique_ptr<DgramSendPath> make_udp_send_write() { return std::make_unique<WriteDgramSend>(); }
std::unique_ptr<DgramRecvPath> make_udp_recv_read() { return std::make_unique<ReadDgramRecv>(); }

}  // namespace nicperf
