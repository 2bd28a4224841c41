// nicperf as a client of a stock iperf3 server (--iperf3): iperf3's states and JSON on the
// control connection, nicperf's streams, send paths and cost collector on this side.

#include <asio/write.hpp>
#include <thread>

#include "iperf3/iperf3_udp.hpp"
#include "nicperf/iperf3/iperf3.hpp"
#include "nicperf/results/context.hpp"
#include "session/iperf3_sockopts.hpp"
#include "session/side_run.hpp"

namespace nicperf::iperf3 {
namespace {

class Iperf3Client {
 public:
  Iperf3Client(const ClientOptions& opt, Reporter& reporter, Report& report)
      : opt_(opt), report_(report), reporter_(reporter) {
    init_client_report(report_, opt);
    cookie_ = make_cookie();
    report_.start.cookie = cookie_.substr(0, kCookieSize - 1);
    report_.remote_context = peer_context();
  }

  int run() {
    Status st = run_test();  // sets exit_code_ when the test ran
    return session_exit(st, reporter_, report_, exit_code_);
  }

 private:
  Status run_test() {
    if (auto why = unsupported(report_.spec); !why.empty())
      return Error{Errc::kUsage, "iperf3 mode cannot run " + why};
    SideRun run(report_, loop_, reporter_);
    run.set_limits(opt_.timeouts.rcv, 0);
    run.set_file(opt_.file);
    if (auto s = run.prepare(); !s) return s;
    auto deadline = in_seconds(opt_.connect_timeout);
    if (auto why = report_.spec.mptcp ? mptcp_unavailable() : ""; !why.empty())
      return usage("-m cannot run: " + why);
    auto sock = connect_tcp(loop_, opt_.host, opt_.port, opt_.family, deadline, nullptr);
    if (!sock) return sock.error();
    if (auto s = set_control_keepalive(sock->native_handle(), opt_.control_keepalive); !s) return s;
    auto peer = sock->remote_endpoint();
    ControlChannel control(loop_, std::move(*sock));
    if (auto s = control.write_raw(cookie_, in_seconds(opt_.timeouts.snd)); !s) return s;
    if (auto s = expect_state(control, kParamExchange); !s) return s;
    auto params = params_json(report_.spec, "nicperf " + nicperf_version());
    if (auto s = add_authtoken(params); !s) return s;
    if (opt_.udp_counters_64bit) params["udp_counters_64bit"] = 1;
    if (auto s = control.write_raw(length_prefixed(params), in_seconds(opt_.timeouts.snd)); !s)
      return s;
    if (auto s = expect_state(control, kCreateStreams); !s) return s;
    auto open_deadline = std::max(deadline, in_seconds(opt_.timeouts.rcv));
    auto hello = [this](int) { return cookie_; };
    auto index = [this](int connection) { return our_stream(connection, report_.spec); };
    if (is_udp(report_.spec)) {
      if (auto s = open_udp_streams(run, peer, open_deadline); !s) return s;
    } else if (auto s = open_data_connections(loop_, run, peer, open_deadline, report_.spec, hello,
                                              index);
               !s) {
      return s;
    }
    if (auto s = expect_state(control, kTestStart); !s) return s;
    if (auto s = expect_state(control, kTestRunning); !s) return s;
    run.describe_connections();
    reporter_.on_start(report_);
    run.start();
    return run_and_exchange(run, control);
  }

  // iperf3's UDP streams: one connect datagram each to the control connection's port.
  Status open_udp_streams(SideRun& run, const asio::ip::tcp::endpoint& peer,
                          Clock::time_point deadline) {
    run.set_iperf3_udp(opt_.udp_counters_64bit ? 64 : 32);
    asio::ip::udp::endpoint server(peer.address(), peer.port());
    for (int i = 0; i < connection_count(report_.spec); ++i) {
      auto fd = udp_connect(server, deadline, report_.spec.block_len);
      if (!fd) return fd.error();
      if (auto s = run.add_stream(our_stream(i, report_.spec), *fd); !s) return s;
    }
    return ok();
  }

  // --username: the token is made now, so its timestamp is as fresh as iperf3's would be.
  Status add_authtoken(nlohmann::json& params) {
    const auto& auth = opt_.iperf3_auth;
    if (auth.user.empty()) return ok();
    auto token =
        make_authtoken({auth.user, auth.password, iperf3_now()}, auth.public_key, auth.pkcs1);
    if (!token) return token.error();
    params["authtoken"] = *token;
    return ok();
  }

