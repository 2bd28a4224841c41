// Socket facts: what a side sets on its data sockets and what it reads of them for the report
// (addresses, buffer sizes, congestion control) and of its network namespace's devices.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "nicperf/results/results.hpp"
#include "nicperf/spec/spec.hpp"
#include "nicperf/util/error.hpp"

namespace nicperf {

// Socket options a test asks for, applied to every data socket.
Status apply_socket_options(int fd, const TestSpec& spec);
// Asio leaves O_NONBLOCK on sockets it used; the stream threads block instead.
Status make_blocking(int fd);

// A connection's addresses as the report shows them.
Endpoint describe_fd(int id, int fd);
// A data socket's MSS, buffer sizes and congestion control, as the kernel set them.
struct SocketFacts {
  int mss = 0, sndbuf = 0, rcvbuf = 0;
  std::optional<std::string> congestion;  // nullopt when it cannot be read (UDP)
};
SocketFacts socket_facts(int fd);

// Transmit drops of every device in this network namespace (/proc/net/dev follows the
// thread's namespace), or nullopt when it cannot be read.
std::optional<std::uint64_t> device_tx_drops();
// Bytes written to a TCP socket the peer has not yet acknowledged (SIOCOUTQ), or nullopt.
std::optional<int> unsent_bytes(int fd);

}  // namespace nicperf
