// Client and server sessions: the control protocol's states on each side.
//
// client                                server
//   greeting(control, cookie) ------->
//   {params, spec, output}    ------->  validate; busy/error frame or
//                             <-------  {accept, context}
//   greeting(data, cookie, i) x N --->  (on the same port)
//                             <-------  {start}
//   ... streams run; {stop} on Ctrl-C ...
//   {results, side}           ------->
//                             <-------  {results, side, server output}
#pragma once

#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

#include "nicperf/control/rsa_auth.hpp"
#include "nicperf/report/reporter.hpp"
#include "nicperf/results/results.hpp"
#include "nicperf/spec/spec.hpp"

namespace nicperf {

class EventLoop;
class SideRun;

inline constexpr int kDefaultPort = 5201;

// Deadlines, in seconds: rcv for every read (control frames, a greeting, data that stops
// flowing), snd for every control write.
struct Timeouts {
  double rcv = 10;
  double snd = 10;
};

// --cntl-ka[=IDLE/INTV/CNT]: TCP keepalive on the control connection, as iperf3 sets it;
// a 0 leaves the kernel's value.
struct KeepAlive {
  bool on = false;
  int idle = 0, interval = 0, count = 0;  // TCP_KEEPIDLE (s), TCP_KEEPINTVL (s), TCP_KEEPCNT
};

// --server-bitrate-limit RATE[/SECS]: a test asking for more, or averaging more over the last
// SECS, is ended (iperf3's IETOTALRATE).
struct BitrateLimit {
  std::uint64_t rate = 0;  // bits/s over all streams and directions, 0 = none
  double seconds = 5;      // iperf3's default averaging window
};

struct ClientOptions {
  std::string host;
  int port = kDefaultPort;
  int family = 0;  // 0, 4 or 6
  TestSpec spec;
  Format format = Format::kText;
  bool verbose = false;
  double connect_timeout = 10;  // seconds
  Timeouts timeouts;
  std::string secret;          // from --auth-file; empty = no authentication
  bool iperf3 = false;         // speak iperf3's protocol to a stock iperf3 server
  Expectations expect;         // --expect-*: CI thresholds
  std::string nic_socket;      // --nic: nicperf-nicd's control socket; empty = no NIC counters
  std::string profile_out;     // --profile-out: folded stacks go to this folder
  std::string profile_prefix;  // their file names' start (--compare: the run's paths)
  std::string nic_dev;         // --nic-dev: the kernel device to report; empty = the route's
  // --username: authenticate to an iperf3 server (--iperf3)
  Iperf3AuthClient iperf3_auth{};
  // --udp-counters-64bit: with --iperf3 -u, iperf3's 64-bit datagram sequence numbers.
  bool udp_counters_64bit = false;
  std::string extra_data;  // --extra-data: "extra_data" in the -J report, as iperf3 keeps it
  char rate_unit = 0;      // -f: the text report's rate unit (kmgtKMGT), 0 = adaptive
  std::string file;        // -F: send this file's bytes, or (-R) write what arrives to it
  // --cntl-ka: TCP keepalive on the control connection.
  KeepAlive control_keepalive;
};

// The start of a client's report: who it tests against, with what, on what machine.
void init_client_report(Report& report, const ClientOptions& opt);

// Connects every data connection of the test to `peer`, opening each with hello(id).
Status open_data_connections(EventLoop& loop, SideRun& run, const asio::ip::tcp::endpoint& peer,
                             Clock::time_point deadline, const TestSpec& spec,
                             const std::function<std::string(int id)>& hello,
                             const std::function<int(int connection)>& stream_of = nullptr);
// A client session's exit code: a failure before the test ran is reported here; a test that
// ran has reported itself and left ran_code.
int session_exit(const Status& setup, Reporter& reporter, Report& report, int ran_code);
// Ends a client's test: the error (if any), the thresholds, the report; returns the exit code.
int finish_client_report(Report& report, Reporter& reporter, const Expectations& expect,
                         const Error& error);

// Checks the thresholds into the report; returns the exit code once they are known.
int apply_expectations(Report& report, const Expectations& expect, int exit_code);

struct ServerOptions {
  int port = kDefaultPort;
  std::string bind;  // empty = every address
  int family = 0;
  bool one_off = false;
  double idle_timeout = 0;  // 0 = wait forever
  Format format = Format::kText;
  bool verbose = false;
  SpecLimits limits;
  Timeouts timeouts;
  std::string secret;  // from --auth-file; empty = every client is served
  int max_tests = 1;   // tests at a time; 1 answers "busy" during a test, as iperf3 does
  // --rsa-private-key-path: authenticate iperf3 clients the iperf3 way. Any authentication
  // option means every client must authenticate by a method configured here.
  Iperf3AuthServer iperf3_auth{};
  char rate_unit = 0;           // -f: the text report's rate unit (kmgtKMGT), 0 = adaptive
  KeepAlive control_keepalive;  // --cntl-ka
  BitrateLimit bitrate_limit;   // --server-bitrate-limit
  // -m: listen with IPPROTO_MPTCP (plain TCP clients still connect). Not the default: the
  // kernel does not flag TCP sockets accepted by an MPTCP listener as zero-copy capable, so
  // io_uring's send-zc would fail on them.
  bool mptcp = false;
  bool requires_auth() const { return !secret.empty() || iperf3_auth.enabled(); }
};
inline constexpr int kMaxTests = 64;

// Each returns the process exit code.
int run_client(const ClientOptions& opt, std::ostream& out, std::ostream& err);
// One test reported through `reporter`; `report` holds the results afterwards.
int run_client_test(const ClientOptions& opt, Reporter& reporter, Report& report);
int run_server(const ServerOptions& opt, std::ostream& out, std::ostream& err);

}  // namespace nicperf
