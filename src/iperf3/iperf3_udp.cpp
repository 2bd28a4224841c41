#include "iperf3/iperf3_udp.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace nicperf::iperf3 {
namespace {

// iperf3 takes up to two data datagrams before the reply in a reverse test.
constexpr int kMaxEarlyDatagrams = 3;

sockaddr_storage to_sockaddr(const asio::ip::udp::endpoint& at, socklen_t& len) {
  sockaddr_storage ss{};
  len = socklen_t(at.size());
  std::memcpy(&ss, at.data(), at.size());
  return ss;
}

// Waits for fd to be readable until the deadline; false on timeout.
Expected<bool> wait_readable(int fd, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, int(std::min<long long>(left.count(), 1000)));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return Error{Errc::kSystem, errno_text("poll", errno)};
  }
}

}  // namespace

int udp_seq_bits(const nlohmann::json& params) {
  auto it = params.find("udp_counters_64bit");
  return it != params.end() && it->is_number_integer() && it->get<int>() != 0 ? 64 : 32;
}

Expected<UniqueFd> UdpListener::bind_one() const {
  UniqueFd fd(::socket(at_.protocol().family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error{Errc::kSystem, errno_text("socket", errno)};
  int one = 1;
  // iperf3 binds each stream's socket to the same port: the connected ones take their
  // client's datagrams, the unconnected one the next stream's.
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  socklen_t len = 0;
  sockaddr_storage ss = to_sockaddr(at_, len);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0)
    return Error{Errc::kSystem, errno_text("binding the iperf3 UDP port", errno)};
  return fd;
}

Status UdpListener::open(const asio::ip::udp::endpoint& at) {
  at_ = at;
  auto fd = bind_one();
  if (!fd) return fd.error();
  fd_ = std::move(*fd);
  return ok();
}

Expected<int> UdpListener::accept(Clock::time_point deadline) {
  auto ready = wait_readable(fd_.get(), deadline);
  if (!ready) return ready.error();
  if (!*ready)
    return Error{Errc::kTimeout, "the iperf3 client's UDP streams did not connect in time"};
  char buf[64];
  sockaddr_storage peer{};
  socklen_t len = sizeof peer;
  if (::recvfrom(fd_.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &len) < 0)
    return Error{Errc::kSystem, errno_text("recvfrom", errno)};
  if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&peer), len) != 0)
    return Error{Errc::kSystem, errno_text("connect", errno)};
  UniqueFd stream = std::move(fd_);
  auto next = bind_one();
  if (!next) return next.error();
  fd_ = std::move(*next);
  std::uint32_t reply = kUdpConnectReply;
  if (::send(stream.get(), &reply, sizeof reply, 0) < 0)
    return Error{Errc::kSystem, errno_text("the iperf3 UDP reply", errno)};
  return stream.release();
}

Expected<int> udp_connect(const asio::ip::udp::endpoint& server, Clock::time_point deadline,
                          std::size_t block_len) {
  UniqueFd fd(::socket(server.protocol().family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error{Errc::kSystem, errno_text("socket", errno)};
  socklen_t len = 0;
  sockaddr_storage ss = to_sockaddr(server, len);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0)
    return Error{Errc::kSystem, errno_text("connect (UDP)", errno)};
  std::uint32_t msg = kUdpConnectMsg;
  if (::send(fd.get(), &msg, sizeof msg, 0) < 0)
    return Error{Errc::kSystem, errno_text("the iperf3 UDP connect datagram", errno)};
  std::vector<char> buf(std::max<std::size_t>(block_len, 64));
  for (int i = 0; i < kMaxEarlyDatagrams; ++i) {
    auto ready = wait_readable(fd.get(), deadline);
    if (!ready) return ready.error();
    if (!*ready)
      return Error{Errc::kTimeout,
                   "the iperf3 server did not answer a UDP stream's connect datagram in time "
                   "(iperf3 sends it and its reply once, so one lost on the way ends the test: "
                   "run it again)"};
    ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0) return Error{Errc::kRefused, errno_text("the iperf3 server's UDP port", errno)};
    std::uint32_t got = 0;
    if (n == 4) std::memcpy(&got, buf.data(), 4);
    if (got == kUdpConnectReply || got == kLegacyUdpConnectReply) return fd.release();
  }
  return Error{Errc::kProtocol, "the iperf3 server's UDP reply did not come"};
}

}  // namespace nicperf::iperf3
