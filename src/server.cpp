// The server: accepts connections on one port, tells control from data connections by their
// greeting, runs one test at a time and answers "busy" to anyone else.
#include <asio/ip/v6_only.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <deque>
#include <ostream>
#include <sstream>

#include "nicperf/auth.hpp"
#include "nicperf/context.hpp"
#include "nicperf/iperf3.hpp"
#include "nicperf/session.hpp"
#include "nicperf/test_run.hpp"
#include "nicperf/units.hpp"

namespace nicperf {
namespace {

using asio::ip::tcp;

constexpr double kEndGraceSeconds = 10;  // as TestRun's: the client's streams may end later
constexpr std::size_t kMaxPending = 64;

Clock::duration secs(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}
Clock::time_point in(double seconds) { return in_seconds(seconds); }
Clock::time_point in(Clock::duration d) { return Clock::now() + d; }

// A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d; show them as plain IPv4.
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

// A connection whose greeting has not arrived yet.
struct Pending {
  explicit Pending(asio::io_context& io) : socket(io), timer(io) {}
  tcp::socket socket;
  asio::steady_timer timer;
  std::array<char, kGreetingSize> buf{};
};

class Server {
  struct Waiting {  // a control connection ready to be served
    tcp::socket socket;
    std::string cookie;
    bool iperf3 = false;
  };

 public:
  Server(const ServerOptions& opt, std::ostream& out, std::ostream& err)
      : opt_(opt), out_(out), err_(err), acceptor_(loop_.io()) {}

  int run() {
    if (auto st = listen(); !st) {
      err_ << "nicperf: error: " << st.error().message << "\n";
      return exit_code(st.error().code);
    }
    log("Server listening on " + std::to_string(acceptor_.local_endpoint().port()));
    accept_next();
    for (;;) {
      auto idle_until = opt_.idle_timeout > 0 ? in(opt_.idle_timeout) : Clock::time_point::max();
      loop_.run_until(idle_until, [this] { return !waiting_.empty(); });
      if (loop_.take_signal() != 0) {
        log("nicperf server stopped by signal");
        return 0;
      }
      if (waiting_.empty()) {
        log("no client for " + fixed(opt_.idle_timeout, 0) + " s (--idle-timeout): exiting");
        return 0;
      }
      Waiting next = std::move(waiting_.front());
      waiting_.pop_front();
      serve(std::move(next));
      if (stop_requested_) return 0;
      if (opt_.one_off) return 0;
    }
  }

 private:
  Status listen() {
    asio::error_code ec;
    asio::ip::address addr;
    if (!opt_.bind.empty()) {
      addr = asio::ip::make_address(opt_.bind, ec);
      if (ec) return Error{Errc::kUsage, "bind address '" + opt_.bind + "' is not an IP address"};
    } else {
      addr = opt_.family == 4 ? asio::ip::address(asio::ip::address_v4::any())
                              : asio::ip::address(asio::ip::address_v6::any());
    }
    tcp::endpoint ep(addr, static_cast<unsigned short>(opt_.port));
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && addr.is_v6() && opt_.bind.empty())
      acceptor_.set_option(asio::ip::v6_only(opt_.family == 6), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(128, ec);
    if (ec)
      return Error{Errc::kConnect, "cannot listen on port " + std::to_string(opt_.port) + ": " +
                                       ec.message() + " (is another server running? use -p)"};
    return ok();
  }

  void log(const std::string& line) {
    if (opt_.format == Format::kText)
      out_ << line << "\n" << std::flush;
    else
      err_ << line << "\n" << std::flush;
  }

  void accept_next() {
    auto p = std::make_shared<Pending>(loop_.io());
    acceptor_.async_accept(p->socket, [this, p](const asio::error_code& ec) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        if (pending_ < kMaxPending)
          read_greeting(p);
        else
          log("too many connections waiting for a greeting: closed " + peer_name(p->socket));
      }
      accept_next();
    });
  }

  // The first four bytes tell a nicperf greeting ("NPRF") from an iperf3 cookie (letters and
  // digits 2-7); then the rest of either is read.
  void read_greeting(const std::shared_ptr<Pending>& p) {
    ++pending_;
    p->timer.expires_after(secs(opt_.timeouts.rcv));
    p->timer.async_wait([p](const asio::error_code& ec) {
      if (!ec) p->socket.close();  // silent client: the read below fails
    });
    asio::async_read(p->socket, asio::buffer(p->buf.data(), 4),
                     [this, p](const asio::error_code& ec, std::size_t) {
                       if (ec) return greeting_failed(p, ec);
                       bool iperf3 = iperf3::is_cookie_start({p->buf.data(), 4});
                       std::size_t total = iperf3 ? iperf3::kCookieSize : kGreetingSize;
                       asio::async_read(
                           p->socket, asio::buffer(p->buf.data() + 4, total - 4),
                           [this, p, iperf3, total](const asio::error_code& e2, std::size_t) {
                             if (e2) return greeting_failed(p, e2);
                             --pending_;
                             p->timer.cancel();
                             std::string_view bytes(p->buf.data(), total);
                             if (iperf3)
                               dispatch_iperf3(std::move(p->socket), bytes);
                             else
                               dispatch(std::move(p->socket), decode_greeting(bytes));
                           });
                     });
  }

