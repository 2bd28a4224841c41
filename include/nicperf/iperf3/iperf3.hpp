// iperf3's control protocol, so nicperf can test against a stock iperf3 server (--iperf3).
// TCP control connection; a 37-byte cookie (36 characters from [a-z2-7] and a NUL) opens the
// control and every data connection; the server drives one-byte states; parameters and results
// travel as 4-byte big-endian length-prefixed JSON. Pure functions here; the session is in
// src/iperf3_client.cpp.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "nicperf/control/channel.hpp"
#include "nicperf/results/results.hpp"
#include "nicperf/session/session.hpp"
#include "session/side_run.hpp"

namespace nicperf::iperf3 {

enum State : std::int8_t {
  kTestStart = 1,
  kTestRunning = 2,
  kTestEnd = 4,
  kParamExchange = 9,
  kCreateStreams = 10,
  kServerTerminate = 11,
  kClientTerminate = 12,
  kExchangeResults = 13,
  kDisplayResults = 14,
  kIperfStart = 15,
  kIperfDone = 16,
  kAccessDenied = -1,
  kServerError = -2,
};

inline constexpr std::size_t kCookieSize = 37;
inline constexpr int kIeAuthTest = 142;  // i_errno after SERVER_ERROR: "test authorization failed"
// iperf3's other error numbers a server sends after SERVER_ERROR (checked against 3.12: the
// client prints its own text for each, and strerror(errno) after those that take one).
inline constexpr int kIeNoSctp = 18;       // "no SCTP support available"
inline constexpr int kIeTotalRate = 27;    // "total required bandwidth is larger than server limit"
inline constexpr int kIeBadTos = 21;       // "bad TOS value (must be between 0 and 255 ...)"
inline constexpr int kIeNewTest = 100;     // "unable to create a new test: <errno>"
inline constexpr int kIeRecvParams = 114;  // "unable to receive parameters from client"
inline constexpr int kIeSetMss = 123;      // "unable to set TCP/SCTP MSS: <errno>"
inline constexpr int kIeSetTos = 125;      // "unable to set IP TOS: <errno>"
inline constexpr int kIeSetFlow = 127;     // "unable to set IPv6 flow label"
inline constexpr int kIeProtocol = 131;    // "protocol does not exist"
inline constexpr std::size_t kMaxJson = 1u << 20;

std::string make_cookie();  // 36 characters and the NUL
// The report's remote_context when the peer is iperf3: its figures are marked as its own.
nlohmann::json peer_context();
const char* state_name(int state);
// The stream ids iperf3 gives its streams, in creation order: 1, 3, 4, 5, ...
int stream_id(int index);
int stream_index(int id);  // -1 when not an id iperf3 would give
// iperf3 opens a bidir test's P client-to-server connections first, then the P reverse ones;
// nicperf numbers them alternately. Connection order <-> nicperf stream id:
int our_stream(int connection, const TestSpec& spec);
int connection_of(int our_id, const TestSpec& spec);

// What an iperf3 client sends in PARAM_EXCHANGE for this spec (what iperf3 cannot express is
// refused before: see unsupported()).
nlohmann::json params_json(const TestSpec& spec, const std::string& version);
// Empty when iperf3 can run this spec, else which option it lacks.
std::string unsupported(const TestSpec& spec);
// Our side's results in iperf3's EXCHANGE_RESULTS shape.
nlohmann::json results_json(const SideEnd& side, const TestSpec& spec);
// The peer's results, as a SideEnd of the given direction; bounded and type-checked.
Expected<SideEnd> parse_results(const nlohmann::json& j, const TestSpec& spec, bool peer_is_client);

std::string length_prefixed(const nlohmann::json& j);
// Reads the peer's state bytes during a test, as {"type": "state", "state": n} frames for
// SideRun::run.
SideRun::ControlRead state_reader(ControlChannel& control);
// Reads one length-prefixed JSON object from an iperf3 peer (`who` names it in errors).
Expected<nlohmann::json> read_json(ControlChannel& control, double timeout_s,
                                   const std::string& who);

int run_client(const ClientOptions& opt, Reporter& reporter, Report& report);

bool is_cookie_start(std::string_view four);  // could these open an iperf3 cookie?
bool is_cookie(std::string_view bytes);       // 36 cookie characters and a NUL

// What a server session needs from the server that accepted its control connection.
struct ServerSession {
  EventLoop& loop;
  const ServerOptions& opt;
  std::ostream& out;
  std::ostream& err;
  IncomingStreams& incoming;
  bool& stop_requested;
};
// Serves one stock iperf3 client; errors end with SERVER_ERROR where the client can read it.
Status serve(ServerSession& s, ControlChannel& control, Report& report);
// The TestSpec an iperf3 client's parameters ask for, or why nicperf cannot serve it.
Expected<TestSpec> spec_from_params(const nlohmann::json& params, const SpecLimits& limits);
// What SERVER_ERROR carries when spec_from_params refused these parameters: iperf3's error
// number and an errno, so the stock client prints the reason.
struct ServerErrno {
  int i_errno;
  int sys_errno;
};
ServerErrno server_errno(const nlohmann::json& params);

}  // namespace nicperf::iperf3