  // SERVER_ERROR's i_errno, then errno; after a failed authentication iperf3 sends i_errno
  // alone.
  Error server_error(ControlChannel& control) {
    auto codes = control.read_bytes(4, in_seconds(opt_.timeouts.rcv));
    int i_errno = 0;
    if (codes && *codes) {
      const auto* p = reinterpret_cast<const unsigned char*>((*codes)->data());
      i_errno = int((std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) |
                    (std::uint32_t(p[2]) << 8) | p[3]);
      (void)control.read_bytes(4, in_seconds(0.5));
    }
    if (i_errno == kIeAuthTest)
      return Error{Errc::kAccessDenied,
                   opt_.iperf3_auth.user.empty()
                       ? "the iperf3 server requires authentication: give --username and "
                         "--rsa-public-key-path"
                       : "the iperf3 server refused the authentication (test authorization "
                         "failed: user, password, key, padding or clock skew)"};
    if (i_errno == kIeTotalRate)
      return Error{Errc::kRefused,
                   "the iperf3 server stopped the test: total required bandwidth is larger than "
                   "server limit (its --server-bitrate-limit)"};
    return Error{Errc::kTestFailed, "the iperf3 server reported an error (iperf3 i_errno " +
                                        std::to_string(i_errno) + "; see the server's log)"};
  }

  // Reads one state byte; SERVER_ERROR and ACCESS_DENIED become errors.
  Expected<int> read_state(ControlChannel& control, Clock::time_point deadline) {
    auto b = control.read_bytes(1, deadline);
    if (!b) return b.error();
    if (!*b) return Error{Errc::kTimeout, "the iperf3 server sent nothing in time"};
    int state = static_cast<signed char>((**b)[0]);
    if (state == kAccessDenied)
      return Error{Errc::kRefused,
                   "the iperf3 server refused the test (ACCESS_DENIED: busy, or "
                   "it wants authentication)"};
    if (state == kServerError) return server_error(control);
    return state;
  }

  Status expect_state(ControlChannel& control, int want) {
    auto got = read_state(control, in_seconds(opt_.timeouts.rcv));
    if (!got) return got.error();
    if (*got != want)
      return Error{Errc::kProtocol, std::string("the iperf3 server sent ") + state_name(*got) +
                                        " where " + state_name(want) + " was due"};
    return ok();
  }

  Status run_and_exchange(SideRun& run, ControlChannel& control) {
    bool reverse = !local_sends(report_);
    auto read = state_reader(control);
    auto on_frame = [&](const Json& f) -> Status {
      int state = f["state"];
      if (state == kServerError) return server_error(control);
      return Error{Errc::kTestFailed, std::string("the iperf3 server ended the test early (") +
                                          state_name(state) + ")"};
    };
    auto on_signal = [&] {
      report_.interrupted = true;
      run.stop_senders();
    };
    auto done = [&] {
      // Only a client that just sends can end on its own senders; with -R or --bidir the
      // iperf3 server sends until TEST_END, so the clock decides.
      bool sends_only = !local_receives_any(report_);
      return report_.interrupted ||
             (sends_only ? run.senders_done() : run.time_up() && run.senders_done());
    };
    Status ran = run.run(read, on_frame, on_signal, done);
    if (ran) {
      if (!reverse) {  // normal and bidir: our senders stopped; let their bytes land first
        run.wait_delivered();
        // Delivered is not yet read: give the iperf3 server a moment before TEST_END stops
        // its counting.
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      char end = kTestEnd;
      ran = control.write_raw({&end, 1}, in_seconds(opt_.timeouts.snd));
    }
    if (ran) ran = expect_state(control, kExchangeResults);
    // The server stopped sending at TEST_END: take in what is still on its way, then stop.
    run.wait_quiet(std::chrono::milliseconds(200), std::chrono::seconds(3));
    run.abort_streams();
    run.finish();
    if (!ran) return finish_with(ran.error());
    if (auto s = control.write_raw(length_prefixed(results_json(report_.local, report_.spec)),
                                   in_seconds(opt_.timeouts.snd));
        !s)
      return finish_with(s.error());
    auto theirs = read_json(control, opt_.timeouts.rcv, "the iperf3 server");
    if (!theirs) return finish_with(theirs.error());
    auto side = parse_results(*theirs, report_.spec, false);
    if (!side) return finish_with(side.error());
    report_.remote = std::move(*side);
    if (theirs->contains("server_output_text") && (*theirs)["server_output_text"].is_string())
      report_.server_output_text = (*theirs)["server_output_text"];
    if (auto s = expect_state(control, kDisplayResults); !s) return finish_with(s.error());
    char done_state = kIperfDone;
    (void)control.write_raw({&done_state, 1}, in_seconds(opt_.timeouts.snd));
    return finish_with(run.stream_error().value_or(Error{Errc::kTestFailed, ""}));
  }

  Status finish_with(const Error& e) {
    exit_code_ = finish_client_report(report_, reporter_, opt_.expect, e);
    return ok();
  }

  const ClientOptions& opt_;
  EventLoop loop_;
  Report& report_;
  Reporter& reporter_;
  std::string cookie_;
  int exit_code_ = 0;
};

}  // namespace

int run_client(const ClientOptions& opt, Reporter& reporter, Report& report) {
  return Iperf3Client(opt, reporter, report).run();
}

}  // namespace nicperf::iperf3