  void greeting_failed(const std::shared_ptr<Pending>& p, const asio::error_code& ec) {
    --pending_;
    p->timer.cancel();
    log("connection from " + peer_name(p->socket) + " sent no greeting: " +
        (ec == asio::error::operation_aborted ? "timed out" : ec.message()));
  }

  // A stock iperf3 client: its control connection, or a data connection of the iperf3 test in
  // progress (iperf3 data connections carry the test's cookie and nothing else).
  void dispatch_iperf3(tcp::socket socket, std::string_view cookie) {
    std::string who = peer_name(socket);
    if (!iperf3::is_cookie(cookie)) {
      log("rejected connection from " + who + ": not a nicperf or iperf3 client");
      return;
    }
    std::string c(cookie);
    if (active_ && active_->iperf3 && c == active_->cookie &&
        active_->accepted + int(active_->arrived.size()) < active_->connections) {
      int index = active_->accepted + int(active_->arrived.size());
      active_->arrived.emplace_back(index, std::move(socket));
      return;
    }
    if (active_ || !waiting_.empty()) {
      log("refused iperf3 client " + who + ": a test is in progress (busy)");
      auto s = std::make_shared<tcp::socket>(std::move(socket));
      static const char denied = char(iperf3::kAccessDenied);
      asio::async_write(*s, asio::buffer(&denied, 1), [s](const asio::error_code&, std::size_t) {});
      return;
    }
    waiting_.push_back({std::move(socket), c, true});
  }

  void dispatch(tcp::socket socket, const Expected<Greeting>& g) {
    std::string who = peer_name(socket);
    if (!g) {
      log("rejected connection from " + who + ": " + g.error().message);
      send_error_and_close(std::move(socket), g.error());
      return;
    }
    if (g->kind == ConnKind::kData) {
      if (active_ && g->cookie == active_->cookie &&
          int(active_->arrived.size()) < active_->connections) {
        active_->arrived.emplace_back(g->stream, std::move(socket));
        return;
      }
      log("rejected data connection from " + who + ": it belongs to no test in progress");
      return;  // socket closes here
    }
    if (active_ || !waiting_.empty()) {
      log("refused " + who + ": a test is in progress (busy)");
      send_error_and_close(std::move(socket),
                           {Errc::kRefused, "the server is busy running a test; try again later"});
      return;
    }
    waiting_.push_back({std::move(socket), g->cookie, false});
  }

  void send_error_and_close(tcp::socket socket, const Error& e) {
    auto s = std::make_shared<tcp::socket>(std::move(socket));
    auto frame = std::make_shared<std::string>(encode_frame(error_message(e.code, e.message)));
    asio::async_write(*s, asio::buffer(*frame), [s, frame](const asio::error_code&, std::size_t) {
      asio::error_code ec;
      s->shutdown(tcp::socket::shutdown_both, ec);
    });
  }

  // One test, from its params to its results. Anything the client does wrong ends this test
  // with an error frame and a log line; the server then serves the next one.
  void serve(Waiting w) {
    std::string who = peer_name(w.socket);
    ControlChannel control(loop_, std::move(w.socket));
    Report report;
    report.is_client = false;
    report.context = system_context();
    asio::error_code ec;
    auto ep = control.socket().remote_endpoint(ec);
    report.start.host = ec ? "unknown" : address_text(ep.address());
    report.start.port = ec ? 0 : ep.port();
    IncomingStreams active;
    active.cookie = w.cookie;
    active.iperf3 = w.iperf3;
    active_ = &active;
    iperf3::ServerSession session{loop_, opt_, out_, err_, active, stop_requested_};
    auto st =
        w.iperf3 ? iperf3::serve(session, control, report) : serve_test(control, report, active);
    active_ = nullptr;
    if (!st && st.error().code == Errc::kInterrupted) stop_requested_ = true;
    if (!st) {
      log("test from " + who + " failed: " + st.error().message);
      if (st.error().code != Errc::kConnect && !w.iperf3)
        (void)control.write(error_message(st.error().code, st.error().message),
                            in(std::chrono::seconds(2)));
    }
  }

