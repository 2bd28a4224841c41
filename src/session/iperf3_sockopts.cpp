#include "session/iperf3_sockopts.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>

namespace nicperf {
namespace {

int family_of(int fd) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  return getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0 ? a.ss_family : AF_UNSPEC;
}

int socket_type(int fd) {
  int type = 0;
  socklen_t len = sizeof type;
  return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 ? type : 0;
}

Status set_tos(int fd, int tos) {
  if (family_of(fd) == AF_INET6) {
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos) != 0)
      return Error{Errc::kSystem, errno_text("cannot set IPV6_TCLASS (-S)", errno)};
    // A dual-stack socket may carry IPv4 (mapped addresses): that traffic takes IP_TOS.
    (void)setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
    return ok();
  }
  if (setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos) != 0)
    return Error{Errc::kSystem, errno_text("cannot set IP_TOS (-S)", errno)};
  return ok();
}

Status set_dont_fragment(int fd) {
  int v4 = IP_PMTUDISC_DO, v6 = IPV6_PMTUDISC_DO;
  int rc = family_of(fd) == AF_INET6
               ? setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v6, sizeof v6)
               : setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v4, sizeof v4);
  if (rc != 0) return Error{Errc::kSystem, errno_text("cannot set --dont-fragment", errno)};
  return ok();
}

}  // namespace

Status apply_iperf3_socket_options(int fd, const TestSpec& spec) {
  if (spec.tos)
    if (auto st = set_tos(fd, spec.tos); !st) return st;
  if (spec.dont_fragment && socket_type(fd) == SOCK_DGRAM)
    if (auto st = set_dont_fragment(fd); !st) return st;
  if (spec.mss && socket_type(fd) == SOCK_STREAM &&
      setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &spec.mss, sizeof spec.mss) != 0)
    return Error{Errc::kUsage, errno_text("cannot set TCP_MAXSEG to " + std::to_string(spec.mss) +
                                              " (-M; the kernel takes 88-32767)",
                                          errno)};
  return ok();
}

Status bind_client_socket(int fd, const TestSpec& spec, int connection) {
  if (!spec.bind_dev.empty() && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, spec.bind_dev.data(),
                                           socklen_t(spec.bind_dev.size())) != 0)
    return Error{Errc::kSystem, errno_text("cannot bind to device '" + spec.bind_dev + "'", errno)};
  if (!spec.client_port) return ok();
  int port = spec.client_port + connection;
  if (port > 65535)
    return usage("--cport " + std::to_string(spec.client_port) + " with " +
                 std::to_string(connection + 1) + " connections passes port 65535");
  int one = 1;
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage a{};
  socklen_t len;
  if (family_of(fd) == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a);
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = in6addr_any;
    in6->sin6_port = htons(std::uint16_t(port));
    len = sizeof *in6;
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&a);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_ANY);
    in->sin_port = htons(std::uint16_t(port));
    len = sizeof *in;
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0)
    return Error{
        Errc::kSystem,
        errno_text("cannot bind the client port " + std::to_string(port) + " (--cport)", errno)};
  return ok();
}

}  // namespace nicperf
