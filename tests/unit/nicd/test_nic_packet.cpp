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

TEST_CASE("nic packet: toeplitz and rss_hash match Microsoft's RSS verification vectors") {
  for (bool v6 : {false, true}) {
    for (const RssVector& v : vectors(v6)) {
      CAPTURE(v.dst);
      CHECK(toeplitz(kRssDefaultKey, raw_input(tuple_of(v, v6, false))) == v.addr_only);
      CHECK(toeplitz(kRssDefaultKey, raw_input(tuple_of(v, v6, true))) == v.with_ports);
      CHECK(rss_hash(tuple_of(v, v6, false)) == v.addr_only);
      CHECK(rss_hash(tuple_of(v, v6, true)) == v.with_ports);
      FlowTuple r = reversed(tuple_of(v, v6, true));
      CHECK((r.dst == tuple_of(v, v6, true).src && r.sport == v.dport && r.dport == v.sport));
    }
  }
}

TEST_CASE("nic packet: toeplitz of nothing is 0 and a short key reads as zero-padded") {
  CHECK(toeplitz(kRssDefaultKey, {}) == 0);
  Bytes input(12, 0xa5);
  Bytes short_key(kRssDefaultKey.begin(), kRssDefaultKey.begin() + 9);
  Bytes padded = short_key;
  padded.resize(16, 0);
  CHECK(toeplitz(short_key, input) == toeplitz(padded, input));
  CHECK(toeplitz({}, input) == 0);
}

TEST_CASE("nic packet: the Toeplitz table hashes as the bitwise definition, any key and length") {
  std::mt19937 rng(21);
  Bytes random_key(40);
  for (auto& b : random_key) b = static_cast<std::uint8_t>(rng());
  Bytes short_key(kRssDefaultKey.begin(), kRssDefaultKey.begin() + 13);
  for (const Bytes& key :
       {Bytes(kRssDefaultKey.begin(), kRssDefaultKey.end()), random_key, short_key}) {
    ToeplitzTable table(key);
    for (std::size_t len = 0; len <= ToeplitzTable::kMaxInput; ++len) {
      for (int round = 0; round < 50; ++round) {
        Bytes input(len);
        for (auto& b : input) b = static_cast<std::uint8_t>(rng());
        if (round == 0) std::fill(input.begin(), input.end(), 0xff);
        CAPTURE(len);
        CHECK(table.hash(input) == toeplitz(key, input));
      }
    }
  }
  CHECK(default_rss_table().hash(Bytes(12, 0)) == 0);
}

TEST_CASE("nic packet: rss_hash through parse_flow on built frames matches the vectors") {
  for (bool v6 : {false, true}) {
    for (const RssVector& v : vectors(v6)) {
      CAPTURE(v.dst);
      for (std::uint8_t proto : {IPPROTO_TCP, IPPROTO_UDP}) {
        FrameSpec s{.flow = tuple_of(v, v6, true, proto), .vlan = proto == IPPROTO_UDP};
        s.ip_options = proto == IPPROTO_UDP ? 8 : 0;  // IHL 7 behind a VLAN tag
        auto t = parse_flow(build_frame(s));
        REQUIRE(t);
        CHECK(rss_hash(*t) == v.with_ports);
      }
      FrameSpec icmp{.flow = tuple_of(v, v6, false, v6 ? 58 : 1)};  // ICMPv6 or ICMP
      CHECK(rss_hash(*parse_flow(build_frame(icmp))) == v.addr_only);
      FrameSpec other{.flow = tuple_of(v, v6, true)};  // ports present but not to be used
      other.frag = 0x0010;                             // a later IPv4 fragment
      other.v6_ext = v6 ? IPPROTO_DSTOPTS : 0;
      CHECK(rss_hash(*parse_flow(build_frame(other))) == v.addr_only);
    }
  }
}

