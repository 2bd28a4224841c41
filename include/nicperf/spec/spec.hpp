// TestSpec: everything one test is. Built by the CLI, sent to the server as JSON, validated on
// both sides with the same function.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nicperf/util/error.hpp"

namespace nicperf {

enum class Direction { kNormal, kReverse, kBidir };  // normal: the client sends

// What a stream does: a TCP byte stream, paced UDP datagrams (-u), TCP request/response (--rr),
// or UDP request/response (--rr -u: one datagram each way, a lost one timed out).
enum class Mode { kBulk, kDatagram, kRr, kUdpRr };

// What the cost collector measures; ordered, since each level falls back to the one below.
// bpf: interrupt time summed in the kernel; ring: the perf-ring tracer. full is a request only
// (the best level available: bpf, ring, counters, rusage); a side reports the level it reached.
enum class CostLevel { kOff = 0, kRusage = 1, kCounters = 2, kRing = 3, kBpf = 4, kFull = 5 };

struct TestSpec {
  Mode mode = Mode::kBulk;
  int streams = 1;
  std::uint64_t block_len = 128 * 1024;
  double duration = 10;     // seconds, used when bytes == 0
  std::uint64_t bytes = 0;  // per direction, split over the streams; 0 = run for duration
  Direction direction = Direction::kNormal;
  double interval = 1;  // 0 = no interval reports
  double omit = 0;
  std::vector<int> client_cpus;  // stream i runs on cpus[i % size]
  std::vector<int> server_cpus;
  std::uint64_t window = 0;  // SO_SNDBUF/SO_RCVBUF, 0 = kernel default
  bool no_delay = false;
  std::string congestion;  // TCP_CONGESTION, empty = default
  std::string send_mode = "write";
  std::string recv_mode = "read";
  int uring_depth = 8;                // io_uring sends per linked chain
  CostLevel cost = CostLevel::kFull;  // each side falls back from it
  bool verify = false;
  bool random_payload = false;
  bool get_server_output = false;
  // UDP (-u): per-stream pacing, and how many datagrams one system call carries.
  std::uint64_t rate = 0;     // bits/s per stream, 0 = as fast as the path goes (-b)
  int burst = 0;              // datagrams sent back to back before pacing resumes, 0 = none
  int batch = 16;             // datagrams per call for sendmmsg, gso, recvmmsg (--batch)
  std::uint64_t fq_rate = 0;  // SO_MAX_PACING_RATE in bits/s (--fq-rate), 0 = unset
  // Request/response (--rr): each transaction sends req_len bytes and waits for resp_len back.
  std::uint64_t req_len = 1, resp_len = 1;
  // --profile: each side samples where its CPU went (sent only when set, so older peers that
  // refuse unknown fields still take every other test).
  bool profile = false;
  // iperf3's socket options (-M, -S/--dscp, --dont-fragment): 0/false = leave the kernel's.
  // On the wire only when set, so a spec without them reads as before.
  int mss = 0;                 // TCP_MAXSEG
  int tos = 0;                 // IP_TOS / IPV6_TCLASS, 0-255
  bool dont_fragment = false;  // IP_PMTUDISC_DO (UDP)
  // The client's own, never sent: --cport (first local port, one per connection) and
  // --bind-dev (SO_BINDTODEVICE).
  int client_port = 0;
  std::string bind_dev;
  // Also the client's own: -m (IPPROTO_MPTCP data connections) and -L (IPv6 flow label).
  bool mptcp = false;
  int flowlabel = 0;
};

inline bool is_udp(const TestSpec& s) { return s.mode == Mode::kDatagram; }
// Request/response over either transport: the same figures, percentiles and reports.
inline bool is_rr(const TestSpec& s) { return s.mode == Mode::kRr || s.mode == Mode::kUdpRr; }
// The data travels as UDP datagrams (streams meet through the UDP rendezvous).
inline bool uses_udp(const TestSpec& s) {
  return s.mode == Mode::kDatagram || s.mode == Mode::kUdpRr;
}
inline constexpr std::uint64_t kDefaultUdpRate = 1'000'000;  // iperf3's -u default, bits/s
inline constexpr std::uint64_t kDefaultUdpLen = 1460;        // iperf3's -u default datagram

// Limits that both sides enforce; a server may lower some of them (later: --max-*).
struct SpecLimits {
  int max_streams = 128;
  std::uint64_t max_block_len = 16ull << 20;
  double max_duration = 86400;
  std::uint64_t max_bytes = 1ull << 50;
};

Status validate(const TestSpec& spec, const SpecLimits& limits = {});
nlohmann::json to_json(const TestSpec& spec);
// Type-checks every field and then validates; unknown fields are refused.
Expected<TestSpec> spec_from_json(const nlohmann::json& j, const SpecLimits& limits = {});

const char* direction_name(Direction d);

// The edges' spellings. On the wire and the command line a mode is a protocol ("tcp", "udp")
// plus the rr flag; mode_name is for messages and tests.
const char* mode_name(Mode m);  // bulk | datagram | rr | udp_rr
std::optional<Mode> parse_mode(const std::string& name);
const char* protocol_name(Mode m);  // tcp | udp
// Refuses an unknown protocol and --rr over UDP, with the usage errors validation gave.
Expected<Mode> mode_from(const std::string& protocol, bool rr);
const char* cost_level_name(CostLevel level);  // full | bpf | ring | counters | rusage | off
std::optional<CostLevel> parse_cost_level(const std::string& name);
// parse_cost_level with the usage error for an unknown name.
Expected<CostLevel> cost_level_from(const std::string& name);
// Which side sends on stream `index` (bidir: even streams client->server, odd reversed).
bool client_sends(const TestSpec& spec, int index);
// Total number of data connections (bidir doubles them, as iperf3 does).
int connection_count(const TestSpec& spec);
// Bytes stream `index` must carry when spec.bytes > 0.
std::uint64_t stream_byte_budget(const TestSpec& spec, int index);

}  // namespace nicperf
