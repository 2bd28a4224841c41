// iperf3's UDP datagram header (iperf_udp.c): the send time as 32-bit seconds and microseconds,
// then the sequence number, 32 bits or 64 with --udp-counters-64bit; all big-endian. iperf3
// numbers a stream's datagrams from 1 and sends no FIN: TEST_END on the control connection ends.
#pragma once

#include <endian.h>

#include <cstdint>
#include <cstring>

namespace nicperf {

inline constexpr std::size_t kIperf3DgramHeader32 = 12, kIperf3DgramHeader64 = 16;

inline std::size_t iperf3_dgram_header_size(int seq_bits) {
  return seq_bits == 64 ? kIperf3DgramHeader64 : kIperf3DgramHeader32;
}

inline void write_iperf3_dgram(char* at, std::uint64_t seq, std::int64_t send_ns, int seq_bits) {
  std::uint32_t sec = htobe32(std::uint32_t(send_ns / 1'000'000'000));
  std::uint32_t usec = htobe32(std::uint32_t(send_ns % 1'000'000'000 / 1000));
  std::memcpy(at, &sec, 4);
  std::memcpy(at + 4, &usec, 4);
  if (seq_bits == 64) {
    std::uint64_t s = htobe64(seq);
    std::memcpy(at + 8, &s, 8);
  } else {
    std::uint32_t s = htobe32(std::uint32_t(seq));
    std::memcpy(at + 8, &s, 4);
  }
}

// False when the datagram is too short for the header.
inline bool read_iperf3_dgram(const char* at, std::size_t len, int seq_bits, std::uint64_t& seq,
                              std::int64_t& send_ns) {
  if (len < iperf3_dgram_header_size(seq_bits)) return false;
  std::uint32_t sec, usec;
  std::memcpy(&sec, at, 4);
  std::memcpy(&usec, at + 4, 4);
  send_ns = std::int64_t(be32toh(sec)) * 1'000'000'000 + std::int64_t(be32toh(usec)) * 1000;
  if (seq_bits == 64) {
    std::uint64_t s;
    std::memcpy(&s, at + 8, 8);
    seq = be64toh(s);
  } else {
    std::uint32_t s;
    std::memcpy(&s, at + 8, 4);
    seq = be32toh(s);
  }
  return true;
}

}  // namespace nicperf
