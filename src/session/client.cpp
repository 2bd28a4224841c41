// The client side of a test.
#include <asio/write.hpp>

#include "nicperf/control/auth.hpp"
#include "nicperf/iperf3/iperf3.hpp"
#include "nicperf/results/context.hpp"
#include "nicperf/session/session.hpp"
#include "session/iperf3_sockopts.hpp"
#include "session/nic_watch.hpp"
#include "session/side_run.hpp"
#include "session/udp_rendezvous.hpp"

namespace nicperf {
namespace {

class Client {
 public:
  Client(const ClientOptions& opt, Reporter& reporter, Report& report)
      : opt_(opt), report_(report), reporter_(reporter) {
    init_client_report(report_, opt);
    report_.start.cookie = make_cookie();
  }

  int run() {
    Status st = run_test();  // sets exit_code_ when the test ran
    return session_exit(st, reporter_, report_, exit_code_);
  }

 private:
  Status run_test() {
    auto deadline = in_seconds(opt_.connect_timeout);
    SideRun run(report_, loop_, reporter_);
    run.set_limits(opt_.timeouts.rcv, 0);
    run.set_file(opt_.file);
    if (auto s = run.prepare(); !s) return s;  // local problems before bothering the server
    if (!opt_.nic_socket.empty()) {
      if (auto s = nic_.open(opt_.nic_socket); !s) return s;
      run.set_window_hook([this] { nic_.begin(); });
    }
    if (auto s = check_nic_dev(opt_.nic_dev); !s) return s;
    run.set_nic_dev(opt_.nic_dev);
    if (auto why = report_.spec.mptcp ? mptcp_unavailable() : ""; !why.empty())
      return usage("-m cannot run: " + why);
    auto sock = connect_tcp(loop_, opt_.host, opt_.port, opt_.family, deadline, nullptr);
    if (!sock) return sock.error();
    if (auto s = set_control_keepalive(sock->native_handle(), opt_.control_keepalive); !s) return s;
    auto peer = sock->remote_endpoint();
    ControlChannel control(loop_, std::move(*sock));
    Greeting g{ConnKind::kControl, kProtocolVersion, 0, report_.start.cookie};
    auto greeting = encode_greeting(g);
    if (auto s =
            control.write_raw({greeting.data(), greeting.size()}, in_seconds(opt_.timeouts.snd));
        !s)
      return s;
    Json params = make_message(MsgType::kParams);
    params["spec"] = to_json(report_.spec);
    params["output"] = opt_.format == Format::kText ? "text" : "json";
    HostIdentity me = this_host();
    params["host"] = host_json(me.pid, me.boot_id);
    if (auto s = control.write(params, in_seconds(opt_.timeouts.snd)); !s) return s;
    auto accept = authenticate(control, params);
    if (!accept) return accept.error();
    if (accept->contains("context")) report_.remote_context = (*accept)["context"];
    read_host(*accept, report_.peer.pid, report_.peer.boot_id);
    if (auto share = accept->find("bpf_share"); share != accept->end()) run.join_bpf(*share);

    auto hello = [this](int id) {
      auto data = encode_greeting({ConnKind::kData, kProtocolVersion, id, report_.start.cookie});
      return std::string(data.data(), data.size());
    };
    auto open_deadline = std::max(deadline, in_seconds(opt_.timeouts.rcv));
    if (uses_udp(report_.spec)) {
      auto ports = udp_ports_of(*accept, connection_count(report_.spec));
      if (!ports) return ports.error();
      if (auto s = open_udp_streams(loop_, run, peer.address(), *ports, open_deadline, report_.spec,
                                    report_.start.cookie);
          !s)
        return s;
    } else if (auto s = open_data_connections(loop_, run, peer, open_deadline, report_.spec, hello);
               !s) {
      return s;
    }
    auto start = control.expect(MsgType::kStart, in_seconds(opt_.timeouts.rcv));
    if (!start) return start.error();
    run.describe_connections();
    reporter_.on_start(report_);
    run.start();
    return run_and_exchange(run, control);
  }

