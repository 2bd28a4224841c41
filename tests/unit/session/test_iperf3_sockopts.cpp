// iperf3's socket options on real loopback sockets, read back with getsockopt.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "get_sockopt.hpp"
#include "session/iperf3_sockopts.hpp"

using namespace nicperf;

namespace {

struct Listener {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int port = 0;
  Listener() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(listen(fd, 4) == 0);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Listener() { close(fd); }
};

int connect_to(int fd, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(std::uint16_t(port));
  return connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
}

}  // namespace

TEST_CASE("-M and -S are on the socket, the peer's segments shrink to the MSS") {
  Listener l;
  TestSpec spec;
  spec.mss = 1000;
  spec.tos = 0x10;
  int c = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(apply_iperf3_socket_options(c, spec));
  REQUIRE(connect_to(c, l.port) == 0);
  int s = accept(l.fd, nullptr, nullptr);
  REQUIRE(s >= 0);
  CHECK(get_int(c, IPPROTO_IP, IP_TOS) == 0x10);
  CHECK(get_int(c, IPPROTO_TCP, TCP_MAXSEG) <= 1000);
  CHECK(get_int(s, IPPROTO_TCP, TCP_MAXSEG) <= 1000);  // the SYN advertised it
  close(c);
  close(s);
  TestSpec bad;
  bad.mss = 10;  // below the kernel's minimum
  int b = socket(AF_INET, SOCK_STREAM, 0);
  auto st = apply_iperf3_socket_options(b, bad);
  CHECK_FALSE(st);
  close(b);
}

TEST_CASE("--cport binds each connection to its port, --dont-fragment sets PMTU discovery") {
  Listener l;
  TestSpec spec;
  spec.client_port = 0;
  int probe = socket(AF_INET, SOCK_STREAM, 0);
  // A free port for the test: bind to 0 and read it back.
  sockaddr_in a{};
  a.sin_family = AF_INET;
  REQUIRE(bind(probe, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  getsockname(probe, reinterpret_cast<sockaddr*>(&a), &len);
  close(probe);
  spec.client_port = ntohs(a.sin_port) - 1;
  int c = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(bind_client_socket(c, spec, 1));
  REQUIRE(connect_to(c, l.port) == 0);
  len = sizeof a;
  getsockname(c, reinterpret_cast<sockaddr*>(&a), &len);
  CHECK(ntohs(a.sin_port) == spec.client_port + 1);
  close(c);
  spec.client_port = 65535;
  int over = socket(AF_INET, SOCK_STREAM, 0);
  CHECK_FALSE(bind_client_socket(over, spec, 1));
  close(over);
  TestSpec udp;
  udp.mode = Mode::kDatagram;
  udp.dont_fragment = true;
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(apply_iperf3_socket_options(u, udp));
  CHECK(get_int(u, IPPROTO_IP, IP_MTU_DISCOVER) == IP_PMTUDISC_DO);
  close(u);
}
