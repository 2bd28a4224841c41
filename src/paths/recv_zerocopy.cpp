// TCP_ZEROCOPY_RECEIVE: the kernel maps whole received pages into a region mmap'd on the
// socket instead of copying them. What cannot be mapped (bytes in partial pages, small reads)
// is copied: into the copy buffer given with the call, or read() for the recv_skip_hint bytes.
// The path counts mapped and copied bytes, and the report shows both.
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>
#include <vector>

#include "nicperf/paths/registry.hpp"

namespace nicperf {
namespace {

constexpr std::size_t kRegion = 2u << 20;  // mapped per call at most
constexpr std::size_t kCopyBuffer = 64 * 1024;

class ZerocopyRecv final : public RecvPath {
 public:
  ~ZerocopyRecv() override {
    if (region_) munmap(region_, kRegion);
  }

  Status open(const PathContext& ctx) override {
    fd_ = ctx.fd;
    void* m = mmap(nullptr, kRegion, PROT_READ, MAP_SHARED, fd_, 0);
    if (m == MAP_FAILED)
      return Error{Errc::kSystem,
                   errno_text("mmap on the TCP socket (TCP_ZEROCOPY_RECEIVE)", errno)};
    region_ = static_cast<char*>(m);
    copy_.resize(kCopyBuffer);
    return ok();
  }

  IoResult recv() override {
    if (pending_copy_ > 0) return {std::exchange(pending_copy_, 0), 0, copy_.data()};
    if (skip_ > 0) return copy_skipped();
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, -1) < 0) {
        if (errno == EINTR) continue;
        return {0, errno};
      }
      tcp_zerocopy_receive zc{};
      zc.address = reinterpret_cast<std::uint64_t>(region_);
      zc.length = kRegion;
      zc.copybuf_address = reinterpret_cast<std::uint64_t>(copy_.data());
      zc.copybuf_len = int(copy_.size());
      socklen_t len = sizeof zc;
      // At the end of the stream the kernel answers EIO here; read() tells EOF from a failure.
      if (getsockopt(fd_, IPPROTO_TCP, TCP_ZEROCOPY_RECEIVE, &zc, &len) != 0) return copy_read();
      if (zc.err != 0) return {0, zc.err < 0 ? -zc.err : zc.err};
      // Stream order: the mapped bytes, then the leftover the kernel copied into the copy
      // buffer, then recv_skip_hint bytes still to be read.
      std::size_t copied = zc.copybuf_len > 0 ? std::size_t(zc.copybuf_len) : 0;
      copied_ += copied;
      skip_ = zc.recv_skip_hint;
      if (zc.length > 0) {
        mapped_ += zc.length;
        pending_copy_ = copied;
        return {zc.length, 0, region_};
      }
      if (copied > 0) return {copied, 0, copy_.data()};
      if (zc.recv_skip_hint > 0) {
        skip_ = zc.recv_skip_hint;
        return copy_skipped();
      }
      return copy_read();  // readable, nothing mapped or copied: EOF or an error
    }
  }

  PathStats stats() const override {
    PathStats s;
    s.mapped_bytes = mapped_;
    s.copied_bytes = copied_;
    return s;
  }

 private:
  IoResult copy_read() {
    ssize_t n = read(fd_, copy_.data(), copy_.size());
    if (n < 0) return {0, errno};
    copied_ += std::uint64_t(n);
    return {std::size_t(n), 0, copy_.data()};
  }

  IoResult copy_skipped() {
    ssize_t n = read(fd_, copy_.data(), std::min<std::size_t>(skip_, copy_.size()));
    if (n < 0) return {0, errno};
    skip_ -= std::min<std::size_t>(skip_, std::size_t(n));
    copied_ += std::uint64_t(n);
    return {std::size_t(n), 0, copy_.data()};
  }

  int fd_ = -1;
  char* region_ = nullptr;
  std::vector<char> copy_;
  std::size_t skip_ = 0, pending_copy_ = 0;
  std::uint64_t mapped_ = 0, copied_ = 0;
};

}  // namespace

std::string probe_recv_zerocopy() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return errno_text("socket", errno);
  tcp_zerocopy_receive zc{};
  socklen_t len = sizeof zc;
  // On an unconnected socket a kernel that knows the option says ENOTCONN (or EINVAL for the
  // empty region); one that does not says ENOPROTOOPT.
  int r = getsockopt(fd, IPPROTO_TCP, TCP_ZEROCOPY_RECEIVE, &zc, &len);
  int err = errno;
  close(fd);
  if (r != 0 && err == ENOPROTOOPT) return "this kernel lacks TCP_ZEROCOPY_RECEIVE";
  return "";
}

std::unique_ptr<RecvPath> make_recv_zerocopy() { return std::make_unique<ZerocopyRecv>(); }

}  // namespace nicperf
