// Packet helpers of the emulated NIC. Frames come straight from a TAP device, so every parser
// checks a length before it reads and bad input yields nullopt (or "one plain frame"), never UB.
#include "nicd/nic_packet.hpp"

#include <netinet/in.h>  // IPPROTO_TCP, IPPROTO_UDP

#include <algorithm>
#include <bit>
#include <cstring>

namespace nicperf::nic {
namespace {

constexpr std::uint16_t kEtherIpv4 = 0x0800, kEtherIpv6 = 0x86dd, kEtherVlan = 0x8100;
constexpr std::size_t kEthLen = 14, kVlanLen = 4, kIpv4MinLen = 20, kIpv6Len = 40;
constexpr std::size_t kTcpMinLen = 20, kUdpLen = 8, kTcpCsumOffset = 16;
constexpr std::uint8_t kTcpFin = 0x01, kTcpPsh = 0x08, kTcpCwr = 0x80;

std::uint16_t load16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

std::uint32_t load32(const std::uint8_t* p) {
  return std::uint32_t{load16(p)} << 16 | load16(p + 2);
}

void store16(std::uint8_t* p, std::size_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

void store32(std::uint8_t* p, std::uint32_t v) {
  store16(p, v >> 16);
  store16(p + 2, v & 0xffff);
}

// Where an IP frame's headers sit; l3 and l4 have been checked against the frame's size.
struct IpFrame {
  bool v6 = false;
  std::size_t l3 = 0, l4 = 0;
  std::uint8_t proto = 0;
  bool fragment = false;  // only a whole datagram carries its ports where we look for them
};

std::optional<IpFrame> parse_ipv4(std::span<const std::uint8_t> f, std::size_t l3) {
  if (f.size() < l3 + kIpv4MinLen || f[l3] >> 4 != 4) return std::nullopt;
  std::size_t ihl = (f[l3] & 0x0fu) * 4;
  if (ihl < kIpv4MinLen || f.size() < l3 + ihl) return std::nullopt;
  bool fragment = (load16(&f[l3 + 6]) & 0x3fff) != 0;  // MF or a fragment offset
  return IpFrame{false, l3, l3 + ihl, f[l3 + 9], fragment};
}

std::optional<IpFrame> parse_ipv6(std::span<const std::uint8_t> f, std::size_t l3) {
  if (f.size() < l3 + kIpv6Len || f[l3] >> 4 != 6) return std::nullopt;
  // An extension header (fragment ones included) shows up as a proto that is not TCP/UDP.
  return IpFrame{true, l3, l3 + kIpv6Len, f[l3 + 6], false};
}

std::optional<IpFrame> parse_ip(std::span<const std::uint8_t> f) {
  if (f.size() < kEthLen) return std::nullopt;
  std::size_t l3 = kEthLen;
  std::uint16_t type = load16(&f[12]);
  if (type == kEtherVlan) {
    if (f.size() < kEthLen + kVlanLen) return std::nullopt;
    type = load16(&f[16]);
    l3 += kVlanLen;
  }
  if (type == kEtherIpv4) return parse_ipv4(f, l3);
  if (type == kEtherIpv6) return parse_ipv6(f, l3);
  return std::nullopt;
}

// End of the TCP (data offset honoured) or UDP header, when the frame holds all of it.
std::optional<std::size_t> l4_end(std::span<const std::uint8_t> f, const IpFrame& ip) {
  if (ip.fragment) return std::nullopt;
  if (ip.proto == IPPROTO_UDP && f.size() >= ip.l4 + kUdpLen) return ip.l4 + kUdpLen;
  if (ip.proto != IPPROTO_TCP || f.size() < ip.l4 + kTcpMinLen) return std::nullopt;
  std::size_t len = (f[ip.l4 + 12] >> 4) * 4u;
  if (len < kTcpMinLen || f.size() < ip.l4 + len) return std::nullopt;
  return ip.l4 + len;
}

std::uint8_t gso_kind(const VnetHdr& hdr) {
  return static_cast<std::uint8_t>(hdr.gso_type & ~kGsoEcn);
}

std::size_t segment_count(std::size_t payload, std::uint16_t mss) {
  return std::max<std::size_t>(1, (payload + mss - 1) / mss);
}

// A GSO super-frame split into its headers (from the frame: hdr_len is not trusted) and payload.
struct Split {
  std::size_t headers = 0, payload = 0;
};

std::optional<Split> gso_split(const VnetHdr& hdr, std::span<const std::uint8_t> frame) {
  if (gso_kind(hdr) == kGsoNone || hdr.gso_size == 0) return std::nullopt;
  auto ip = parse_ip(frame);
  auto end = ip ? l4_end(frame, *ip) : std::nullopt;
  if (!end) return std::nullopt;
  return Split{*end, frame.size() - *end};
}

struct TsoFrame {
  IpFrame ip;
  Split split;
  std::uint16_t mss = 0;
};

std::optional<TsoFrame> parse_tso(const VnetHdr& hdr, std::span<const std::uint8_t> frame) {
  auto ip = parse_ip(frame);
  if (!ip || ip->proto != IPPROTO_TCP || ip->v6 != (gso_kind(hdr) == kGsoTcpv6))
    return std::nullopt;
  auto split = gso_split(hdr, frame);
  if (!split) return std::nullopt;
  // The partial checksum goes in the TCP header; a csum_start elsewhere would have the device
  // fold it into the wrong bytes.
  bool csum_here = hdr.csum_start == ip->l4 && hdr.csum_offset == kTcpCsumOffset;
  if ((hdr.flags & kVnetNeedsCsum) && !csum_here) return std::nullopt;
  std::size_t fixed = split->headers - ip->l3 - (ip->v6 ? kIpv6Len : 0);
  if (fixed + std::min<std::size_t>(split->payload, hdr.gso_size) > 0xffff) return std::nullopt;
  return TsoFrame{*ip, *split, hdr.gso_size};
}

// The sum the kernel leaves in th->check for CHECKSUM_PARTIAL; the IPv4 form of the
// pseudo-header sums the same as IPv6's 32-bit length and 24 zero bits.
std::uint32_t pseudo_sum(const std::uint8_t* seg, const IpFrame& ip, std::size_t tcp_len) {
  std::size_t addr_len = ip.v6 ? 16 : 4;
  const std::uint8_t* src = seg + ip.l3 + (ip.v6 ? 8 : 12);
  std::uint32_t sum = csum_add(0, {src, 2 * addr_len});
  std::uint8_t tail[4] = {0, IPPROTO_TCP};
  store16(tail + 2, tcp_len);
  return csum_add(sum, tail);
}

void fix_ip(std::uint8_t* seg, const IpFrame& ip, std::size_t ip_len, std::size_t index) {
  std::uint8_t* h = seg + ip.l3;
  if (ip.v6) {
    store16(h + 4, ip_len - kIpv6Len);
    return;
  }
  store16(h + 2, ip_len);
  store16(h + 4, load16(h + 4) + index);  // wraps at 16 bits like the NIC's counter
  store16(h + 10, 0);
  store16(h + 10, static_cast<std::uint16_t>(~csum_fold(csum_add(0, {h, ip.l4 - ip.l3}))));
}

void fix_tcp(std::uint8_t* seg, const TsoFrame& t, std::size_t payload, std::size_t index,
             std::size_t count) {
  std::uint8_t* th = seg + t.ip.l4;
  store32(th + 4, load32(th + 4) + static_cast<std::uint32_t>(index * t.mss));
  if (index + 1 < count) th[13] &= ~(kTcpFin | kTcpPsh) & 0xff;
  if (index > 0) th[13] &= ~kTcpCwr & 0xff;
  std::size_t tcp_len = t.split.headers - t.ip.l4 + payload;
  store16(th + kTcpCsumOffset, csum_fold(pseudo_sum(seg, t.ip, tcp_len)));
}

std::size_t append_hdr(const VnetHdr& hdr, std::size_t frame_len, std::vector<std::uint8_t>& out) {
  std::size_t at = out.size();
  out.resize(at + sizeof(VnetHdr) + frame_len);
  std::memcpy(&out[at], &hdr, sizeof(VnetHdr));
  return at;
}

SegmentRef append_segment(const TsoFrame& t, std::span<const std::uint8_t> frame, std::size_t index,
                          std::size_t count, std::vector<std::uint8_t>& out) {
  VnetHdr vh;
  vh.flags = kVnetNeedsCsum;
  vh.csum_start = static_cast<std::uint16_t>(t.ip.l4);
  vh.csum_offset = kTcpCsumOffset;
  std::size_t first = index * t.mss;
  std::size_t payload = std::min<std::size_t>(t.mss, t.split.payload - first);
  std::size_t len = t.split.headers + payload;
  std::size_t at = append_hdr(vh, len, out);
  std::uint8_t* seg = &out[at + sizeof(VnetHdr)];
  std::memcpy(seg, frame.data(), t.split.headers);
  std::memcpy(seg + t.split.headers, frame.data() + t.split.headers + first, payload);
  fix_ip(seg, t.ip, len - t.ip.l3, index);
  fix_tcp(seg, t, payload, index, count);
  return {at, sizeof(VnetHdr) + len};
}

}  // namespace

std::uint32_t toeplitz(std::span<const std::uint8_t> key, std::span<const std::uint8_t> input) {
  // Key bits past the end of a short key count as zeros rather than being read.
  auto key_byte = [&](std::size_t i) -> std::uint32_t { return i < key.size() ? key[i] : 0; };
  std::uint32_t window = key_byte(0) << 24 | key_byte(1) << 16 | key_byte(2) << 8 | key_byte(3);
  std::uint32_t hash = 0;
  for (std::size_t i = 0; i < input.size(); ++i) {
    std::uint32_t next = key_byte(i + 4);
    for (int bit = 7; bit >= 0; --bit) {
      if ((input[i] >> bit) & 1) hash ^= window;
      window = window << 1 | ((next >> bit) & 1);
    }
  }
  return hash;
}

ToeplitzTable::ToeplitzTable(std::span<const std::uint8_t> key) {
  // A byte's share is the XOR of the shares of its set bits; one bit's share is the toeplitz()
  // of an input that is zero but for that bit.
  std::array<std::uint8_t, kMaxInput> one{};
  for (std::size_t at = 0; at < kMaxInput; ++at) {
    std::array<std::uint32_t, 8> bit_share{};
    for (int bit = 0; bit < 8; ++bit) {
      one[at] = static_cast<std::uint8_t>(1u << bit);
      bit_share[bit] = toeplitz(key, {one.data(), at + 1});
    }
    one[at] = 0;
    for (unsigned value = 1; value < 256; ++value) {
      unsigned low = value & (0u - value);  // the lowest set bit, added to a smaller value's share
      share_[at][value] = share_[at][value ^ low] ^ bit_share[std::countr_zero(low)];
    }
  }
}

std::uint32_t ToeplitzTable::hash(std::span<const std::uint8_t> input) const {
  std::uint32_t h = 0;
  std::size_t n = std::min(input.size(), kMaxInput);
  for (std::size_t i = 0; i < n; ++i) h ^= share_[i][input[i]];
  return h;
}

const ToeplitzTable& default_rss_table() {
  static const ToeplitzTable table(kRssDefaultKey);
  return table;
}

std::optional<FlowTuple> parse_flow(std::span<const std::uint8_t> frame) {
  auto ip = parse_ip(frame);
  if (!ip) return std::nullopt;
  FlowTuple t;
  t.v6 = ip->v6;
  t.proto = ip->proto;
  std::size_t addr_len = ip->v6 ? 16 : 4;
  const std::uint8_t* src = &frame[ip->l3 + (ip->v6 ? 8 : 12)];
  std::memcpy(t.src.data(), src, addr_len);
  std::memcpy(t.dst.data(), src + addr_len, addr_len);
  bool l4 = ip->proto == IPPROTO_TCP || ip->proto == IPPROTO_UDP;
  if (l4 && !ip->fragment && frame.size() >= ip->l4 + 4) {
    t.has_ports = true;
    t.sport = load16(&frame[ip->l4]);
    t.dport = load16(&frame[ip->l4 + 2]);
  }
  return t;
}

FlowTuple reversed(const FlowTuple& t) {
  FlowTuple r = t;
  std::swap(r.src, r.dst);
  std::swap(r.sport, r.dport);
  return r;
}

std::uint32_t rss_hash(const FlowTuple& t, const ToeplitzTable& table) {
  std::array<std::uint8_t, ToeplitzTable::kMaxInput> input{};
  std::size_t addr_len = t.v6 ? 16 : 4;
  std::memcpy(input.data(), t.src.data(), addr_len);
  std::memcpy(input.data() + addr_len, t.dst.data(), addr_len);
  std::size_t len = 2 * addr_len;
  if (t.has_ports) {
    store16(&input[len], t.sport);
    store16(&input[len + 2], t.dport);
    len += 4;
  }
  return table.hash({input.data(), len});
}

RssTable::RssTable(unsigned queues) : queues_(std::max(queues, 1u)) {
  for (std::size_t i = 0; i < kRssTableSize; ++i) {
    table_[i] = static_cast<std::uint8_t>(i % queues_);
  }
}

unsigned wire_segments(const VnetHdr& hdr, std::span<const std::uint8_t> frame) {
  auto split = gso_split(hdr, frame);
  return split ? static_cast<unsigned>(segment_count(split->payload, hdr.gso_size)) : 1;
}

std::size_t wire_bytes(const VnetHdr& hdr, std::span<const std::uint8_t> frame) {
  auto split = gso_split(hdr, frame);
  if (!split) return frame.size();
  return segment_count(split->payload, hdr.gso_size) * split->headers + split->payload;
}

std::optional<std::vector<SegmentRef>> segment_tcp(const VnetHdr& hdr,
                                                   std::span<const std::uint8_t> frame,
                                                   std::vector<std::uint8_t>& out) {
  std::uint8_t kind = gso_kind(hdr);
  if (kind != kGsoTcpv4 && kind != kGsoTcpv6) {
    std::size_t at = append_hdr(hdr, frame.size(), out);
    if (!frame.empty()) std::memcpy(&out[at + sizeof(VnetHdr)], frame.data(), frame.size());
    return std::vector<SegmentRef>{{at, sizeof(VnetHdr) + frame.size()}};
  }
  auto t = parse_tso(hdr, frame);
  if (!t) return std::nullopt;
  std::size_t count = segment_count(t->split.payload, t->mss);
  out.reserve(out.size() + count * (sizeof(VnetHdr) + t->split.headers) + t->split.payload);
  std::vector<SegmentRef> refs;
  refs.reserve(count);
  for (std::size_t i = 0; i < count; ++i) refs.push_back(append_segment(*t, frame, i, count, out));
  return refs;
}

std::uint32_t csum_add(std::uint32_t sum, std::span<const std::uint8_t> bytes) {
  std::uint64_t acc = sum;  // 64 bits so long inputs lose no carries before the final fold
  std::size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) acc += load16(&bytes[i]);
  if (i < bytes.size()) acc += std::uint32_t{bytes[i]} << 8;  // odd tail: padded with a zero
  while (acc >> 32) acc = (acc & 0xffffffff) + (acc >> 32);
  return static_cast<std::uint32_t>(acc);
}

std::uint16_t csum_fold(std::uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

}  // namespace nicperf::nic
