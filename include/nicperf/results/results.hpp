// The one results model. Sessions fill it; every printed figure (text, JSON, JSON stream) is
// derived from it by the functions below, never computed again by a reporter.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nicperf/cost/figures.hpp"
#include "nicperf/nic/nic_dev.hpp"
#include "nicperf/nic/nic_report.hpp"
#include "nicperf/paths/send_path.hpp"
#include "nicperf/profile/profile.hpp"
#include "nicperf/spec/spec.hpp"
#include "nicperf/stream/latency.hpp"
#include "nicperf/stream/stream.hpp"
#include "nicperf/util/error.hpp"

namespace nicperf {

using Json = nlohmann::json;

// A UDP stream's datagrams as one side saw them (an interval's change, or the whole test).
struct UdpCounts {
  std::uint64_t packets = 0;  // sender: datagrams the kernel took; receiver: distinct ones received
  std::uint64_t lost = 0;     // receiver: sequence numbers missing (late arrivals taken back)
  std::uint64_t out_of_order = 0, duplicates = 0;
  double jitter_ms = 0;            // receiver: RFC 3550 jitter at the end of the span
  std::uint64_t send_drops = 0;    // sender: datagrams its own stack dropped (ENOBUFS)
  std::uint64_t socket_drops = 0;  // receiver: datagrams its socket buffer dropped (SO_MEMINFO)
  std::uint64_t fin_packets = 0;   // receiver: the count the sender's FIN datagram announced
};

// A --rr stream's transactions (client side; the server only echoes).
struct RrCounts {
  std::uint64_t transactions = 0;
  LatencyHistogram latency;  // ns per transaction, request written to response read
  // --rr -u: transactions whose request or response was lost (timed out); unset over TCP.
  std::optional<std::uint64_t> lost;
};

// One stream during one interval, as measured by the local side.
struct StreamSample {
  int id = 0;
  bool sender = false;
  double start = 0, end = 0;  // seconds since the measured start (or test start when omitted)
  std::uint64_t bytes = 0;
  std::uint32_t retransmits = 0;
  TcpSample tcp;
  bool omitted = false;
  std::optional<double> task_clock_ns;  // the stream thread's CPU time in the interval, if counted
  std::optional<UdpCounts> udp;
  std::optional<RrCounts> rr;
};

// One side's CPU during one interval: its stream threads' user and kernel time (tick-sampled
// utime/stime deltas), and the softirq and hardirq time traced on top of them where the cost
// level traces (absent otherwise). Times in ns; start/end as StreamSample's.
struct IntervalCpu {
  double start = 0, end = 0;
  double user_ns = 0, kernel_ns = 0;
  std::optional<double> softirq_ns, hardirq_ns;
};

struct IntervalRecord {
  std::vector<StreamSample> streams;
  std::optional<IntervalCpu> cpu;  // this side's, when its stream threads' times could be read
};

// One side's final figures for one stream.
struct StreamEnd {
  int id = 0;
  bool sender = false;
  std::uint64_t bytes_total = 0;    // everything moved, omitted part included
  std::uint64_t bytes_omitted = 0;  // sender: bytes moved before the omit period ended
  // An iperf3 peer reports its bytes with its own -O cut already taken out: nothing more may
  // be subtracted from them.
  bool net_of_omit = false;
  double seconds = 0;  // measured start to last byte
  std::uint32_t retransmits = 0;
  std::uint64_t max_snd_cwnd = 0, max_snd_wnd = 0;
  std::uint32_t max_rtt = 0, min_rtt = 0, mean_rtt = 0;
  PathStats path;
  std::string error;
  std::optional<UdpCounts> udp;
  std::optional<RrCounts> rr;
};

struct CpuUsage {
  bool valid = false;
  double total = 0, user = 0, system = 0;  // percent of one CPU's wall time, as iperf3
};

// The other tests a server ran while this one's streams ran (--max-tests above 1). They share
// the host's CPUs, caches and sockets, so each disturbs the others' figures.
struct Overlap {
  int tests = 0;                   // every other test whose streams ran at the same time
  std::vector<std::string> peers;  // their clients, "ADDR port N" (the first kMaxOverlapPeers)
};
inline constexpr std::size_t kMaxOverlapPeers = 32;

struct SideEnd {
  std::vector<StreamEnd> streams;
  CpuUsage cpu;
  std::string congestion;
  std::optional<SideCost> cost;
  std::optional<Overlap> overlap;  // the server's side only; absent from older servers
  // UDP senders: packets every device of this side's network namespace dropped on transmit
  // over the test (a full tap queue drops below the stack, where no socket hears of it).
  std::optional<std::uint64_t> device_tx_drops;
  std::optional<Profile> profile;  // --profile: where this side's CPU went
  // The kernel device carrying this side's data connections, over the measured window.
  std::optional<nic::NicDevView> nic_dev;
  // The side's per-interval CPU, in interval order: the server's travels to the client in the
  // results exchange (absent from older servers).
  std::vector<IntervalCpu> interval_cpu;
};

struct Endpoint {
  int id = 0;
  std::string local_host, remote_host;
  int local_port = 0, remote_port = 0;
};

struct StartInfo {
  std::string host;  // what the client connected to
  int port = 0;
  std::string cookie;
  std::int64_t timesecs = 0;
  std::vector<Endpoint> connected;
  int tcp_mss_default = 0;
  int sndbuf_actual = 0, rcvbuf_actual = 0;
};

// CI thresholds: the run fails (exit 9) when one is missed, and the JSON says which.
struct Expectations {
  std::optional<double> min_gbps;
  std::optional<double> max_cycles_per_byte;  // each side
  std::optional<double> max_cpu_s_per_gb;     // each side
  std::optional<double> max_copied_share;
  bool any() const {
    return min_gbps || max_cycles_per_byte || max_cpu_s_per_gb || max_copied_share;
  }
};

struct Threshold {
  std::string name;
  double limit = 0;
  std::optional<double> value;  // absent when it could not be measured (counts as missed)
  bool passed = false;
  std::string note;
};

struct Report {
  bool is_client = true;
  TestSpec spec;
  Json context;  // system_context()
  StartInfo start;
  std::vector<IntervalRecord> intervals;
  SideEnd local;
  std::optional<SideEnd> remote;
  Json remote_context;
  HostIdentity peer;  // the other side's process, to recognize it in interrupt attribution
  std::string server_output_text;
  Json server_output_json;
  std::optional<Error> error;
  bool interrupted = false;
  std::vector<Threshold> thresholds;
  std::optional<nic::NicStats> nic;  // --nic: nicperf-nicd's counters over the measured window
  std::string nic_error;             // why they are missing when --nic was given
  std::string extra_data;            // iperf3's --extra-data: kept as is at the JSON's top level
  std::string file;                  // -F: the file this side sent or wrote (text: "Sent ...")
};

std::vector<Threshold> check_thresholds(const Report& r, const Expectations& e);

// Derived figures.
struct Totals {
  double start = 0, end = 0, seconds = 0;
  std::uint64_t bytes = 0;
  double bits_per_second = 0;
  std::uint32_t retransmits = 0;
  bool sender = false;
  bool omitted = false;
};

// Which side sends the data: the one rule behind every "sender" and "receiver" in the figures.
// Each stream has its own sender (the client's unless -R; a --bidir test's odd streams are the
// server's). The test as a whole (the sender's and the receiver's CPU and cost, the data's
// direction through the NIC) is told by its forward group, which the client sends unless -R.
enum class Side { kClient, kServer };
inline Side other(Side s) { return s == Side::kClient ? Side::kServer : Side::kClient; }
const char* side_name(Side s);                   // "client" or "server", as the JSON says
Side data_sender(Direction direction);           // the test's forward data
Side data_sender(const TestSpec& spec);          // the same
Side data_sender(const TestSpec& spec, int id);  // stream `id`'s
Side data_receiver(const TestSpec& spec);
// The side that sends a group's data (reverse_group: a bidir test's server -> client streams).
Side group_sender(const TestSpec& spec, bool reverse_group);
Side local_side(const Report& r);
bool local_sends(const Report& r);          // this report's side sends the test's data
bool local_sends(const Report& r, int id);  // this report's side sends on stream `id`
bool local_receives_any(const Report& r);   // this report's side receives on some stream
// One side's end figures and cost, whichever side this report was made on; null when absent.
const SideEnd* side_end(const Report& r, Side s);
const SideCost* side_cost(const Report& r, Side s);
// The NIC's figures (--nic) for the direction the test's data took; null without them.
const nic::NicDirection* data_direction(const Report& r);

// Whether stream `id` belongs to the "bidir_reverse" group (server -> client in a bidir test).
bool is_reverse_group(const TestSpec& spec, int id);

Totals sample_totals(const StreamSample& s);
// Sum of the samples of one interval that belong to a group.
Totals interval_sum(const Report& r, const IntervalRecord& iv, bool reverse_group);

// The sending and receiving end of one stream, from the local and the remote side.
struct StreamPair {
  const StreamEnd* sender = nullptr;
  const StreamEnd* receiver = nullptr;
};
StreamPair stream_pair(const Report& r, int id);
Totals sender_totals(const StreamPair& p);
Totals receiver_totals(const StreamPair& p);
// sum_sent / sum_received over a group; received bytes exclude the sender's omitted bytes.
Totals sum_sent(const Report& r, bool reverse_group);
Totals sum_received(const Report& r, bool reverse_group);
std::vector<int> stream_ids(const Report& r);

// UDP figures of one stream or a group, from both ends: packets sent and received, and lost as
// sent minus received when the sender's count is known (iperf3's rule), else the gaps seen.
struct UdpTotals {
  bool valid = false;
  std::uint64_t sent = 0, received = 0, lost = 0, out_of_order = 0, duplicates = 0;
  std::uint64_t send_drops = 0, socket_drops = 0;
  std::optional<std::uint64_t> device_drops;  // udp_sum only: the sending side's devices
  double jitter_ms = 0;                       // the worst stream's
  double seconds = 0;
  double lost_share() const { return sent ? double(lost) / double(sent) : 0; }
};
UdpTotals udp_totals(const StreamPair& p);
UdpTotals udp_sum(const Report& r, bool reverse_group);
// UDP and --rr count in units of one size (a datagram, a request): bytes per unit, 0 for TCP
// streams, which have none.
double bytes_per_unit(const TestSpec& spec);
// A side's CPU ns per unit (cost per byte times the unit's size); nullopt without a unit or
// without bytes moved.
std::optional<double> cpu_ns_per_unit(const TestSpec& spec, const SideCost* cost);

// --rr: transactions and latency over every stream of the local (client) side.
std::optional<RrCounts> rr_sum(const Report& r);

// What the send and receive paths reported, summed over the streams' sending and receiving ends.
struct PathTotals {
  PathStats send, recv;
  // Share of zero-copy sends the kernel copied after all; absent when no send was zero-copy.
  std::optional<double> copied_share() const {
    if (!send.zerocopy_completions) return std::nullopt;
    return double(send.zerocopy_copied) / double(send.zerocopy_completions);
  }
  // Share of received bytes mapped, not copied; absent when no receive reported either.
  std::optional<double> mapped_share() const {
    auto all = recv.mapped_bytes + recv.copied_bytes;
    if (!all) return std::nullopt;
    return double(recv.mapped_bytes) / double(all);
  }
};
PathTotals path_totals(const Report& r);

// The client's and the server's cost, whichever side this report was made on.
const SideCost* client_cost(const Report& r);
const SideCost* server_cost(const Report& r);
// The server's overlap, whichever side this report was made on; null when the server kept none
// (an older nicperf or a stock iperf3 server).
const Overlap* server_overlap(const Report& r);

// What the receiving host spent on one --sweep-rate step, per second of the receiver's window;
// each figure absent when it was not measured.
struct ReceiverLoad {
  std::optional<double> cpu_percent;         // the receiving application's stream threads
  std::optional<double> net_rx_cpu_percent;  // the host's traced NET_RX softirq time
  std::optional<double> interrupts_per_s;    // the NIC's with --nic, else every traced hardirq
  // The host's receive path (#15): NAPI polls that used their whole budget, of all polls (with
  // napi_poll traced), and the softnet time_squeeze delta over every CPU (softnet read).
  std::optional<double> napi_budget_share;
  std::optional<std::uint64_t> time_squeeze;
};
ReceiverLoad receiver_load(const Report& r);

// Results exchange: a side's end figures travel to the peer as JSON.
Json to_json(const SideEnd& side);
Expected<SideEnd> side_from_json(const Json& j, std::size_t max_streams);

}  // namespace nicperf
