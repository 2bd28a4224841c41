// One test on the server, from its parameters to its results, on whichever event loop serves
// it: the main thread's (--max-tests 1) or a test slot's.
#include <asio/write.hpp>
#include <ostream>
#include <sstream>

#include "nicperf/control/auth.hpp"
#include "nicperf/results/context.hpp"
#include "nicperf/util/units.hpp"
#include "session/iperf3_sockopts.hpp"
#include "session/rate_limit.hpp"
#include "session/server_slots.hpp"
#include "session/side_run.hpp"
#include "session/udp_rendezvous.hpp"

namespace nicperf {
namespace {

using asio::ip::tcp;

class TestSession {
 public:
  explicit TestSession(iperf3::ServerSession& env)
      : env_(env), loop_(env.loop), opt_(env.opt), active_(env.incoming) {}

  // Anything the client does wrong ends this test with an error frame and a log line.
  void serve(tcp::socket socket) {
    std::string who = peer_name(socket);
    active_.peer = who;
    ControlChannel control(loop_, std::move(socket));
    Report report;
    report.is_client = false;
    report.context = system_context();
    asio::error_code ec;
    auto ep = control.socket().remote_endpoint(ec);
    report.start.host = ec ? "unknown" : address_text(ep.address());
    report.start.port = ec ? 0 : ep.port();
    Status st = set_control_keepalive(control.socket().native_handle(), opt_.control_keepalive);
    if (st)
      st = active_.iperf3 ? iperf3::serve(env_, control, report) : serve_test(control, report);
    if (!st && st.error().code == Errc::kInterrupted) env_.stop_requested = true;
    if (!st) {
      log("test from " + who + " failed: " + st.error().message);
      if (st.error().code != Errc::kConnect && !active_.iperf3)
        (void)control.write(error_message(st.error().code, st.error().message), in_seconds(2));
    }
  }

 private:
  void log(const std::string& line) { server_log(opt_, env_.out, env_.err, line); }

  Status serve_test(ControlChannel& control, Report& report) {
    auto params = control.expect(MsgType::kParams, in_seconds(opt_.timeouts.rcv));
    if (!params) return params.error();
    auto spec = spec_from_json((*params)["spec"], opt_.limits);
    if (!spec) return spec.error();
    if (auto s = check_auth(control, (*params)["spec"]); !s) return s;
    if (auto s = check_requested_rate(*spec, opt_.bitrate_limit); !s) return s;
    report.spec = *spec;
    read_host(*params, report.peer.pid, report.peer.boot_id);
    auto out_field = params->find("output");
    std::string output = out_field != params->end() && *out_field == "json" ? "json" : "text";

    TeeReporter reporter;
    reporter.add(make_reporter(opt_.format, env_.out, env_.err, opt_.verbose, opt_.rate_unit));
    std::ostringstream captured;
    if (spec->get_server_output && output == "text")
      reporter.add(make_reporter(Format::kText, captured, captured, false, opt_.rate_unit));

    SideRun run(report, loop_, reporter);
    run.share_process(active_.claims);
    run.set_limits(opt_.timeouts.rcv, opt_.limits.max_duration + spec->omit);
    run.set_rate_limit(opt_.bitrate_limit);
    if (auto s = run.prepare(); !s) return s;
    active_.connections = connection_count(*spec);
    Json accept = make_message(MsgType::kAccept);
    accept["context"] = report.context;
    HostIdentity me = this_host();
    accept["host"] = host_json(me.pid, me.boot_id);
    if (auto offer = run.bpf_offer()) accept["bpf_share"] = *offer;
    UdpRendezvous udp(loop_, active_.cookie);
    if (uses_udp(*spec)) {
      asio::error_code ec;
      auto local = control.socket().local_endpoint(ec);
      if (ec) return Error{Errc::kConnect, "control connection lost: " + ec.message()};
      if (auto s = udp.open(local.address(), active_.connections, *spec); !s) return s;
      accept["udp_ports"] = udp.ports();
    }
    if (auto s = control.write(accept, in_seconds(opt_.timeouts.snd)); !s) return s;
    auto collected =
        uses_udp(*spec) ? collect_udp_streams(run, control, udp) : collect_streams(run, control);
    if (!collected) return collected;
    udp.close();
    if (auto s = control.write(make_message(MsgType::kStart), in_seconds(opt_.timeouts.snd)); !s)
      return s;
    run.describe_connections();
    reporter.on_start(report);
    OverlapSpan overlap(active_);
    run.start();
    return run_and_exchange(run, control, report, reporter, overlap, captured, output);
  }

  // With --auth-file: a fresh nonce, and the client's HMAC over it, its cookie and the exact
  // parameters it sent, compared in constant time.
  Status check_auth(ControlChannel& control, const Json& spec) {
    if (!opt_.requires_auth()) return ok();
    if (opt_.secret.empty())  // only --rsa-private-key-path: nicperf's protocol has no RSA
      return Error{Errc::kAccessDenied,
                   "the server requires authentication the iperf3 way: run the client with "
                   "--iperf3 --username USER --rsa-public-key-path FILE"};
    Json challenge = make_message(MsgType::kChallenge);
    std::string nonce = make_nonce();
    challenge["nonce"] = nonce;
    if (auto s = control.write(challenge, in_seconds(opt_.timeouts.snd)); !s) return s;
    auto answer = control.expect(MsgType::kAuth, in_seconds(opt_.timeouts.rcv));
    if (!answer) return answer.error();
    auto mac = answer->find("mac");
    std::string want = auth_mac(opt_.secret, nonce, active_.cookie, spec.dump());
    if (mac == answer->end() || !mac->is_string() || !macs_equal(*mac, want))
      return Error{Errc::kAccessDenied,
                   "authentication failed: the client's --auth-file secret does not match"};
    return ok();
  }

