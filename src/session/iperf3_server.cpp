// nicperf serving a stock iperf3 client: the server's side of iperf3's states, with nicperf's
// streams, paths and cost collector. The iperf3 client decides when the test ends (TEST_END).

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <ostream>
#include <sstream>
#include <thread>

#include "iperf3/iperf3_udp.hpp"
#include "nicperf/control/rsa_auth.hpp"
#include "nicperf/iperf3/iperf3.hpp"
#include "nicperf/results/context.hpp"
#include "session/rate_limit.hpp"
#include "session/server_slots.hpp"
#include "session/side_run.hpp"

namespace nicperf::iperf3 {
namespace {

constexpr int kUdpStartDelayMs = 50;
constexpr int kRateErrorPauseMs = 200;

class Session {
 public:
  Session(ServerSession& s, ControlChannel& control, Report& report)
      : s_(s), control_(control), report_(report) {}

  Status run() {
    report_.remote_context = peer_context();
    if (auto st = send_state(kParamExchange); !st) return st;
    auto params = read_json(control_, s_.opt.timeouts.rcv, "the iperf3 client");
    if (!params) return params.error();
    if (auto st = authenticate(*params); !st) return refuse(st.error(), {kIeAuthTest, 0});
    auto spec = spec_from_params(*params, s_.opt.limits);
    if (!spec) return refuse(spec.error(), server_errno(*params));
    if (auto st = check_requested_rate(*spec, s_.opt.bitrate_limit); !st)
      return refuse(st.error(), {kIeTotalRate, 0});
    report_.spec = *spec;
    if (auto e = params->find("extra_data"); e != params->end() && e->is_string())
      report_.extra_data = *e;  // iperf3's server keeps a client's --extra-data in its -J too
    TeeReporter reporter;
    reporter.add(make_reporter(s_.opt.format, s_.out, s_.err, s_.opt.verbose, s_.opt.rate_unit));
    std::ostringstream captured;
    if (spec->get_server_output)
      reporter.add(make_reporter(Format::kText, captured, captured, false, s_.opt.rate_unit));
    SideRun run(report_, s_.loop, reporter);
    run.share_process(s_.incoming.claims);
    run.set_limits(s_.opt.timeouts.rcv, s_.opt.limits.max_duration + spec->omit);
    run.set_rate_limit(s_.opt.bitrate_limit, [this](const Error&) { tell_total_rate(); });
    if (auto st = run.prepare(); !st) return refuse(st.error());
    if (is_udp(*spec)) {
      if (auto st = collect_udp(run, udp_seq_bits(*params)); !st) return st;
    } else {
      s_.incoming.connections = connection_count(*spec);
      if (auto st = send_state(kCreateStreams); !st) return st;
      if (auto st = collect(run); !st) return st;
    }
    if (auto st = send_state(kTestStart); !st) return st;
    if (auto st = send_state(kTestRunning); !st) return st;
    // iperf3 counts a datagram only once it has read TEST_RUNNING: sent earlier, it is read
    // uncounted and its sequence number counts as lost.
    if (is_udp(*spec) && spec->direction != Direction::kNormal)
      std::this_thread::sleep_for(std::chrono::milliseconds(kUdpStartDelayMs));
    run.describe_connections();
    reporter.on_start(report_);
    OverlapSpan overlap(s_.incoming);
    run.start();
    return run_and_exchange(run, reporter, overlap, captured);
  }

 private:
  Status send_state(int state) {
    char b = char(state);
    return control_.write_raw({&b, 1}, in_seconds(s_.opt.timeouts.snd));
  }

  // With --rsa-private-key-path, the client's "authtoken" must decrypt to a users file entry
  // with a fresh timestamp, as a stock iperf3 server checks it.
  Status authenticate(const nlohmann::json& params) {
    const auto& auth = s_.opt.iperf3_auth;
    if (!auth.enabled()) return ok();
    auto token = params.find("authtoken");
    if (token == params.end() || !token->is_string())
      return Error{Errc::kAccessDenied,
                   "authentication failed: the iperf3 client sent no authtoken (iperf3 -c needs "
                   "--username and --rsa-public-key-path)"};
    auto user = authenticate_token(auth, token->get<std::string>(), iperf3_now());
    if (!user) return Error{Errc::kAccessDenied, "authentication failed: " + user.error().message};
    if (s_.opt.verbose) log("iperf3 client authenticated as user '" + *user + "'");
    return ok();
  }

  void log(const std::string& line) { server_log(s_.opt, s_.out, s_.err, line); }

  // SERVER_ERROR and iperf3's two error numbers: the client prints its own message for them
  // (100 is of the IECTRLREAD class; 142, IEAUTHTEST, is "test authorization failed").
  Status refuse(const Error& e, int i_errno = kIeNewTest) {
    return refuse(e, {i_errno, e.code == Errc::kUsage ? EINVAL : EIO});
  }
  Status refuse(const Error& e, ServerErrno code) {
    auto be = [](int v) { return std::uint32_t(v); };
    std::uint32_t ie = be(code.i_errno), en = be(code.sys_errno);
    char msg[9] = {char(kServerError), char(ie >> 24), char(ie >> 16), char(ie >> 8), char(ie),
                   char(en >> 24),     char(en >> 16), char(en >> 8),  char(en)};
    (void)control_.write_raw({msg, sizeof msg}, in_seconds(s_.opt.timeouts.snd));
    return e;
  }

