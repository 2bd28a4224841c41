// The datagram header, the helpers every udp_*.cpp path shares, and the tables of datagram
// paths (beside the byte stream paths' tables in path_registry.cpp).
#include <endian.h>

#include <array>
#include <cstring>
#include <string_view>
#include <vector>

#include "nicperf/paths/dgram_path.hpp"
#include "nicperf/paths/registry.hpp"
#include "paths/udp_util.hpp"

namespace nicperf {

namespace {

const std::array kDgramSendPaths = {
    DgramSendPathInfo{"write", "send() per datagram (one call and one copy each)", 0, probe_always,
                      make_udp_send_write},
    DgramSendPathInfo{"sendmmsg", "sendmmsg(): the whole batch in one call, still one copy each", 0,
                      probe_always, make_udp_send_mmsg},
    DgramSendPathInfo{"gso", "one sendmsg(UDP_SEGMENT) per batch; the stack or NIC cuts it up", 0,
                      probe_udp_gso, make_udp_send_gso},
    DgramSendPathInfo{"zerocopy", "sendmsg(MSG_ZEROCOPY) with UDP_SEGMENT, completions reaped",
                      kCapZeroCopy | kCapAsync, probe_udp_zerocopy, make_udp_send_zerocopy},
};

const std::array kDgramRecvPaths = {
    DgramRecvPathInfo{"read", "recv() per datagram into a user buffer", kCapDelivers, probe_always,
                      make_udp_recv_read},
    DgramRecvPathInfo{"recvmmsg", "recvmmsg(MSG_WAITFORONE): up to --batch datagrams per call",
                      kCapDelivers, probe_always, make_udp_recv_mmsg},
    DgramRecvPathInfo{"gro", "UDP_GRO: coalesced datagrams in one read, split at gso_size",
                      kCapDelivers, probe_udp_gro, make_udp_recv_gro},
};

}  // namespace

void write_dgram_header(char* at, const DgramHeader& h) {
  std::uint64_t seq = htobe64((h.seq & ~kDgramFinBit) | (h.fin ? kDgramFinBit : 0));
  std::uint64_t ns = htobe64(static_cast<std::uint64_t>(h.send_ns));
  std::memcpy(at, &seq, sizeof seq);
  std::memcpy(at + sizeof seq, &ns, sizeof ns);
}

bool read_dgram_header(const char* at, std::size_t len, DgramHeader& h) {
  if (len < kDgramHeaderSize) return false;
  std::uint64_t seq, ns;
  std::memcpy(&seq, at, sizeof seq);
  std::memcpy(&ns, at + sizeof seq, sizeof ns);
  seq = be64toh(seq);
  h.seq = seq & ~kDgramFinBit;
  h.fin = (seq & kDgramFinBit) != 0;
  h.send_ns = static_cast<std::int64_t>(be64toh(ns));
  return true;
}

Status check_dgram_context(const DgramContext& ctx, bool sends) {
  if (ctx.datagram_len < kDgramHeaderSize || ctx.datagram_len > kMaxDgramLen)
    return Error{Errc::kUsage, "datagram length " + std::to_string(ctx.datagram_len) +
                                   " is outside " + std::to_string(kDgramHeaderSize) + ".." +
                                   std::to_string(kMaxDgramLen)};
  if (ctx.batch < 1 || ctx.batch > kMaxDgramBatch)
    return Error{Errc::kUsage, "batch " + std::to_string(ctx.batch) + " is outside 1.." +
                                   std::to_string(kMaxDgramBatch)};
  if (sends && !ctx.pattern) return Error{Errc::kUsage, "a datagram send path needs a pattern"};
  return ok();
}

// `batches` runs of ctx.batch datagrams, each datagram a copy of the pattern.
std::vector<char> pattern_batches(const DgramContext& ctx, int batches) {
  std::vector<char> buf(std::size_t(batches) * std::size_t(ctx.batch) * ctx.datagram_len);
  for (std::size_t at = 0; at < buf.size(); at += ctx.datagram_len)
    std::memcpy(buf.data() + at, ctx.pattern, ctx.datagram_len);
  return buf;
}

std::string path_unavailable(const DgramSendPathInfo& info) {
  return cached_probe_answer(&info, info.name, info.probe);
}
std::string path_unavailable(const DgramRecvPathInfo& info) {
  return cached_probe_answer(&info, info.name, info.probe);
}

std::span<const DgramSendPathInfo> dgram_send_paths() { return kDgramSendPaths; }
std::span<const DgramRecvPathInfo> dgram_recv_paths() { return kDgramRecvPaths; }
const DgramSendPathInfo* find_dgram_send_path(std::string_view name) {
  return find_path(dgram_send_paths(), name);
}
const DgramRecvPathInfo* find_dgram_recv_path(std::string_view name) {
  return find_path(dgram_recv_paths(), name);
}

}  // namespace nicperf