  // Waits for the data connections, watching the control connection too: a client that gives
  // up while connecting must not leave the server busy.
  Status collect_streams(SideRun& run, ControlChannel& control) {
    auto deadline = in_seconds(opt_.timeouts.rcv);
    while (int(run.stream_count()) < active_.connections) {
      auto frame = control.read(deadline, [&] { return !active_.arrived.empty(); });
      if (!frame) return frame.error();
      if (*frame)
        return unexpected_frame(**frame, "unexpected control message while streams connect");
      if (loop_.signal_pending()) return Error{Errc::kInterrupted, "server interrupted"};
      if (active_.arrived.empty())
        return Error{Errc::kTimeout, "only " + std::to_string(run.stream_count()) + " of " +
                                         std::to_string(active_.connections) +
                                         " data connections arrived within " +
                                         fixed(opt_.timeouts.rcv, 1) + " s"};
      auto [id, sock] = std::move(active_.arrived.front());
      active_.arrived.pop_front();
      if (id >= active_.connections || run.has_stream(id))
        return Error{Errc::kProtocol,
                     "data connection has a bad stream index " + std::to_string(id)};
      if (auto s = run.add_stream(id, sock.release()); !s) return s;
    }
    return ok();
  }

  // The UDP streams' greetings, watching the control connection as collect_streams does.
  Status collect_udp_streams(SideRun& run, ControlChannel& control, UdpRendezvous& udp) {
    auto deadline = in_seconds(opt_.timeouts.rcv);
    while (int(run.stream_count()) < active_.connections) {
      auto frame = control.read(deadline, [&] { return !udp.arrived().empty(); });
      if (!frame) return frame.error();
      if (*frame)
        return unexpected_frame(**frame, "unexpected control message while streams connect");
      if (loop_.signal_pending()) return Error{Errc::kInterrupted, "server interrupted"};
      if (udp.arrived().empty())
        return Error{Errc::kTimeout, "only " + std::to_string(run.stream_count()) + " of " +
                                         std::to_string(active_.connections) +
                                         " UDP streams greeted within " +
                                         fixed(opt_.timeouts.rcv, 1) + " s"};
      auto [id, fd] = udp.arrived().front();
      udp.arrived().pop_front();
      if (auto s = run.add_stream(id, fd); !s) return s;
    }
    return ok();
  }

  Status run_and_exchange(SideRun& run, ControlChannel& control, Report& report, Reporter& reporter,
                          OverlapSpan& overlap, std::ostringstream& captured,
                          const std::string& output) {
    std::optional<Json> client_results;
    auto on_frame = [&](const Frame& f) -> Status {
      switch (f.type) {
        case MsgType::kStop:
          run.stop_senders();
          return ok();
        case MsgType::kResults:
          client_results = f.msg;
          return ok();
        default:
          return unexpected_frame(f, std::string("unexpected '") + msg_type_name(f.type) +
                                         "' from the client during the test");
      }
    };
    auto on_signal = [&] {
      env_.stop_requested = true;
      run.abort_streams();
    };
    Status ran = run.run(control, on_frame, on_signal);
    run.finish();
    report.local.overlap = overlap.end();
    if (env_.stop_requested) return Error{Errc::kInterrupted, "the server was stopped by a signal"};
    if (!ran) return ran;
    // The client's "stop" may still be on its way after our streams ended: keep handling frames.
    auto deadline = in_seconds(opt_.timeouts.rcv + kEndGraceSeconds);
    while (!client_results) {
      auto f = control.read(deadline);
      if (!f) return f.error();
      if (!*f) return Error{Errc::kTimeout, "client sent no results in time"};
      if (auto st = on_frame(**f); !st) return st;
    }
    auto side =
        side_from_json((*client_results)["side"], std::size_t(connection_count(report.spec)));
    if (!side) return side.error();
    report.remote = std::move(*side);
    if (auto e = run.stream_error()) report.error = e;
    reporter.on_end(report);
    Json results = make_message(MsgType::kResults);
    results["side"] = to_json(report.local);
    if (report.spec.get_server_output) {
      if (output == "json")
        results["server_output_json"] = report_json(report);
      else
        results["server_output_text"] = captured.str().substr(0, kMaxFrame / 2);
    }
    return control.write(results, in_seconds(opt_.timeouts.snd));
  }

  iperf3::ServerSession& env_;
  EventLoop& loop_;
  const ServerOptions& opt_;
  IncomingStreams& active_;
};

}  // namespace

std::string address_text(asio::ip::address addr) {
  if (addr.is_v6() && addr.to_v6().is_v4_mapped())
    addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  return addr.to_string();
}

std::string peer_name(const tcp::socket& s) {
  asio::error_code ec;
  auto ep = s.remote_endpoint(ec);
  return ec ? "unknown peer" : address_text(ep.address()) + " port " + std::to_string(ep.port());
}

void server_log(const ServerOptions& opt, std::ostream& out, std::ostream& err,
                const std::string& line) {
  if (opt.format == Format::kText)
    out << line << "\n" << std::flush;
  else
    err << line << "\n" << std::flush;
}

void serve_test(iperf3::ServerSession& env, tcp::socket control) {
  TestSession(env).serve(std::move(control));
}

}  // namespace nicperf