  // iperf3's server ends a test above --server-bitrate-limit with SERVER_ERROR, IETOTALRATE
  // and errno 0, then closes the streams. From inside the run loop, so written straight into
  // the socket (9 bytes fit its buffer); the pause lets the client, which looks at its control
  // connection between sends, read it before a send fails on a closed stream.
  void tell_total_rate() {
    std::uint32_t ie = kIeTotalRate;
    char msg[9] = {
        char(kServerError), char(ie >> 24), char(ie >> 16), char(ie >> 8), char(ie), 0, 0, 0, 0};
    (void)::send(control_.socket().native_handle(), msg, sizeof msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    std::this_thread::sleep_for(std::chrono::milliseconds(kRateErrorPauseMs));
  }

  // Data connections arrive through the acceptor; a control byte meanwhile means trouble.
  Status collect(SideRun& run) {
    auto deadline = in_seconds(s_.opt.timeouts.rcv);
    IncomingStreams& in_ = s_.incoming;
    while (int(run.stream_count()) < in_.connections) {
      auto b = control_.read_bytes(1, deadline, [&] { return !in_.arrived.empty(); });
      if (!b) return b.error();
      if (*b)
        return Error{Errc::kProtocol, "the iperf3 client sent a state while its streams connected"};
      if (in_.arrived.empty())
        return Error{Errc::kTimeout, "the iperf3 client's data connections did not arrive in time"};
      auto [id, sock] = std::move(in_.arrived.front());
      in_.arrived.pop_front();
      ++in_.accepted;
      if (auto st = run.add_stream(our_stream(id, report_.spec), sock.release()); !st) return st;
    }
    return ok();
  }

  // UDP streams come as connect datagrams to the control connection's port, one at a time.
  Status collect_udp(SideRun& run, int seq_bits) {
    run.set_iperf3_udp(seq_bits);
    auto local = control_.socket().local_endpoint();
    auto address = local.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped())
      address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    UdpListener listener;
    if (auto st = listener.open({address, local.port()}); !st) return refuse(st.error());
    if (auto st = send_state(kCreateStreams); !st) return st;
    auto deadline = in_seconds(s_.opt.timeouts.rcv);
    for (int i = 0; i < connection_count(report_.spec); ++i) {
      auto fd = listener.accept(deadline);
      if (!fd) return fd.error();
      if (auto st = run.add_stream(our_stream(i, report_.spec), *fd); !st) return st;
    }
    return ok();
  }

  Status run_and_exchange(SideRun& run, Reporter& reporter, OverlapSpan& overlap,
                          std::ostringstream& captured) {
    bool test_end = false;
    auto read = state_reader(control_);
    auto on_frame = [&](const Json& f) -> Status {
      int state = f["state"];
      if (state == kTestEnd) {
        test_end = true;
        run.stop_senders();
        return ok();
      }
      return Error{Errc::kTestFailed,
                   std::string("the iperf3 client ended the test (") + state_name(state) + ")"};
    };
    auto on_signal = [&] {
      s_.stop_requested = true;
      run.abort_streams();
    };
    Status ran = run.run(read, on_frame, on_signal, [&] { return test_end; });
    // Let what is in flight arrive (we receive) or be delivered (we send) before the counts.
    if (ran) {
      run.wait_delivered();
      run.wait_quiet(std::chrono::milliseconds(200), std::chrono::seconds(3));
    }
    run.abort_streams();
    run.finish();
    report_.local.overlap = overlap.end();
    if (s_.stop_requested) return Error{Errc::kInterrupted, "the server was stopped by a signal"};
    if (!ran) return ran;
    if (auto st = send_state(kExchangeResults); !st) return st;
    auto theirs = read_json(control_, s_.opt.timeouts.rcv, "the iperf3 client");
    if (!theirs) return theirs.error();
    auto side = parse_results(*theirs, report_.spec, true);
    if (!side) return side.error();
    report_.remote = std::move(*side);
    reporter.on_end(report_);
    Json ours = results_json(report_.local, report_.spec);
    if (report_.spec.get_server_output)
      ours["server_output_text"] = captured.str().substr(0, kMaxJson / 2);
    if (auto st = control_.write_raw(length_prefixed(ours), in_seconds(s_.opt.timeouts.snd)); !st)
      return st;
    if (auto st = send_state(kDisplayResults); !st) return st;
    auto done =
        control_.read_bytes(1, in_seconds(s_.opt.timeouts.rcv));  // IPERF_DONE, or just a close
    (void)done;
    return ok();
  }

  ServerSession& s_;
  ControlChannel& control_;
  Report& report_;
};

}  // namespace

Status serve(ServerSession& s, ControlChannel& control, Report& report) {
  return Session(s, control, report).run();
}

}  // namespace nicperf::iperf3
