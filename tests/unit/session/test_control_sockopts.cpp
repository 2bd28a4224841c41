// --cntl-ka, -L and -m on real sockets, read back with getsockopt; and --server-bitrate-limit's
// window on a made-up clock.
#include <doctest/doctest.h>
#include <netinet/in.h>
// After netinet/in.h: the kernel's flow label API, which glibc does not declare.
#include <linux/in6.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "get_sockopt.hpp"
#include "session/iperf3_sockopts.hpp"
#include "session/rate_limit.hpp"

using namespace nicperf;

TEST_CASE("--cntl-ka sets SO_KEEPALIVE and the values given, keeping the kernel's others") {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int kernel_count = get_int(fd, IPPROTO_TCP, TCP_KEEPCNT);
  REQUIRE(kernel_count * 4 < 60);  // the kernel default (9) leaves room for the case below
  REQUIRE(set_control_keepalive(fd, {true, 60, 4, 0}));
  CHECK(get_int(fd, SOL_SOCKET, SO_KEEPALIVE) == 1);
  CHECK(get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE) == 60);
  CHECK(get_int(fd, IPPROTO_TCP, TCP_KEEPINTVL) == 4);
  CHECK(get_int(fd, IPPROTO_TCP, TCP_KEEPCNT) == kernel_count);
  // iperf3's rule against the kernel's count: 4 s * 9 probes do not fit in 10 s of idle.
  auto st = set_control_keepalive(fd, {true, 10, 4, 0});
  CHECK_FALSE(st);
  CHECK(st.error().code == Errc::kUsage);
  close(fd);
  int off = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(set_control_keepalive(off, {}));
  CHECK(get_int(off, SOL_SOCKET, SO_KEEPALIVE) == 0);  // without the option, untouched
  close(off);
}

TEST_CASE("-L leases the flow label and puts it into the address connect() takes") {
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) {
    MESSAGE("skipping: no IPv6 sockets here");
    return;
  }
  sockaddr_in6 peer{};
  peer.sin6_family = AF_INET6;
  peer.sin6_addr = in6addr_loopback;
  REQUIRE(set_flowlabel(fd, peer, 0x12345));
  CHECK(ntohl(peer.sin6_flowinfo) == 0x12345u);
  CHECK(get_int(fd, IPPROTO_IPV6, IPV6_FLOWINFO_SEND) == 1);
  close(fd);
  int v4 = socket(AF_INET, SOCK_STREAM, 0);  // no flow labels on IPv4 sockets
  CHECK_FALSE(set_flowlabel(v4, peer, 1));
  close(v4);
}

TEST_CASE("-m's check agrees with the kernel's sysctl") {
  std::ifstream sysctl("/proc/sys/net/mptcp/enabled");
  int enabled = 0;
  bool has = bool(sysctl >> enabled);
  std::string why = mptcp_unavailable();
  CAPTURE(why);
  if (!has || enabled != 1) {
    CHECK_FALSE(why.empty());
  } else {
    CHECK(why.empty());
    int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
    CHECK(fd >= 0);
    if (fd >= 0) close(fd);
  }
}

TEST_CASE("--server-bitrate-limit: the average over the last window, once a window has passed") {
  RateWindow w({10'000'000, 2});  // 10 Mbit/s over 2 s
  auto t0 = Clock::time_point{} + std::chrono::hours(1);
  auto at = [&](double s) {
    return t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  // 2.5 MB/s = 20 Mbit/s, but not before 2 s have passed.
  std::uint64_t bytes = 0;
  for (int i = 0; i < 19; ++i, bytes += 250'000) CHECK_FALSE(w.exceeded(at(i * 0.1), bytes));
  auto over = w.exceeded(at(2.0), 5'000'000);
  REQUIRE(over);
  CHECK(*over == doctest::Approx(20e6));
  CHECK(w.error(*over).code == Errc::kRefused);
  CHECK(w.error(*over).message.find("--server-bitrate-limit") != std::string::npos);
  // A burst averaged away: 1 MB/s (8 Mbit/s) over the window is under the limit.
  RateWindow slow({10'000'000, 2});
  CHECK_FALSE(slow.exceeded(at(0), 0));
  CHECK_FALSE(slow.exceeded(at(0.5), 2'000'000));
  CHECK_FALSE(slow.exceeded(at(2.0), 2'000'000));
  CHECK_FALSE(RateWindow({}).exceeded(at(10), ~0ull));  // no limit
}

TEST_CASE("--server-bitrate-limit refuses a test asking for more, as iperf3 sums it") {
  TestSpec s;
  s.rate = 4'000'000;
  s.streams = 2;
  BitrateLimit limit{10'000'000, 5};
  CHECK(check_requested_rate(s, limit));
  s.direction = Direction::kBidir;  // 16 Mbit/s in all
  auto st = check_requested_rate(s, limit);
  REQUIRE_FALSE(st);
  CHECK(st.error().code == Errc::kRefused);
  s.direction = Direction::kNormal;
  s.fq_rate = 20'000'000;
  CHECK_FALSE(check_requested_rate(s, limit));
  CHECK(check_requested_rate(s, {}));
}