TEST_CASE("nic packet: parse_flow takes ports only from whole TCP and UDP datagrams") {
  struct Row {
    bool v6;
    std::uint8_t proto;
    std::uint16_t frag;
    std::uint8_t ext;
    bool ports;
  };
  for (Row r :
       {Row{false, IPPROTO_TCP, 0x4000, 0, true},   // DF alone is no fragment
        Row{false, IPPROTO_UDP, 0x2000, 0, false},  // MF: the first fragment
        Row{false, IPPROTO_TCP, 0x0001, 0, false},  // a later fragment
        Row{true, IPPROTO_UDP, 0, 0, true}, Row{true, IPPROTO_TCP, 0, IPPROTO_ROUTING, false},
        Row{true, IPPROTO_TCP, 0, IPPROTO_FRAGMENT, false}}) {
    CAPTURE(r.frag);
    CAPTURE(r.ext);
    FrameSpec s = tcp_spec(r.v6);
    s.flow.proto = r.proto, s.frag = r.frag, s.v6_ext = r.ext;
    auto t = parse_flow(build_frame(s));
    REQUIRE(t);
    CHECK(t->has_ports == r.ports);
    CHECK(t->sport == (r.ports ? 2794 : 0));
    CHECK(t->proto == (r.ext ? r.ext : r.proto));
    CHECK(t->dst == s.flow.dst);
  }
}

TEST_CASE("nic packet: parse_flow refuses frames that are not IP") {
  struct Mutation {
    bool v6, vlan;
    std::size_t at;
    std::uint16_t value;
  };
  for (Mutation m : {Mutation{false, false, 12, 0x0806},  // ARP
                     Mutation{false, true, 16, 0x0806},   // ARP behind a VLAN tag
                     Mutation{false, false, 14, 0x6500},  // IP version 6 in an IPv4 frame
                     Mutation{false, false, 14, 0x4400},  // IHL below 5
                     Mutation{true, false, 12, 0x0800}}) {
    CAPTURE(m.at);
    FrameSpec s = tcp_spec(m.v6);
    s.vlan = m.vlan;
    Bytes frame = build_frame(s);
    put16(frame, m.at, m.value);
    CHECK_FALSE(parse_flow(frame));
  }
  CHECK_FALSE(parse_flow({}));
}

TEST_CASE("nic packet: the rss table deals entries round robin") {
  RssTable four(4);
  CHECK(four.queues() == 4);
  for (std::uint32_t h = 0; h < 300; ++h) CHECK(four.queue_for(h) == h % 128 % 4);
  RssTable three(3);
  CHECK(three.queue_for(127) == 1);
  CHECK(three.queue_for(128) == 0);
  CHECK(three.queue_for(0xffffffff) == 127 % 3);
  RssTable none(0);  // clamped: a table must send packets somewhere
  CHECK(none.queues() == 1);
  CHECK(none.queue_for(77) == 0);
}

TEST_CASE("nic packet: wire_segments and wire_bytes count GSO segments from the frame") {
  FrameSpec s = tcp_spec(false, 3 * 1000 + 1);
  s.tcp_options = 12;
  Bytes frame = build_frame(s);
  std::size_t headers = 14 + 20 + 32;
  VnetHdr h = gso_hdr(s, 1000);
  h.hdr_len = 9;  // wrong, and must not matter
  CHECK(wire_segments(h, frame) == 4);
  CHECK(wire_bytes(h, frame) == 4 * headers + 3001);
  h.gso_size = 0;  // malformed: counts as the frame it is
  CHECK(wire_segments(h, frame) == 1);
  CHECK(wire_bytes(h, frame) == frame.size());
  CHECK(wire_segments(VnetHdr{}, frame) == 1);
  CHECK(wire_bytes(VnetHdr{}, frame) == frame.size());
  FrameSpec u = tcp_spec(true, 2 * 1400);
  u.flow.proto = IPPROTO_UDP;
  Bytes udp = build_frame(u);
  VnetHdr uh{.gso_type = kGsoUdp, .gso_size = 1400};
  CHECK(wire_segments(uh, udp) == 2);
  CHECK(wire_bytes(uh, udp) == 2 * (14 + 40 + 8) + 2800);
  CHECK(wire_segments(gso_hdr(s, 1000), build_frame(tcp_spec(false))) == 1);  // no payload
}
