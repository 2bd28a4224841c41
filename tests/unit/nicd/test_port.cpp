// The queue worker's port seam on the TAP side: a frame in two iovecs goes out whole and comes
// back whole, nothing is queued, and a TAP reports no device drops (its queue holds frames).
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <numeric>

#include "nicd/port.hpp"

using nicperf::nic::TapPort;

TEST_CASE("TapPort: a frame over two iovecs crosses whole, one call each way") {
  int fds[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, fds) == 0);
  TapPort out(fds[0]), in(fds[1]);
  std::array<std::uint8_t, 100> frame;
  std::iota(frame.begin(), frame.end(), 0);
  std::array<iovec, 2> parts{{{frame.data(), 30}, {frame.data() + 30, 70}}};
  CHECK(out.send(parts, frame.size()));
  out.flush();
  std::array<std::uint8_t, 64> a{}, b{};
  std::array<iovec, 2> into{{{a.data(), a.size()}, {b.data(), b.size()}}};
  CHECK(in.receive(into) == 100);
  CHECK(a[63] == 63);
  CHECK(b[0] == 64);
  CHECK(b[35] == 99);
  CHECK(in.receive(into) < 0);  // nothing more: EAGAIN, as a non-blocking tap says
  in.end_receive();
  CHECK(in.rx_dropped() == 0);
  CHECK(in.fd() == fds[1]);
  close(fds[0]);
  close(fds[1]);
}
