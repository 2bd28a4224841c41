#include "session/iperf3_sockopts.hpp"

#include <linux/in6.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
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

Status set_control_keepalive(int fd, const KeepAlive& ka) {
  if (!ka.on) return ok();
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) != 0)
    return Error{Errc::kSystem, errno_text("cannot set SO_KEEPALIVE (--cntl-ka)", errno)};
  auto kernel = [fd](int name) {
    int v = 0;
    socklen_t len = sizeof v;
    return getsockopt(fd, IPPROTO_TCP, name, &v, &len) == 0 ? v : 0;
  };
  int interval = ka.interval ? ka.interval : kernel(TCP_KEEPINTVL);
  int count = ka.count ? ka.count : kernel(TCP_KEEPCNT);
  // iperf3's rule: the probes must all fit in the idle time, or only one is ever sent.
  if (ka.idle && ka.idle <= interval * count)
    return usage("--cntl-ka: the idle time (" + std::to_string(ka.idle) +
                 " s) must be longer than the retry interval times the count (" +
                 std::to_string(interval) + " * " + std::to_string(count) + ")");
  const struct {
    int name, value;
    const char* what;
  } sets[] = {{TCP_KEEPIDLE, ka.idle, "TCP_KEEPIDLE"},
              {TCP_KEEPINTVL, ka.interval, "TCP_KEEPINTVL"},
              {TCP_KEEPCNT, ka.count, "TCP_KEEPCNT"}};
  for (const auto& s : sets)
    if (s.value && setsockopt(fd, IPPROTO_TCP, s.name, &s.value, sizeof s.value) != 0)
      return Error{Errc::kSystem,
                   errno_text(std::string("cannot set ") + s.what + " (--cntl-ka)", errno)};
  return ok();
}

std::string mptcp_unavailable() {
  std::ifstream sysctl("/proc/sys/net/mptcp/enabled");
  int enabled = 0;
  if (!(sysctl >> enabled)) return "this kernel has no MPTCP (no /proc/sys/net/mptcp/enabled)";
  if (enabled != 1) return "MPTCP is off here (sysctl net.mptcp.enabled=0)";
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_MPTCP);
  if (fd < 0) return errno_text("the kernel refuses MPTCP sockets", errno);
  close(fd);
  return {};
}

Status set_flowlabel(int fd, sockaddr_in6& peer, int label) {
  in6_flowlabel_req req{};
  req.flr_dst = peer.sin6_addr;
  req.flr_label = htonl(std::uint32_t(label) & IPV6_FLOWINFO_FLOWLABEL);
  req.flr_action = IPV6_FL_A_GET;
  req.flr_flags = IPV6_FL_F_CREATE;
  req.flr_share = IPV6_FL_S_ANY;
  if (setsockopt(fd, IPPROTO_IPV6, IPV6_FLOWLABEL_MGR, &req, sizeof req) != 0)
    return Error{
        Errc::kSystem,
        errno_text("cannot lease IPv6 flow label " + std::to_string(label) + " (-L)", errno)};
  int one = 1;
  if (setsockopt(fd, IPPROTO_IPV6, IPV6_FLOWINFO_SEND, &one, sizeof one) != 0)
    return Error{Errc::kSystem, errno_text("cannot set IPV6_FLOWINFO_SEND (-L)", errno)};
  peer.sin6_flowinfo = req.flr_label;
  return ok();
}

}  // namespace nicperf
