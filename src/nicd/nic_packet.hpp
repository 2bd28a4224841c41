// What the emulated NIC reads out of a frame: the virtio_net header the TAP puts in front, the
// flow tuple RSS hashes (Toeplitz, Microsoft's RSS specification), and TCP segmentation of GSO
// super-frames ("TSO in hardware" and "GRO off" delivery). Pure functions, unit-tested against
// the published RSS verification vectors and hand-built frames.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace nicperf::nic {

// struct virtio_net_hdr, declared here because <linux/virtio_net.h> does not compile as C++.
// Fields are in the host's byte order (TUNSETVNETLE is not used; x86 is little endian).
struct VnetHdr {
  std::uint8_t flags = 0;
  std::uint8_t gso_type = 0;
  std::uint16_t hdr_len = 0;
  std::uint16_t gso_size = 0;
  std::uint16_t csum_start = 0;
  std::uint16_t csum_offset = 0;
};
static_assert(sizeof(VnetHdr) == 10);
inline constexpr std::uint8_t kVnetNeedsCsum = 1, kVnetDataValid = 2;
inline constexpr std::uint8_t kGsoNone = 0, kGsoTcpv4 = 1, kGsoUdp = 3, kGsoTcpv6 = 4,
                              kGsoEcn = 0x80;

// The 40-byte key from Microsoft's RSS verification suite (what most NIC drivers default to).
inline constexpr std::array<std::uint8_t, 40> kRssDefaultKey = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};
inline constexpr std::size_t kRssTableSize = 128;

// Toeplitz hash of `input` under `key` (key must be at least input.size() + 4 bytes), bit by
// bit as the specification defines it.
std::uint32_t toeplitz(std::span<const std::uint8_t> key, std::span<const std::uint8_t> input);

// The same hash a byte at a time: the hash is linear in the input, so each byte's share depends
// only on its position and value, and is looked up (12 loads for an IPv4 flow instead of 96
// conditional XORs, about 60 ns a frame).
class ToeplitzTable {
 public:
  static constexpr std::size_t kMaxInput = 36;  // IPv6 addresses and ports
  explicit ToeplitzTable(std::span<const std::uint8_t> key);
  std::uint32_t hash(std::span<const std::uint8_t> input) const;  // input.size() <= kMaxInput

 private:
  std::array<std::array<std::uint32_t, 256>, kMaxInput> share_{};
};

struct FlowTuple {
  bool v6 = false;
  std::uint8_t proto = 0;                     // IPPROTO_TCP, IPPROTO_UDP, other
  std::array<std::uint8_t, 16> src{}, dst{};  // IPv4 uses the first 4 bytes
  std::uint16_t sport = 0, dport = 0;         // host order; 0 when !has_ports
  bool has_ports = false;                     // TCP or UDP and not a fragment
};

// The flow of an Ethernet frame (no vnet header in front); nullopt for non-IP frames (ARP...).
// Handles one 802.1Q tag and IPv6 without extension headers (others hash on addresses only).
std::optional<FlowTuple> parse_flow(std::span<const std::uint8_t> frame);
FlowTuple reversed(const FlowTuple& t);
// The RSS input of the spec: source address, destination address, then source and destination
// port when has_ports, hashed with Toeplitz under the key `table` was made for.
const ToeplitzTable& default_rss_table();  // kRssDefaultKey's
std::uint32_t rss_hash(const FlowTuple& t, const ToeplitzTable& table = default_rss_table());

// The indirection table: entry i = i % queues, as drivers fill it by default.
class RssTable {
 public:
  explicit RssTable(unsigned queues);
  unsigned queue_for(std::uint32_t hash) const { return table_[hash % kRssTableSize]; }
  unsigned queues() const { return queues_; }

 private:
  unsigned queues_;
  std::array<std::uint8_t, kRssTableSize> table_{};
};

// How many frames a frame stands for on the wire: 1, or ceil(payload / gso_size) for a GSO
// super-frame, where payload is what follows the L2+L3+L4 headers.
unsigned wire_segments(const VnetHdr& hdr, std::span<const std::uint8_t> frame);
// Bytes on the wire for those segments: each segment repeats the headers (no preamble/FCS).
std::size_t wire_bytes(const VnetHdr& hdr, std::span<const std::uint8_t> frame);

// Splits a TCP GSO super-frame (IPv4 or IPv6, gso_type kGsoTcpv4/kGsoTcpv6) into MTU frames as
// a NIC's TSO engine does: each segment gets a copy of the headers with the IPv4 total length,
// ID (+1 per segment) and header checksum, or the IPv6 payload length, fixed; TCP sequence
// advanced; FIN and PSH only on the last segment, CWR only on the first. The TCP checksum is
// left partial (the pseudo-header sum over the segment's length, as the kernel leaves it for
// CHECKSUM_PARTIAL), so every segment carries kVnetNeedsCsum with the original csum_start and
// csum_offset and gso_type kGsoNone.
// Each segment is appended to `out` as VnetHdr (10 bytes) followed by the Ethernet frame; the
// returned spans index into `out` (valid until `out` next grows). A frame that is not a TCP
// GSO super-frame is appended unchanged (one span). Returns nullopt for a malformed frame.
struct SegmentRef {
  std::size_t offset = 0, size = 0;  // into `out`, including the 10-byte VnetHdr
};
std::optional<std::vector<SegmentRef>> segment_tcp(const VnetHdr& hdr,
                                                   std::span<const std::uint8_t> frame,
                                                   std::vector<std::uint8_t>& out);

// The Internet checksum helpers the segmenter uses (RFC 1071), exposed for the tests.
std::uint32_t csum_add(std::uint32_t sum, std::span<const std::uint8_t> bytes);
std::uint16_t csum_fold(std::uint32_t sum);  // folded, not inverted

}  // namespace nicperf::nic