  Status serve_test(ControlChannel& control, Report& report, IncomingStreams& active) {
    auto params = control.expect("params", in(opt_.timeouts.rcv));
    if (!params) return params.error();
    auto spec = spec_from_json((*params)["spec"], opt_.limits);
    if (!spec) return spec.error();
    if (auto s = check_auth(control, (*params)["spec"], active.cookie); !s) return s;
    report.spec = *spec;
    read_host(*params, report.peer.pid, report.peer.boot_id);
    auto out_field = params->find("output");
    std::string output = out_field != params->end() && *out_field == "json" ? "json" : "text";

    TeeReporter reporter;
    reporter.add(make_reporter(opt_.format, out_, err_, opt_.verbose));
    std::ostringstream captured;
    if (spec->get_server_output && output == "text")
      reporter.add(make_reporter(Format::kText, captured, captured, false));

    TestRun run(report, loop_, reporter);
    run.set_limits(opt_.timeouts.rcv, opt_.limits.max_duration + spec->omit);
    if (auto s = run.prepare(); !s) return s;
    active.connections = connection_count(*spec);
    Json accept = make_message("accept");
    accept["context"] = report.context;
    HostIdentity me = this_host();
    accept["host"] = host_json(me.pid, me.boot_id);
    if (auto s = control.write(accept, in(opt_.timeouts.snd)); !s) return s;
    if (auto s = collect_streams(run, control, active); !s) return s;
    if (auto s = control.write(make_message("start"), in(opt_.timeouts.snd)); !s) return s;
    run.describe_connections();
    reporter.on_start(report);
    run.start();
    return run_and_exchange(run, control, report, reporter, captured, output);
  }

  // With --auth-file: a fresh nonce, and the client's HMAC over it, its cookie and the exact
  // parameters it sent, compared in constant time.
  Status check_auth(ControlChannel& control, const Json& spec, const std::string& cookie) {
    if (opt_.secret.empty()) return ok();
    Json challenge = make_message("challenge");
    std::string nonce = make_nonce();
    challenge["nonce"] = nonce;
    if (auto s = control.write(challenge, in(opt_.timeouts.snd)); !s) return s;
    auto answer = control.expect("auth", in(opt_.timeouts.rcv));
    if (!answer) return answer.error();
    auto mac = answer->find("mac");
    std::string want = auth_mac(opt_.secret, nonce, cookie, spec.dump());
    if (mac == answer->end() || !mac->is_string() || !macs_equal(*mac, want))
      return Error{Errc::kAccessDenied,
                   "authentication failed: the client's --auth-file secret does not match"};
    return ok();
  }

  // Waits for the data connections, watching the control connection too: a client that gives
  // up while connecting must not leave the server busy.
  Status collect_streams(TestRun& run, ControlChannel& control, IncomingStreams& active) {
    auto deadline = in(opt_.timeouts.rcv);
    while (int(run.stream_count()) < active.connections) {
      auto frame = control.read(deadline, [&] { return !active.arrived.empty(); });
      if (!frame) return frame.error();
      if (*frame) {
        if ((**frame)["type"] == "error") return peer_error(**frame);
        return Error{Errc::kProtocol, "unexpected control message while streams connect"};
      }
      if (loop_.signal_pending()) return Error{Errc::kInterrupted, "server interrupted"};
      if (active.arrived.empty())
        return Error{Errc::kTimeout, "only " + std::to_string(run.stream_count()) + " of " +
                                         std::to_string(active.connections) +
                                         " data connections arrived within " +
                                         fixed(opt_.timeouts.rcv, 1) + " s"};
      auto [id, sock] = std::move(active.arrived.front());
      active.arrived.pop_front();
      if (id >= active.connections || run.has_stream(id))
        return Error{Errc::kProtocol,
                     "data connection has a bad stream index " + std::to_string(id)};
      if (auto s = run.add_stream(id, sock.release()); !s) return s;
    }
    return ok();
  }

  Status run_and_exchange(TestRun& run, ControlChannel& control, Report& report, Reporter& reporter,
                          std::ostringstream& captured, const std::string& output) {
    std::optional<Json> client_results;
    auto on_frame = [&](const Json& f) -> Status {
      if (f["type"] == "stop")
        run.stop_senders();
      else if (f["type"] == "results")
        client_results = f;
      else if (f["type"] == "error")
        return peer_error(f);
      return ok();
    };
    auto on_signal = [&] {
      stop_requested_ = true;
      run.abort_streams();
    };
    Status ran = run.run(control, on_frame, on_signal);
    run.finish();
    if (stop_requested_) return Error{Errc::kInterrupted, "the server was stopped by a signal"};
    if (!ran) return ran;
    // The client's "stop" may still be on its way after our streams ended: keep handling frames.
    auto deadline = in(opt_.timeouts.rcv + kEndGraceSeconds);
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
    Json results = make_message("results");
    results["side"] = to_json(report.local);
    if (report.spec.get_server_output) {
      if (output == "json")
        results["server_output_json"] = report_json(report);
      else
        results["server_output_text"] = captured.str().substr(0, kMaxFrame / 2);
    }
    return control.write(results, in(opt_.timeouts.snd));
  }

  const ServerOptions& opt_;
  std::ostream& out_;
  std::ostream& err_;
  EventLoop loop_;
  tcp::acceptor acceptor_;
  std::deque<Waiting> waiting_;  // control connections ready to be served
  std::size_t pending_ = 0;
  IncomingStreams* active_ = nullptr;
  bool stop_requested_ = false;
};

}  // namespace

int run_server(const ServerOptions& opt, std::ostream& out, std::ostream& err) {
  return Server(opt, out, err).run();
}

}  // namespace nicperf
