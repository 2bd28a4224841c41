// iperf3's UDP streams (iperf_udp.c): each stream begins with a 4-byte connect datagram from the
// client to the server's port (the control connection's), answered by a 4-byte reply on the
// socket the server then connected to the client. The server keeps one unconnected socket on
// its port for the next stream's datagram and binds a fresh one after each.
#pragma once

#include <asio/ip/udp.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "nicperf/util/clock.hpp"
#include "nicperf/util/error.hpp"
#include "nicperf/util/unique_fd.hpp"

namespace nicperf::iperf3 {

// Written as a host-order int, as iperf3 writes them.
inline constexpr std::uint32_t kUdpConnectMsg = 0x36373839;    // "6789"
inline constexpr std::uint32_t kUdpConnectReply = 0x39383736;  // "9876"
inline constexpr std::uint32_t kLegacyUdpConnectReply = 987654321;

// The sequence number's width the parameters ask for: 64 with --udp-counters-64bit, else 32.
int udp_seq_bits(const nlohmann::json& params);

class UdpListener {
 public:
  // Binds the port the iperf3 client will send its connect datagrams to.
  Status open(const asio::ip::udp::endpoint& at);
  // The next stream's socket, connected to its client and answered; its fd, the caller's.
  Expected<int> accept(Clock::time_point deadline);

 private:
  Expected<UniqueFd> bind_one() const;
  asio::ip::udp::endpoint at_;
  UniqueFd fd_;
};

// The client's side: a socket connected to the server's port, once the server replied. In a
// reverse test the server's first datagrams may come before its reply.
Expected<int> udp_connect(const asio::ip::udp::endpoint& server, Clock::time_point deadline,
                          std::size_t block_len);

}  // namespace nicperf::iperf3
