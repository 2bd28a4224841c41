// Datagram paths: how a UDP stream moves its datagrams. Each path is one file in src/paths/
// (udp_*.cpp) and one line in the datagram tables in src/dgram_header.cpp, beside the byte
// stream paths of send_path.hpp and path_registry.hpp.
//
// Every datagram starts with a DgramHeader (sequence number and send time, network byte order);
// the rest is the payload pattern. A sending stream asks the path for room, stamps the headers
// there and hands the datagrams over; a receiving stream gets datagrams back one by one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "nicperf/paths/send_path.hpp"
#include "nicperf/util/error.hpp"

namespace nicperf {

inline constexpr std::size_t kDgramHeaderSize = 16;        // u64 seq, i64 send time (ns, realtime)
inline constexpr std::uint64_t kDgramFinBit = 1ull << 63;  // seq flag: the sender has finished
inline constexpr std::size_t kMaxDgramLen = 65507;         // IPv4 UDP payload limit
inline constexpr int kMaxDgramBatch = 64;                  // also UDP_MAX_SEGMENTS' floor

struct DgramHeader {
  std::uint64_t seq = 0;  // without the FIN bit
  bool fin = false;
  std::int64_t send_ns = 0;
};
void write_dgram_header(char* at, const DgramHeader& h);
// False when `len` is too short for a header.
bool read_dgram_header(const char* at, std::size_t len, DgramHeader& h);

struct DgramContext {
  int fd = -1;                    // a connected UDP socket, blocking, SO_RCVTIMEO set
  std::size_t datagram_len = 0;   // every datagram of the test has this size (-l)
  int batch = 1;                  // datagrams per call at most (--batch), 1..kMaxDgramBatch
  const char* pattern = nullptr;  // datagram_len bytes: the payload every datagram starts from
};

struct DgramResult {
  std::size_t count = 0;  // datagrams the kernel took (send) or delivered (recv)
  int err = 0;            // errno; EAGAIN on a receive timeout
};

class DgramSendPath {
 public:
  virtual ~DgramSendPath() = default;
  virtual Status open(const DgramContext& ctx) = 0;
  // Room for `batch` datagrams, datagram i at data() + i * datagram_len, each holding the
  // pattern; the stream stamps headers there and then calls send(). Zero-copy paths hand out a
  // buffer the kernel no longer holds.
  virtual char* room() = 0;
  // Sends the first `count` (<= batch, or <= per_call()) datagrams of room(); count taken may be
  // fewer.
  virtual DgramResult send(std::size_t count) = 0;
  // Datagrams the stream should hand over per send(): --batch, unless the path packs by another
  // rule (GSO fills one UDP payload whatever --batch says). room() holds at least this many.
  virtual std::size_t per_call(std::size_t batch) const { return batch; }
  // Waits for work still in flight (zero-copy completions).
  virtual DgramResult finish() { return {}; }
  // Whether ENOBUFS lost every datagram of the call not taken (one GSO super-datagram) rather
  // than just the next one.
  virtual bool drops_whole_batch() const { return false; }
  virtual PathStats stats() const { return {}; }
};

struct Datagram {
  const char* data = nullptr;
  std::size_t len = 0;
};

class DgramRecvPath {
 public:
  virtual ~DgramRecvPath() = default;
  virtual Status open(const DgramContext& ctx) = 0;
  // Blocks until datagrams arrive (or the socket's receive timeout: err = EAGAIN) and writes at
  // most out.size() of them; they stay valid until the next call. GRO paths split coalesced
  // super-datagrams back into the sender's datagrams.
  virtual DgramResult recv(std::span<Datagram> out) = 0;
  // Slots the stream should offer recv(): --batch, unless one read may hold more (GRO).
  virtual std::size_t per_call(std::size_t batch) const { return batch; }
  virtual PathStats stats() const { return {}; }
};

struct DgramSendPathInfo {
  const char* name;
  const char* summary;
  unsigned caps;  // PathCaps
  std::string (*probe)();
  std::unique_ptr<DgramSendPath> (*make)();
};

struct DgramRecvPathInfo {
  const char* name;
  const char* summary;
  unsigned caps;
  std::string (*probe)();
  std::unique_ptr<DgramRecvPath> (*make)();
};

std::span<const DgramSendPathInfo> dgram_send_paths();
std::span<const DgramRecvPathInfo> dgram_recv_paths();
const DgramSendPathInfo* find_dgram_send_path(std::string_view name);
const DgramRecvPathInfo* find_dgram_recv_path(std::string_view name);
std::string path_unavailable(const DgramSendPathInfo& info);
std::string path_unavailable(const DgramRecvPathInfo& info);

// Factories and probes, each in its path's file in src/paths/.
std::unique_ptr<DgramSendPath> make_udp_send_write();
std::unique_ptr<DgramSendPath> make_udp_send_mmsg();
std::unique_ptr<DgramSendPath> make_udp_send_gso();
std::unique_ptr<DgramSendPath> make_udp_send_zerocopy();
std::unique_ptr<DgramRecvPath> make_udp_recv_read();
std::unique_ptr<DgramRecvPath> make_udp_recv_mmsg();
std::unique_ptr<DgramRecvPath> make_udp_recv_gro();
std::string probe_udp_gso();
std::string probe_udp_gro();
std::string probe_udp_zerocopy();

}  // namespace nicperf
