// UDP GSO / GRO: one sendmsg() carries a batch of equal datagrams that the stack (or the NIC)
// cuts at the UDP_SEGMENT size; one recvmsg() on a UDP_GRO socket returns datagrams the stack
// coalesced, with the size to split them at in a cmsg.
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "nicperf/paths/dgram_path.hpp"
#include "paths/page_buffer.hpp"
#include "paths/udp_util.hpp"

namespace nicperf {

// Datagrams one UDP_SEGMENT send may carry: the whole send must still fit one IPv4 UDP payload.
std::size_t gso_datagrams_per_send(std::size_t datagram_len) {
  return std::clamp<std::size_t>(kMaxDgramLen / datagram_len, 1, kMaxDgramBatch);
}

// One sendmsg() of `n` contiguous datagrams of `len` bytes; a single datagram needs no cmsg.
// Returns 0 or an errno; EINTR is retried.
int send_segmented(int fd, const char* data, std::size_t n, std::size_t len, int flags) {
  iovec iov{const_cast<char*>(data), n * len};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(std::uint16_t))] = {};
  if (n > 1) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
    auto segment = static_cast<std::uint16_t>(len);  // the kernel reads a u16
    std::memcpy(CMSG_DATA(c), &segment, sizeof segment);
  }
  while (sendmsg(fd, &msg, flags) < 0)
    if (errno != EINTR) return errno;
  return 0;
}

namespace {

// --batch does not limit a GSO send: like iperf3 --gsro, each sendmsg() carries as many
// datagrams as one UDP payload and UDP_SEGMENT allow, which is what makes GSO cheap per datagram.
class GsoSend final : public BatchDgramSend {
 public:
  Status open(const DgramContext& ctx) override {
    if (auto st = check_dgram_context(ctx, true); !st) return st;
    DgramContext room = ctx;  // room() holds a whole send, and still a whole --batch
    room.batch = std::max(ctx.batch, int(gso_datagrams_per_send(ctx.datagram_len)));
    return BatchDgramSend::open(room);
  }
  std::size_t per_call(std::size_t) const override {
    return gso_datagrams_per_send(ctx_.datagram_len);
  }

  DgramResult send(std::size_t count) override {
    const std::size_t len = ctx_.datagram_len, per_send = gso_datagrams_per_send(len);
    std::size_t sent = 0;
    while (sent < count) {
      std::size_t n = std::min(per_send, count - sent);
      if (int err = send_segmented(ctx_.fd, buf_.data() + sent * len, n, len, 0))
        return {sent, err};
      sent += n;
    }
    return {sent, 0};
  }

  bool drops_whole_batch() const override { return true; }  // a super-datagram goes whole
};

class GroRecv final : public DgramRecvPath {
 public:
  Status open(const DgramContext& ctx) override {
    if (auto st = check_dgram_context(ctx, false); !st) return st;
    fd_ = ctx.fd;
    int one = 1;
    if (setsockopt(fd_, SOL_UDP, UDP_GRO, &one, sizeof one) != 0)
      return Error{Errc::kSystem, errno_text("UDP_GRO", errno)};
    if (!buf_.resize(kSuperLen)) return Error{Errc::kSystem, errno_text("GRO buffer mmap", errno)};
    return ok();
  }

  // The stack coalesces at most UDP_GRO_CNT_MAX (64) segments: offering that many slots hands a
  // whole super-datagram to the stream at once, whatever --batch says.
  std::size_t per_call(std::size_t) const override { return kMaxDgramBatch; }

  // Hands out what is left of the last super-datagram before reading the next one, so every
  // piece stays valid until the following call.
  DgramResult recv(std::span<Datagram> out) override {
    if (out.empty()) return {};
    if (pieces_ == 0)
      if (int err = read_super(); err) return {0, err};
    std::size_t k = 0;
    for (; k < out.size() && pieces_ > 0; ++k, --pieces_) {
      std::size_t n = std::min(segment_, left_);
      out[k] = {next_, n};
      next_ += n;
      left_ -= n;
    }
    return {k, 0};
  }

 private:
  static constexpr std::size_t kSuperLen = 65536;

  int read_super() {
    iovec iov{buf_.data(), buf_.size()};
    alignas(cmsghdr) char control[256];  // room for cmsgs the stream may turn on (timestamps)
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = recvmsg(fd_, &msg, 0);
    if (n < 0) return errno;
    next_ = buf_.data();
    left_ = segment_ = std::size_t(n);  // no cmsg: a datagram the stack left alone
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO) continue;
      int size = 0;
      std::memcpy(&size, CMSG_DATA(c), sizeof size);
      if (size > 0) segment_ = std::size_t(size);
    }
    // A zero-length datagram is still one datagram.
    pieces_ = left_ == 0 ? 1 : (left_ + segment_ - 1) / segment_;
    return 0;
  }

  int fd_ = -1;
  PageBuffer buf_;  // page-aligned, room for a whole 64 KiB super-datagram
  const char* next_ = nullptr;
  std::size_t left_ = 0, segment_ = 0, pieces_ = 0;
};

std::string probe_udp_option(int option, const char* name) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return errno_text("socket", errno);
  int value = option == UDP_SEGMENT ? 1000 : 1;
  int r = setsockopt(fd, SOL_UDP, option, &value, sizeof value);
  int err = errno;
  close(fd);
  return r == 0 ? "" : errno_text(std::string("the kernel refuses ") + name, err);
}

}  // namespace

std::string probe_udp_gso() { return probe_udp_option(UDP_SEGMENT, "UDP_SEGMENT"); }
std::string probe_udp_gro() { return probe_udp_option(UDP_GRO, "UDP_GRO"); }

std::unique_ptr<DgramSendPath> make_udp_send_gso() { return std::make_unique<GsoSend>(); }
std::unique_ptr<DgramRecvPath> make_udp_recv_gro() { return std::make_unique<GroRecv>(); }

}  // namespace nicperf
