#include <sys/random.h>

#include <algorithm>
#include <cerrno>

#include "nicperf/iperf3/iperf3.hpp"

namespace nicperf::iperf3 {

namespace {
bool cookie_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'); }

// A UDP stream in iperf3's results: "packets" is the highest sequence number its receiver saw
// (what its sender sent), "errors" the sequence numbers missing, "jitter" in seconds.
std::uint64_t udp_packets(const StreamEnd& s) {
  if (!s.udp) return 0;
  return s.sender ? s.udp->packets + s.udp->send_drops : s.udp->packets + s.udp->lost;
}
std::uint64_t udp_errors(const StreamEnd& s) { return s.udp && !s.sender ? s.udp->lost : 0; }
double udp_jitter_s(const StreamEnd& s) {
  return s.udp && !s.sender ? s.udp->jitter_ms / 1000.0 : 0.0;
}

UdpCounts udp_of_peer(const nlohmann::json& s, bool sender) {
  UdpCounts u;
  auto packets = s.value("packets", std::uint64_t(0));
  if (sender) {
    u.packets = packets;
    return u;
  }
  u.lost = std::min(s.value("errors", std::uint64_t(0)), packets);
  u.packets = packets - u.lost;
  double jitter = s.value("jitter", 0.0);
  u.jitter_ms = jitter >= 0 && jitter < 1e6 ? jitter * 1000.0 : 0.0;
  return u;
}
}  // namespace

bool is_cookie_start(std::string_view four) {
  return four.size() == 4 && std::all_of(four.begin(), four.end(), cookie_char);
}

bool is_cookie(std::string_view bytes) {
  return bytes.size() == kCookieSize && bytes.back() == '\0' &&
         std::all_of(bytes.begin(), bytes.end() - 1, cookie_char);
}

namespace {

// -k, -M, -S, -b and --fq-rate as a stock client sends them. -k: iperf3 counts blocks over all
// streams, so k blocks of len are the byte count -n would be.
Status apply_iperf3_extras(const nlohmann::json& p, TestSpec& s) {
  std::uint64_t blocks = p.value("blockcount", std::uint64_t(0));
  if (blocks) {
    if (blocks > (1ull << 50) / std::max<std::uint64_t>(s.block_len, 1))
      return usage("-k asks for more than 1 PB");
    s.bytes = blocks * s.block_len;
  }
  s.mss = p.value("MSS", 0);
  s.tos = p.value("TOS", 0);
  s.rate = p.value("bandwidth", std::uint64_t(0));
  s.burst = p.value("burst", 0);
  s.fq_rate = p.value("fqrate", std::uint64_t(0));
  return ok();
}

}  // namespace

ServerErrno server_errno(const nlohmann::json& p) {
  if (!p.is_object()) return {kIeRecvParams, EINVAL};
  if (p.contains("sctp")) return {kIeNoSctp, 0};
  if (p.value("udp", false)) return {kIeProtocol, 0};
  int tos = p.value("TOS", 0);
  if (tos < 0 || tos > 255) return {kIeBadTos, 0};
  int mss = p.value("MSS", 0);
  if (mss != 0 && (mss < 88 || mss > 32767)) return {kIeSetMss, EINVAL};
  return {kIeNewTest, EINVAL};
}

Expected<TestSpec> spec_from_params(const nlohmann::json& p, const SpecLimits& limits) {
  try {
    if (!p.is_object()) return usage("iperf3 parameters are not a JSON object");
    bool udp = p.value("udp", false);
    if (p.contains("sctp")) return usage("nicperf serves iperf3 TCP and UDP tests only");
    TestSpec s;
    if (udp && p.value("omit", 0) != 0)
      return usage(
          "-O with -u is not served: iperf3 takes the omitted seconds' packets, losses and "
          "reordering out of its UDP counts but not their jitter, and nicperf's UDP counts have "
          "no omit window to match that; drop -O");
    if (udp) {
      s.mode = Mode::kDatagram;
      s.rate = p.value("bandwidth", std::uint64_t(0));
      s.burst = p.value("burst", 0);
      s.block_len = kDefaultUdpLen;
    }
    s.streams = p.value("parallel", 1);
    s.block_len = p.value("len", s.block_len);
    s.bytes = p.value("num", std::uint64_t(0));
    if (auto st = apply_iperf3_extras(p, s); !st) return st.error();
    int time = p.value("time", 10);
    s.duration = s.bytes ? 10 : time;
    if (!s.bytes && time == 0) return usage("-t 0 (run forever) is not supported");
    s.omit = p.value("omit", 0);
    s.direction = p.value("bidirectional", false) ? Direction::kBidir
                  : p.value("reverse", false)     ? Direction::kReverse
                                                  : Direction::kNormal;
    s.window = p.value("window", std::uint64_t(0));
    s.no_delay = p.value("nodelay", false);
    s.congestion = p.value("congestion", std::string());
    s.get_server_output = p.value("get_server_output", 0) != 0;
    s.interval = 1;
    if (auto st = validate(s, limits); !st) return st.error();
    return s;
  } catch (const nlohmann::json::exception& e) {
    return usage(std::string("iperf3 parameters are malformed: ") + e.what());
  }
}

std::string make_cookie() {
  static const char chars[] = "abcdefghijklmnopqrstuvwxyz234567";
  unsigned char raw[kCookieSize - 1];
  for (std::size_t got = 0; got < sizeof raw;) {
    ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
    if (n > 0) got += std::size_t(n);
  }
  std::string cookie;
  for (unsigned char c : raw) cookie += chars[c % 32];
  cookie += '\0';
  return cookie;
}

nlohmann::json peer_context() {
  return {{"implementation", "iperf3"},
          {"note", "remote figures are iperf3's own (its cpu_utilization and byte counts)"}};
}

const char* state_name(int state) {
  switch (state) {
    case kTestStart:
      return "TEST_START";
    case kTestRunning:
      return "TEST_RUNNING";
    case kTestEnd:
      return "TEST_END";
    case kParamExchange:
      return "PARAM_EXCHANGE";
    case kCreateStreams:
      return "CREATE_STREAMS";
    case kServerTerminate:
      return "SERVER_TERMINATE";
    case kClientTerminate:
      return "CLIENT_TERMINATE";
    case kExchangeResults:
      return "EXCHANGE_RESULTS";
    case kDisplayResults:
      return "DISPLAY_RESULTS";
    case kIperfStart:
      return "IPERF_START";
    case kIperfDone:
      return "IPERF_DONE";
    case kAccessDenied:
      return "ACCESS_DENIED";
    case kServerError:
      return "SERVER_ERROR";
    default:
      return "unknown state";
  }
}

int stream_id(int index) { return index == 0 ? 1 : index + 2; }

int our_stream(int connection, const TestSpec& spec) {
  if (spec.direction != Direction::kBidir) return connection;
  return connection < spec.streams ? 2 * connection : 2 * (connection - spec.streams) + 1;
}

int connection_of(int our_id, const TestSpec& spec) {
  if (spec.direction != Direction::kBidir) return our_id;
  return our_id % 2 == 0 ? our_id / 2 : spec.streams + our_id / 2;
}

int stream_index(int id) {
  if (id == 1) return 0;
  return id >= 3 ? id - 2 : -1;
}

std::string unsupported(const TestSpec& spec) {
  if (!spec.server_cpus.empty())
    return "a server CPU list in -A (iperf3 takes one CPU: use its -A)";
  if (spec.verify) return "--verify (an iperf3 server does not check the pattern)";
  if (spec.direction != Direction::kNormal && spec.bytes)
    return "-n with -R or --bidir (iperf3 cannot end that byte-count test cleanly; use -t)";
  return {};
}

nlohmann::json params_json(const TestSpec& spec, const std::string& version) {
  nlohmann::json j = {{is_udp(spec) ? "udp" : "tcp", true},
                      {"omit", int(spec.omit)},
                      {"time", spec.bytes ? 0 : int(spec.duration + 0.5)},
                      {"num", spec.bytes},
                      {"blockcount", 0},
                      {"parallel", spec.streams},
                      {"len", spec.block_len},
                      {"pacing_timer", 1000},
                      {"client_version", version}};
  if (spec.direction == Direction::kReverse) j["reverse"] = true;
  if (spec.direction == Direction::kBidir) j["bidirectional"] = true;
  if (spec.window) j["window"] = spec.window;
  if (spec.no_delay) j["nodelay"] = true;
  if (!spec.congestion.empty()) j["congestion"] = spec.congestion;
  if (spec.rate) j["bandwidth"] = spec.rate;
  if (spec.burst) j["burst"] = spec.burst;
  if (spec.fq_rate) j["fqrate"] = spec.fq_rate;
  if (spec.mss) j["MSS"] = spec.mss;
  if (spec.tos) j["TOS"] = spec.tos;
  if (spec.get_server_output) j["get_server_output"] = 1;
  if (spec.mptcp) j["mptcp"] = true;  // the iperf3 server listens for the streams with MPTCP
  if (spec.flowlabel) j["flowlabel"] = spec.flowlabel;
  if (is_udp(spec)) {
    j["bandwidth"] = spec.rate;
    if (spec.burst) j["burst"] = spec.burst;
  }
  return j;
}

nlohmann::json results_json(const SideEnd& side, const TestSpec& spec) {
  nlohmann::json streams = nlohmann::json::array();
  bool sender = false;
  for (const auto& s : side.streams) {
    sender = sender || s.sender;
    streams.push_back({{"id", stream_id(connection_of(s.id, spec))},
                       {"sender", s.sender ? 1 : 0},
                       {"bytes", s.bytes_total - std::min(s.bytes_omitted, s.bytes_total)},
                       {"retransmits", s.sender ? int(s.retransmits) : -1},
                       {"jitter", udp_jitter_s(s)},
                       {"errors", udp_errors(s)},
                       {"omitted_errors", 0},
                       {"packets", udp_packets(s)},
                       {"omitted_packets", 0},
                       {"start_time", 0},
                       {"end_time", s.seconds}});
  }
  return {{"cpu_util_total", side.cpu.total},   {"cpu_util_user", side.cpu.user},
          {"cpu_util_system", side.cpu.system}, {"sender_has_retransmits", sender ? 1 : 0},
          {"congestion_used", side.congestion}, {"streams", streams}};
}

Expected<SideEnd> parse_results(const nlohmann::json& j, const TestSpec& spec,
                                bool peer_is_client) {
  try {
    SideEnd side;
    side.cpu = {true, j.at("cpu_util_total").get<double>(), j.at("cpu_util_user").get<double>(),
                j.at("cpu_util_system").get<double>()};
    if (j.contains("congestion_used") && j["congestion_used"].is_string())
      side.congestion = j["congestion_used"].get<std::string>().substr(0, 32);
    const auto& streams = j.at("streams");
    if (!streams.is_array() || streams.size() > std::size_t(connection_count(spec)))
      return Error{Errc::kProtocol, "iperf3 results list more streams than the test has"};
    for (const auto& s : streams) {
      StreamEnd e;
      int connection = stream_index(s.at("id").get<int>());
      if (connection < 0 || connection >= connection_count(spec))
        return Error{Errc::kProtocol, "iperf3 results name an unknown stream id"};
      e.id = our_stream(connection, spec);
      if (e.id < 0 || e.id >= connection_count(spec))
        return Error{Errc::kProtocol, "iperf3 results name an unknown stream id"};
      e.sender = data_sender(spec, e.id) == (peer_is_client ? Side::kClient : Side::kServer);
      e.bytes_total = s.at("bytes").get<std::uint64_t>();
      e.net_of_omit = true;  // iperf3 sends its count after its own -O cut
      double start = s.value("start_time", 0.0), end = s.at("end_time").get<double>();
      e.seconds = end - start;
      int retrans = s.value("retransmits", -1);
      e.retransmits = retrans > 0 ? std::uint32_t(retrans) : 0;
      if (is_udp(spec)) e.udp = udp_of_peer(s, e.sender);
      side.streams.push_back(e);
    }
    return side;
  } catch (const nlohmann::json::exception& e) {
    return Error{Errc::kProtocol, std::string("iperf3 results are malformed: ") + e.what()};
  }
}

Expected<nlohmann::json> read_json(ControlChannel& control, double timeout_s,
                                   const std::string& who) {
  auto len = control.read_bytes(4, in_seconds(timeout_s));
  if (!len) return len.error();
  if (!*len) return Error{Errc::kTimeout, who + " sent no JSON in time"};
  const auto* p = reinterpret_cast<const unsigned char*>((*len)->data());
  std::uint32_t n =
      (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
  if (n == 0 || n > kMaxJson)
    return Error{Errc::kProtocol, who + " sent JSON with a bad length " + std::to_string(n)};
  auto body = control.read_bytes(n, in_seconds(timeout_s));
  if (!body) return body.error();
  if (!*body) return Error{Errc::kTimeout, who + "'s JSON stopped midway"};
  nlohmann::json j = nlohmann::json::parse(**body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Error{Errc::kProtocol, who + " sent JSON that is not an object"};
  return j;
}

SideRun::ControlRead state_reader(ControlChannel& control) {
  return [&control](Clock::time_point deadline,
                    const std::function<bool()>& stop) -> Expected<std::optional<nlohmann::json>> {
    auto b = control.read_bytes(1, deadline, stop);
    if (!b) return b.error();
    if (!*b) return std::optional<nlohmann::json>{};
    int state = static_cast<signed char>((**b)[0]);
    return std::optional<nlohmann::json>(nlohmann::json{{"type", "state"}, {"state", state}});
  };
}

std::string length_prefixed(const nlohmann::json& j) {
  std::string body = j.dump();
  auto n = std::uint32_t(body.size());
  std::string out{char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
  return out + body;
}

}  // namespace nicperf::iperf3
