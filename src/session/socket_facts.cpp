#include "session/socket_facts.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "session/iperf3_sockopts.hpp"

namespace nicperf {
namespace {

int int_option(int fd, int level, int name) {
  int value = 0;
  socklen_t len = sizeof value;
  return getsockopt(fd, level, name, &value, &len) == 0 ? value : 0;
}

void address_text(const sockaddr_storage& a, std::string& host, int& port) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (a.ss_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(&a);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    port = ntohs(in->sin_port);
  } else if (a.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))  // a dual-stack server: show plain IPv4
      inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], buf, sizeof buf);
    else
      inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
    port = ntohs(in6->sin6_port);
  }
  host = buf;
}

}  // namespace

Status apply_socket_options(int fd, const TestSpec& spec) {
  if (spec.window > 0) {
    int w = static_cast<int>(spec.window);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &w, sizeof w) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &w, sizeof w) != 0)
      return Error{Errc::kSystem, errno_text("cannot set socket buffer size (-w)", errno)};
  }
  if (spec.fq_rate > 0) {
    // Bytes per second; the 64-bit form of the option takes rates past 34 Gbit/s.
    std::uint64_t bytes_per_s = spec.fq_rate / 8;
    if (setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &bytes_per_s, sizeof bytes_per_s) != 0)
      return Error{Errc::kSystem, errno_text("cannot set SO_MAX_PACING_RATE (--fq-rate)", errno)};
  }
  if (auto st = apply_iperf3_socket_options(fd, spec); !st) return st;
  if (uses_udp(spec)) return ok();
  if (spec.no_delay || is_rr(spec)) {
    // --rr: a request must leave at once, not wait for the previous one's ACK (Nagle).
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
      return Error{Errc::kSystem, errno_text("cannot set TCP_NODELAY (-N)", errno)};
  }
  if (!spec.congestion.empty() &&
      setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, spec.congestion.data(),
                 socklen_t(spec.congestion.size())) != 0)
    return Error{Errc::kUsage, errno_text("congestion algorithm '" + spec.congestion +
                                              "' is not available (see "
                                              "/proc/sys/net/ipv4/tcp_allowed_congestion_control)",
                                          errno)};
  return ok();
}

Status make_blocking(int fd) {
  if (int flags = fcntl(fd, F_GETFL); flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
    return Error{Errc::kSystem, errno_text("cannot make data socket blocking", errno)};
  return ok();
}

Endpoint describe_fd(int id, int fd) {
  Endpoint e;
  e.id = id;
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
    address_text(ss, e.local_host, e.local_port);
  len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
    address_text(ss, e.remote_host, e.remote_port);
  return e;
}

SocketFacts socket_facts(int fd) {
  SocketFacts f;
  f.mss = int_option(fd, IPPROTO_TCP, TCP_MAXSEG);
  f.sndbuf = int_option(fd, SOL_SOCKET, SO_SNDBUF);
  f.rcvbuf = int_option(fd, SOL_SOCKET, SO_RCVBUF);
  char cc[32] = "";
  socklen_t len = sizeof cc - 1;
  if (getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, &len) == 0) f.congestion = cc;
  return f;
}

std::optional<std::uint64_t> device_tx_drops() {
  std::FILE* f = std::fopen("/proc/net/dev", "r");
  if (!f) return std::nullopt;
  std::uint64_t sum = 0;
  char line[512];
  for (int n = 0; std::fgets(line, sizeof line, f); ++n) {
    char* colon = std::strchr(line, ':');
    if (n < 2 || !colon) continue;  // two header lines
    unsigned long long v[16] = {};
    if (std::sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
                    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10],
                    &v[11]) == 12)
      sum += v[11];  // transmit: bytes packets errs drop
  }
  std::fclose(f);
  return sum;
}

std::optional<int> unsent_bytes(int fd) {
  int queued = 0;
  if (ioctl(fd, SIOCOUTQ, &queued) != 0) return std::nullopt;
  return queued;
}

}  // namespace nicperf
