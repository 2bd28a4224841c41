// Frames built byte by byte, RSS vectors and segment checks the nic packet tests share.
#pragma once

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <span>
#include <vector>

#include "nicd/nic_packet.hpp"

namespace nic_packet_test {

using namespace nicperf::nic;
using Bytes = std::vector<std::uint8_t>;

// Microsoft, "Verifying the RSS Hash Calculation", with kRssDefaultKey.
struct RssVector {
  const char* src;
  std::uint16_t sport;
  const char* dst;
  std::uint16_t dport;
  std::uint32_t addr_only, with_ports;
};
constexpr RssVector kIpv4Vectors[] = {
    {"66.9.149.187", 2794, "161.142.100.80", 1766, 0x323e8fc2, 0x51ccc178},
    {"199.92.111.2", 14230, "65.69.140.83", 4739, 0xd718262a, 0xc626b0ea},
    {"24.19.198.95", 12898, "12.22.207.184", 38024, 0xd2d0a5de, 0x5c2b394a},
    {"38.27.205.30", 48228, "209.142.163.6", 2217, 0x82989176, 0xafc7327f},
    {"153.39.163.191", 44251, "202.188.127.2", 1303, 0x5d1809c5, 0x10e828a2}};
constexpr RssVector kIpv6Vectors[] = {
    {"3ffe:2501:200:1fff::7", 2794, "3ffe:2501:200:3::1", 1766, 0x2cc18cd5, 0x40207d3d},
    {"3ffe:501:8::260:97ff:fe40:efab", 14230, "ff02::1", 4739, 0x0f0c461c, 0xdde51bbf},
    {"3ffe:1900:4545:3:200:f8ff:fe21:67cf", 44251, "fe80::200:f8ff:fe21:67cf", 38024, 0x4b61e985,
     0x02d1feef}};

inline std::span<const RssVector> vectors(bool v6) {
  if (v6) return kIpv6Vectors;
  return kIpv4Vectors;
}

constexpr std::uint8_t kFin = 0x01, kPsh = 0x08, kAck = 0x10, kCwr = 0x80;

inline std::uint16_t get16(const Bytes& b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}
inline std::uint32_t get32(const Bytes& b, std::size_t at) {
  return std::uint32_t{get16(b, at)} << 16 | get16(b, at + 2);
}
inline void put16(Bytes& b, std::size_t at, std::size_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}

// An RFC 1071 sum written independently of the library's, so the two check each other.
inline std::uint16_t ones_sum(const Bytes& b, std::size_t from, std::size_t to,
                              std::uint32_t sum = 0) {
  for (std::size_t i = from; i < to; i += 2) sum += (b[i] << 8) + (i + 1 < to ? b[i + 1] : 0);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

inline FlowTuple tuple_of(const RssVector& v, bool v6, bool ports,
                          std::uint8_t proto = IPPROTO_TCP) {
  FlowTuple t;
  t.v6 = v6;
  t.proto = proto;
  REQUIRE(inet_pton(v6 ? AF_INET6 : AF_INET, v.src, t.src.data()) == 1);
  REQUIRE(inet_pton(v6 ? AF_INET6 : AF_INET, v.dst, t.dst.data()) == 1);
  t.has_ports = ports;
  t.sport = ports ? v.sport : 0;
  t.dport = ports ? v.dport : 0;
  return t;
}

// The spec's hash input, laid out by hand rather than by rss_hash().
inline Bytes raw_input(const FlowTuple& t) {
  std::size_t n = t.v6 ? 16 : 4;
  Bytes b(t.src.begin(), t.src.begin() + n);
  b.insert(b.end(), t.dst.begin(), t.dst.begin() + n);
  if (t.has_ports) {
    b.resize(2 * n + 4);
    put16(b, 2 * n, t.sport);
    put16(b, 2 * n + 2, t.dport);
  }
  return b;
}

struct FrameSpec {
  FlowTuple flow;  // addresses, proto and ports
  bool vlan = false;
  std::size_t ip_options = 0;  // extra IPv4 header bytes, a multiple of 4
  std::uint16_t frag = 0;      // IPv4 flags and fragment offset field
  std::uint8_t v6_ext = 0;     // IPv6: put this 8-byte extension header before L4
  std::uint8_t tcp_flags = kAck;
  std::uint32_t seq = 0xfffff000;  // near the wrap, so segmenting crosses it
  std::size_t tcp_options = 0;     // a multiple of 4
  std::size_t payload = 0;
};

inline std::size_t l4_header_len(const FrameSpec& s) {
  return s.flow.proto == IPPROTO_TCP ? 20 + s.tcp_options : 8;  // UDP, ICMP: 8 bytes
}

inline void add_ipv4(Bytes& b, const FrameSpec& s) {
  std::size_t l3 = b.size(), ihl = 20 + s.ip_options;
  b.resize(l3 + ihl, 0);
  std::fill(b.begin() + static_cast<std::ptrdiff_t>(l3 + 20), b.end(), 1);  // NOP options
  b[l3] = static_cast<std::uint8_t>(0x40 | ihl / 4);
  put16(b, l3 + 2, ihl + l4_header_len(s) + s.payload);
  put16(b, l3 + 4, 0xfffe);  // the ID wraps within a few segments
  put16(b, l3 + 6, s.frag);
  b[l3 + 8] = 64;
  b[l3 + 9] = s.flow.proto;
  std::memcpy(&b[l3 + 12], s.flow.src.data(), 4);
  std::memcpy(&b[l3 + 16], s.flow.dst.data(), 4);
  put16(b, l3 + 10, static_cast<std::uint16_t>(~ones_sum(b, l3, l3 + ihl)));
}

inline void add_ipv6(Bytes& b, const FrameSpec& s) {
  std::size_t l3 = b.size(), ext = s.v6_ext ? 8 : 0;
  b.resize(l3 + 40 + ext, 0);
  b[l3] = 0x60;
  put16(b, l3 + 4, ext + l4_header_len(s) + s.payload);
  b[l3 + 6] = s.v6_ext ? s.v6_ext : s.flow.proto;
  b[l3 + 7] = 64;
  std::memcpy(&b[l3 + 8], s.flow.src.data(), 16);
  std::memcpy(&b[l3 + 24], s.flow.dst.data(), 16);
  if (ext) b[l3 + 40] = s.flow.proto;
}

inline void add_l4(Bytes& b, const FrameSpec& s) {
  std::size_t l4 = b.size();
  b.resize(l4 + l4_header_len(s), 0);
  put16(b, l4, s.flow.sport);
  put16(b, l4 + 2, s.flow.dport);
  if (s.flow.proto != IPPROTO_TCP) {
    put16(b, l4 + 4, 8 + s.payload);
    return;
  }
  for (int i = 0; i < 4; ++i) b[l4 + 4 + i] = static_cast<std::uint8_t>(s.seq >> (24 - 8 * i));
  b[l4 + 12] = static_cast<std::uint8_t>((20 + s.tcp_options) / 4 << 4);
  b[l4 + 13] = s.tcp_flags;
  put16(b, l4 + 14, 0xffff);
  put16(b, l4 + 16, 0xdead);  // whatever the sender left; the segmenter rewrites it
  std::fill(b.begin() + static_cast<std::ptrdiff_t>(l4 + 20), b.end(), 1);  // NOP options
}

inline Bytes build_frame(const FrameSpec& s) {
  // Byte by byte: GCC 12 -O2 reports a false -Warray-bounds for insert() after a 12-byte init.
  Bytes b;
  for (std::uint8_t x : {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2}) b.push_back(x);
  if (s.vlan) {
    for (std::uint8_t x : {0x81, 0x00, 0x00, 0x2a}) b.push_back(x);
  }
  b.push_back(s.flow.v6 ? 0x86 : 0x08);
  b.push_back(s.flow.v6 ? 0xdd : 0x00);
  s.flow.v6 ? add_ipv6(b, s) : add_ipv4(b, s);
  add_l4(b, s);
  for (std::size_t i = 0; i < s.payload; ++i) b.push_back(static_cast<std::uint8_t>(i % 251));
  return b;
}

inline FrameSpec tcp_spec(bool v6, std::size_t payload = 0) {
  FrameSpec s;
  s.flow = tuple_of(v6 ? kIpv6Vectors[0] : kIpv4Vectors[0], v6, true);
  s.payload = payload;
  return s;
}

inline std::size_t l3_of(const FrameSpec& s) { return s.vlan ? 18 : 14; }
inline std::size_t l4_of(const FrameSpec& s) {
  return l3_of(s) + (s.flow.v6 ? 40 + (s.v6_ext ? 8 : 0) : 20 + s.ip_options);
}

inline VnetHdr gso_hdr(const FrameSpec& s, std::uint16_t mss) {
  return VnetHdr{.flags = kVnetNeedsCsum,
                 .gso_type = s.flow.v6 ? kGsoTcpv6 : kGsoTcpv4,
                 .hdr_len = 0,  // unreliable on purpose: nothing may depend on it
                 .gso_size = mss,
                 .csum_start = static_cast<std::uint16_t>(l4_of(s)),
                 .csum_offset = 16};
}

// The pseudo-header sum of a segment's TCP checksum, read back from its IP header.
inline std::uint16_t pseudo(const Bytes& f, const FrameSpec& s, std::size_t tcp_len) {
  std::size_t addrs = l3_of(s) + (s.flow.v6 ? 8 : 12), n = s.flow.v6 ? 32 : 8;
  return ones_sum(f, addrs, addrs + n, IPPROTO_TCP + static_cast<std::uint32_t>(tcp_len));
}

// What the kernel or a NIC does for kVnetNeedsCsum: sums from csum_start to the end (over the
// pseudo-header sum left in the field) and stores the complement at csum_start + csum_offset.
inline void complete_csum(Bytes& f, const VnetHdr& h) {
  put16(f, h.csum_start + h.csum_offset,
        static_cast<std::uint16_t>(~ones_sum(f, h.csum_start, f.size())));
}

inline VnetHdr hdr_at(const Bytes& out, const SegmentRef& r) {
  VnetHdr h;
  std::memcpy(&h, &out[r.offset], sizeof h);
  return h;
}

inline Bytes frame_at(const Bytes& out, const SegmentRef& r) {
  return Bytes(out.begin() + static_cast<std::ptrdiff_t>(r.offset + sizeof(VnetHdr)),
               out.begin() + static_cast<std::ptrdiff_t>(r.offset + r.size));
}

// The IP lengths, ID and checksum, the TCP flags and the partial TCP checksum of segment i.
inline void check_segment_headers(Bytes f, const VnetHdr& h, const FrameSpec& s, std::size_t i,
                                  std::size_t n) {
  std::size_t l3 = l3_of(s), l4 = l4_of(s), tcp_len = f.size() - l4;
  if (s.flow.v6) {
    CHECK(get16(f, l3 + 4) == f.size() - l3 - 40);
  } else {
    CHECK(get16(f, l3 + 2) == f.size() - l3);
    CHECK(get16(f, l3 + 4) == ((0xfffe + i) & 0xffff));
    CHECK(ones_sum(f, l3, l4) == 0xffff);
  }
  std::uint8_t flags = f[l4 + 13];
  CHECK((flags & kAck) != 0);
  CHECK(((flags & kCwr) != 0) == (i == 0));
  CHECK(((flags & kFin) != 0) == (i + 1 == n));
  CHECK(((flags & kPsh) != 0) == (i + 1 == n));
  CHECK(get16(f, l4 + 16) == pseudo(f, s, tcp_len));
  complete_csum(f, h);
  CHECK(ones_sum(f, l4, f.size(), pseudo(f, s, tcp_len)) == 0xffff);
}

// Segments `s` as a super-frame and checks every field a TSO engine must fix.
inline void check_segmentation(FrameSpec s, std::uint16_t mss) {
  s.tcp_flags = kAck | kPsh | kFin | kCwr;
  Bytes frame = build_frame(s);
  VnetHdr h = gso_hdr(s, mss);
  Bytes out = {0xee, 0xee, 0xee};  // segments go after what `out` already holds
  auto refs = segment_tcp(h, frame, out);
  REQUIRE(refs);
  std::size_t n = (s.payload + mss - 1) / mss, headers = l4_of(s) + 20 + s.tcp_options;
  REQUIRE(refs->size() == n);
  CHECK(wire_segments(h, frame) == n);
  CHECK(out[0] == 0xee);
  Bytes payload;
  std::size_t wire = 0;
  std::uint32_t seq = s.seq;
  for (std::size_t i = 0; i < n; ++i) {
    CAPTURE(i);
    const SegmentRef& r = (*refs)[i];
    REQUIRE(r.offset + r.size <= out.size());
    VnetHdr sh = hdr_at(out, r);
    CHECK((sh.flags == kVnetNeedsCsum && sh.gso_type == kGsoNone && sh.gso_size == 0));
    CHECK((sh.csum_start == h.csum_start && sh.csum_offset == h.csum_offset));
    Bytes f = frame_at(out, r);
    REQUIRE(f.size() > headers);
    CHECK(f.size() <= headers + mss);
    CHECK(std::equal(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(l3_of(s)), frame.begin()));
    check_segment_headers(f, sh, s, i, n);
    CHECK(get32(f, l4_of(s) + 4) == seq);
    seq += static_cast<std::uint32_t>(f.size() - headers);
    CHECK(rss_hash(*parse_flow(f)) == rss_hash(*parse_flow(frame)));
    payload.insert(payload.end(), f.begin() + static_cast<std::ptrdiff_t>(headers), f.end());
    wire += f.size();
  }
  CHECK(wire_bytes(h, frame) == wire);
  CHECK(payload == Bytes(frame.begin() + static_cast<std::ptrdiff_t>(headers), frame.end()));
}

// Every entry point on one input; ASan and UBSan report any out-of-bounds read.
inline void poke(const Bytes& frame, const VnetHdr& h) {
  if (auto t = parse_flow(frame)) (void)rss_hash(*t);
  CHECK(wire_segments(h, frame) >= 1);
  CHECK(wire_bytes(h, frame) >= frame.size());
  Bytes out;
  if (auto refs = segment_tcp(h, frame, out)) {
    std::size_t total = 0;
    for (const SegmentRef& r : *refs) total += r.size;
    CHECK(total == out.size());
  } else {
    CHECK(out.empty());
  }
}

}  // namespace nic_packet_test
