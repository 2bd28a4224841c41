// sendmmsg() / recvmmsg(): a batch of datagrams per system call, each still copied.
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "nicperf/paths/dgram_path.hpp"
#include "paths/udp_util.hpp"

namespace nicperf {

namespace {

// One message per datagram of `buf`, set up once: the calls only read (send) or overwrite
// msg_len and msg_flags (receive).
class MessageVector {
 public:
  void point_at(char* buf, std::size_t datagram_len, int batch) {
    iov_.resize(std::size_t(batch));
    msgs_.assign(std::size_t(batch), mmsghdr{});
    for (std::size_t i = 0; i < iov_.size(); ++i) {
      iov_[i] = {buf + i * datagram_len, datagram_len};
      msgs_[i].msg_hdr.msg_iov = &iov_[i];
      msgs_[i].msg_hdr.msg_iovlen = 1;
    }
  }
  mmsghdr* at(std::size_t i) { return msgs_.data() + i; }

 private:
  std::vector<iovec> iov_;
  std::vector<mmsghdr> msgs_;
};

class MmsgSend final : public BatchDgramSend {
 public:
  Status open(const DgramContext& ctx) override {
    if (auto st = BatchDgramSend::open(ctx); !st) return st;
    msgs_.point_at(buf_.data(), ctx.datagram_len, ctx.batch);
    return ok();
  }

  // sendmmsg() stops at the first failing datagram and reports only those before it; the next
  // call then meets the error itself, so the rest is simply sent again.
  DgramResult send(std::size_t count) override {
    std::size_t sent = 0;
    while (sent < count) {
      int n = sendmmsg(ctx_.fd, msgs_.at(sent), unsigned(count - sent), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return {sent, errno};
      sent += std::size_t(n);
    }
    return {sent, 0};
  }

 private:
  MessageVector msgs_;
};

class MmsgRecv final : public DgramRecvPath {
 public:
  Status open(const DgramContext& ctx) override {
    if (auto st = check_dgram_context(ctx, false); !st) return st;
    fd_ = ctx.fd;
    batch_ = std::size_t(ctx.batch);
    buf_.resize(batch_ * ctx.datagram_len);
    msgs_.point_at(buf_.data(), ctx.datagram_len, ctx.batch);
    return ok();
  }

  // MSG_WAITFORONE: block (up to SO_RCVTIMEO) for the first datagram only, then take what is
  // queued; a plain recvmmsg() would wait for the whole batch.
  DgramResult recv(std::span<Datagram> out) override {
    std::size_t want = std::min(batch_, out.size());
    if (want == 0) return {};
    int n = recvmmsg(fd_, msgs_.at(0), unsigned(want), MSG_WAITFORONE, nullptr);
    if (n < 0) return {0, errno};
    for (int i = 0; i < n; ++i) {
      const mmsghdr& m = *msgs_.at(std::size_t(i));
      out[std::size_t(i)] = {static_cast<const char*>(m.msg_hdr.msg_iov->iov_base), m.msg_len};
    }
    return {std::size_t(n), 0};
  }

 private:
  int fd_ = -1;
  std::size_t batch_ = 1;
  std::vector<char> buf_;
  MessageVector msgs_;
};

}  // namespace

std::unique_ptr<DgramSendPath> make_udp_send_mmsg() { return std::make_unique<MmsgSend>(); }
std::unique_ptr<DgramRecvPath> make_udp_recv_mmsg() { return std::make_unique<MmsgRecv>(); }

}  // namespace nicperf