  // The server's first answer: "accept", or a "challenge" (--auth-file on the server) whose
  // answer binds the test parameters to the shared secret, and then "accept".
  Expected<Json> authenticate(ControlChannel& control, const Json& params) {
    auto frame = control.read(in_seconds(opt_.timeouts.rcv));
    if (!frame) return frame.error();
    if (!*frame) return Error{Errc::kTimeout, "the server did not answer in time"};
    Json& f = (*frame)->msg;
    switch ((*frame)->type) {
      case MsgType::kAccept:
        return std::move(f);
      case MsgType::kChallenge:
        break;
      default:
        return unexpected_frame(**frame, "unexpected answer to the test parameters");
    }
    if (opt_.secret.empty())
      return Error{Errc::kAccessDenied, "the server requires authentication: give --auth-file"};
    auto nonce = f.find("nonce");
    if (nonce == f.end() || !nonce->is_string() ||
        nonce->get_ref<const std::string&>().size() != 64)
      return Error{Errc::kProtocol, "the server's challenge has no valid nonce"};
    Json reply = make_message(MsgType::kAuth);
    reply["mac"] = auth_mac(opt_.secret, *nonce, report_.start.cookie, params.at("spec").dump());
    if (auto s = control.write(reply, in_seconds(opt_.timeouts.snd)); !s) return s.error();
    return control.expect(MsgType::kAccept, in_seconds(opt_.timeouts.rcv));
  }

  Status run_and_exchange(SideRun& run, ControlChannel& control) {
    auto on_frame = [](const Frame& f) -> Status {
      return unexpected_frame(f, std::string("unexpected '") + msg_type_name(f.type) +
                                     "' from the server during the test");
    };
    auto on_signal = [&] {
      report_.interrupted = true;
      run.stop_senders();
      (void)control.write(make_message(MsgType::kStop), in_seconds(opt_.timeouts.snd));
    };
    Status ran = run.run(control, on_frame, on_signal);
    run.finish();
    if (!ran) {
      nic_.end(report_);
      report_.error = ran.error();
      reporter_.on_end(report_);
      exit_code_ = exit_code(ran.error().code);
      return ok();
    }
    Json results = make_message(MsgType::kResults);
    results["side"] = to_json(report_.local);
    if (auto s = control.write(results, in_seconds(opt_.timeouts.snd)); !s)
      return finish_with(s.error());
    auto reply =
        control.expect(MsgType::kResults, in_seconds(opt_.timeouts.rcv + kEndGraceSeconds + 1));
    // The server has counted every byte by now, so the NIC has carried them all too.
    nic_.end(report_);
    if (report_.nic) run.attribute_nic_softirq(*report_.nic);
    if (!reply) return finish_with(reply.error());
    auto side = side_from_json((*reply)["side"], std::size_t(connection_count(report_.spec)));
    if (!side) return finish_with(side.error());
    report_.remote = std::move(*side);
    if (reply->contains("server_output_text") && (*reply)["server_output_text"].is_string())
      report_.server_output_text = (*reply)["server_output_text"];
    if (reply->contains("server_output_json"))
      report_.server_output_json = (*reply)["server_output_json"];
    return finish_with(
        run.stream_error().value_or(remote_error().value_or(Error{Errc::kTestFailed, ""})));
  }

  std::optional<Error> remote_error() const {
    if (report_.remote)
      for (const auto& s : report_.remote->streams)
        if (!s.error.empty()) return Error{Errc::kTestFailed, "server: " + s.error};
    return std::nullopt;
  }

  // Prints the end report with `e` (if it has a message) and sets the exit code.
  Status finish_with(const Error& e) {
    exit_code_ = finish_client_report(report_, reporter_, opt_.expect, e);
    return ok();
  }

