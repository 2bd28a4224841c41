// nicperf-nicd's packet code: checksums and TCP segmentation, and bytes that must never be
// read out of bounds.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "nic_frames.hpp"
#include "nicd/nic_packet.hpp"

using namespace nicperf::nic;
using Bytes = std::vector<std::uint8_t>;
using namespace nic_packet_test;

TEST_CASE("nic packet: csum helpers follow RFC 1071") {
  Bytes rfc = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};  // RFC 1071 section 3
  CHECK(csum_add(0, rfc) == 0x2ddf0);
  CHECK(csum_fold(csum_add(0, rfc)) == 0xddf2);
  CHECK(csum_fold(csum_add(csum_add(0, {rfc.data(), 4}), {rfc.data() + 4, 4})) == 0xddf2);
  CHECK(csum_add(0, Bytes{0xab}) == 0xab00);
  Bytes ones(70000, 0xff);  // enough words to carry out of 32 bits in a naive sum
  CHECK(csum_fold(csum_add(0xffffffff, ones)) == 0xffff);
  CHECK(csum_fold(0x1fffe) == 0xffff);
}

TEST_CASE("nic packet: segment_tcp splits an IPv4 super-frame") {
  FrameSpec s = tcp_spec(false, 3 * 1448 + 700);
  s.tcp_options = 12;
  check_segmentation(s, 1448);
  s.vlan = true;
  s.ip_options = 4;
  s.payload = 2 * 536;  // exact multiple: no partial segment
  check_segmentation(s, 536);
}

TEST_CASE("nic packet: segment_tcp splits an IPv6 super-frame") {
  FrameSpec s = tcp_spec(true, 3 * 1428 + 1);
  s.tcp_options = 12;
  check_segmentation(s, 1428);
  s.vlan = true;
  s.payload = 100;  // shorter than one MSS: one segment with every flag
  check_segmentation(s, 1428);
}

TEST_CASE("nic packet: segment_tcp passes frames that are not TCP GSO unchanged") {
  Bytes frame = build_frame(tcp_spec(false, 300));
  FrameSpec u = tcp_spec(false, 3000);
  u.flow.proto = IPPROTO_UDP;
  Bytes udp = build_frame(u);
  VnetHdr plain{.flags = kVnetDataValid, .hdr_len = 7, .csum_start = 34};
  VnetHdr ufo{.gso_type = kGsoUdp, .gso_size = 1000};
  for (auto [h, f] : {std::pair{plain, frame}, std::pair{ufo, udp}, std::pair{plain, Bytes{}}}) {
    Bytes out = {1, 2};
    auto refs = segment_tcp(h, f, out);
    REQUIRE(refs);
    REQUIRE(refs->size() == 1);
    CHECK((*refs)[0].offset == 2);
    CHECK((*refs)[0].size == sizeof(VnetHdr) + f.size());
    CHECK(std::memcmp(&out[2], &h, sizeof h) == 0);
    CHECK(frame_at(out, (*refs)[0]) == f);
  }
}

TEST_CASE("nic packet: segment_tcp refuses malformed super-frames") {
  FrameSpec s = tcp_spec(false, 5000);
  Bytes frame = build_frame(s);
  Bytes out;
  VnetHdr h = gso_hdr(s, 1000);
  h.gso_size = 0;
  CHECK_FALSE(segment_tcp(h, frame, out));
  h = gso_hdr(s, 1000);
  h.gso_type = kGsoTcpv6;  // the frame is IPv4
  CHECK_FALSE(segment_tcp(h, frame, out));
  h = gso_hdr(s, 1000);
  h.csum_start = 20;  // the device would fold the checksum into the wrong bytes
  CHECK_FALSE(segment_tcp(h, frame, out));
  FrameSpec u = s;
  u.flow.proto = IPPROTO_UDP;
  CHECK_FALSE(segment_tcp(gso_hdr(s, 1000), build_frame(u), out));
  FrameSpec frag = s;
  frag.frag = 0x2000;
  CHECK_FALSE(segment_tcp(gso_hdr(s, 1000), build_frame(frag), out));
  CHECK_FALSE(segment_tcp(gso_hdr(s, 1000), Bytes(frame.begin(), frame.begin() + 50), out));
  FrameSpec huge = tcp_spec(false, 70000);  // a full segment's IP length would not fit 16 bits
  CHECK_FALSE(segment_tcp(gso_hdr(huge, 65535), build_frame(huge), out));
  CHECK(out.empty());
  h = gso_hdr(s, 1000);
  h.flags = 0;  // no csum fields to keep: the segments get the TCP header's
  h.csum_start = h.csum_offset = 0;
  auto refs = segment_tcp(h, frame, out);
  REQUIRE(refs);
  CHECK(refs->size() == 5);
  CHECK(hdr_at(out, refs->back()).csum_start == l4_of(s));
}

TEST_CASE("nic packet: truncated frames of every length never read out of bounds") {
  FrameSpec v4 = tcp_spec(false, 40);
  v4.vlan = true;
  v4.ip_options = 4;
  v4.tcp_options = 8;
  FrameSpec v6 = tcp_spec(true, 40);
  FrameSpec udp6 = v6;
  udp6.flow.proto = IPPROTO_UDP;
  for (const FrameSpec& s : {v4, v6, udp6}) {
    Bytes full = build_frame(s);
    for (std::size_t len = 0; len <= full.size(); ++len) {
      CAPTURE(len);
      Bytes frame(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));  // exact size
      auto t = parse_flow(frame);
      CHECK(t.has_value() == (len >= l4_of(s)));
      if (t) CHECK(t->has_ports == (len >= l4_of(s) + 4));
      poke(frame, gso_hdr(s, 16));
      poke(frame, VnetHdr{});
      poke(frame, VnetHdr{.gso_type = kGsoUdp, .gso_size = 8});
    }
  }
}

TEST_CASE("nic packet: random and mutated bytes never read out of bounds") {
  std::mt19937 rng(20240611);
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n)(rng); };
  Bytes seeds[] = {build_frame(tcp_spec(false, 64)), build_frame(tcp_spec(true, 64))};
  for (int round = 0; round < 20000; ++round) {
    Bytes frame(pick(120));
    for (auto& b : frame) b = static_cast<std::uint8_t>(pick(255));
    if (round % 2) {  // a valid frame with a few bytes changed and maybe cut short
      frame = seeds[round / 2 % 2];
      for (std::size_t k = pick(4); k > 0; --k) frame[pick(frame.size() - 1)] ^= 1 << pick(7);
      frame.resize(pick(frame.size()));
    }
    VnetHdr h{.flags = static_cast<std::uint8_t>(pick(3)),
              .gso_type = std::array<std::uint8_t, 5>{0, 1, 3, 4, 0x81}[pick(4)],
              .gso_size = static_cast<std::uint16_t>(pick(40)),
              .csum_start = static_cast<std::uint16_t>(pick(60)),
              .csum_offset = static_cast<std::uint16_t>(pick(20))};
    if (round % 3 == 0) h.csum_start = 34, h.csum_offset = 16;
    poke(frame, h);
  }
}