  const ClientOptions& opt_;
  EventLoop loop_;
  Report& report_;
  Reporter& reporter_;
  int exit_code_ = 0;
  NicWatch nic_;
};

}  // namespace

Status open_data_connections(EventLoop& loop, SideRun& run, const asio::ip::tcp::endpoint& peer,
                             Clock::time_point deadline, const TestSpec& spec,
                             const std::function<std::string(int id)>& hello,
                             const std::function<int(int connection)>& stream_of) {
  asio::ip::tcp::endpoint to = peer;  // -L: connect() carries the flow label in sin6_flowinfo
  if (spec.flowlabel && (!peer.address().is_v6() || peer.address().to_v6().is_v4_mapped()))
    return usage("-L sets an IPv6 flow label, but the server " + peer.address().to_string() +
                 " is reached over IPv4: give an IPv6 address (or -6)");
  for (int connection = 0; connection < connection_count(spec); ++connection) {
    int id = stream_of ? stream_of(connection) : connection;
    auto prepare = [&spec, &to, connection](int fd) -> Status {
      if (auto st = bind_client_socket(fd, spec, connection); !st) return st;
      if (spec.flowlabel)
        if (auto st =
                set_flowlabel(fd, *reinterpret_cast<sockaddr_in6*>(to.data()), spec.flowlabel);
            !st)
          return st;
      return apply_socket_options(fd, spec);
    };
    auto sock = connect_endpoint(loop, to, deadline, prepare, spec.mptcp ? IPPROTO_MPTCP : 0);
    if (!sock) return sock.error();
    asio::error_code ec;
    asio::write(*sock, asio::buffer(hello(id)), ec);  // a few bytes into an empty socket buffer
    if (ec) return Error{Errc::kConnect, "cannot open data connection: " + ec.message()};
    if (auto s = run.add_stream(id, sock->release()); !s) return s;
  }
  return ok();
}

int session_exit(const Status& setup, Reporter& reporter, Report& report, int ran_code) {
  if (setup) return ran_code;
  report.error = setup.error();  // for a caller that reads the report (a sweep's failed step)
  reporter.on_error(report, setup.error());
  return exit_code(setup.error().code);
}

int finish_client_report(Report& report, Reporter& reporter, const Expectations& expect,
                         const Error& error) {
  if (!error.message.empty()) report.error = error;
  int code = !error.message.empty() ? exit_code(error.code)
             : report.interrupted   ? exit_code(Errc::kInterrupted)
                                    : 0;
  code = apply_expectations(report, expect, code);
  reporter.on_end(report);
  return code;
}

void init_client_report(Report& report, const ClientOptions& opt) {
  report.is_client = true;
  report.spec = opt.spec;
  report.context = system_context();
  report.start.host = opt.host;
  report.start.port = opt.port;
  report.extra_data = opt.extra_data;
  report.file = opt.file;
}

int apply_expectations(Report& report, const Expectations& expect, int code) {
  if (!expect.any()) return code;
  report.thresholds = check_thresholds(report, expect);
  bool missed = std::any_of(report.thresholds.begin(), report.thresholds.end(),
                            [](const Threshold& t) { return !t.passed; });
  return code == 0 && missed ? exit_code(Errc::kThreshold) : code;
}

int run_client_test(const ClientOptions& opt, Reporter& reporter, Report& report) {
  int code =
      opt.iperf3 ? iperf3::run_client(opt, reporter, report) : Client(opt, reporter, report).run();
  if (!opt.profile_out.empty())  // --profile-out: each side's folded stacks
    for (Side side : {Side::kClient, Side::kServer})
      if (const SideEnd* e = side_end(report, side); e && e->profile)
        if (auto st = write_folded(opt.profile_out, opt.profile_prefix + side_name(side),
                                   *e->profile, side_name(side));
            !st)
          reporter.on_error(report, st.error());
  return code;
}

int run_client(const ClientOptions& opt, std::ostream& out, std::ostream& err) {
  auto reporter = make_reporter(opt.format, out, err, opt.verbose, opt.rate_unit);
  Report report;
  return run_client_test(opt, *reporter, report);
}

}  // namespace nicperf
