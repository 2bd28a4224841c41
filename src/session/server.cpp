// The server: accepts connections on one port and tells control from data connections by their
// greeting. With --max-tests 1 it serves one test at a time on this thread; above 1 each test
// runs in a slot of its own (src/server_slots.cpp). Anyone beyond that is told "busy".
#include <unistd.h>

#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <deque>
#include <map>
#include <memory>
#include <ostream>
#include <system_error>

#include "nicperf/iperf3/iperf3.hpp"
#include "nicperf/util/units.hpp"
#include "session/iperf3_sockopts.hpp"
#include "session/server_slots.hpp"

namespace nicperf {
namespace {

using asio::ip::tcp;

constexpr std::size_t kMaxPending = 64;

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
      : opt_(opt), out_(out), err_(err), shared_(out, err), acceptor_(loop_.io()) {}

  int run() {
    if (auto st = listen(); !st) {
      err_ << "nicperf: error: " << st.error().message << "\n";
      return exit_code(st.error().code);
    }
    log("Server listening on " + std::to_string(acceptor_.local_endpoint().port()));
    accept_next();
    return concurrent() ? run_slots() : run_serial();
  }

 private:
  bool concurrent() const { return opt_.max_tests > 1; }

  // One test at a time, served on this thread.
  int run_serial() {
    for (;;) {
      auto idle_until =
          opt_.idle_timeout > 0 ? in_seconds(opt_.idle_timeout) : Clock::time_point::max();
      loop_.run_until(idle_until, [this] { return !waiting_.empty(); });
      if (loop_.take_signal() != 0) {
        log("nicperf server stopped by signal");
        return 0;
      }
      if (waiting_.empty()) return idle_exit();
      Waiting next = std::move(waiting_.front());
      waiting_.pop_front();
      serve(std::move(next));
      if (stop_requested_) return 0;
      if (opt_.one_off) return 0;
    }
  }

  // Tests run in slots; this thread accepts, dispatches and reaps the slots that finished.
  int run_slots() {
    auto idle_from = Clock::now();
    for (;;) {
      bool idle = slots_.empty() && opt_.idle_timeout > 0;
      auto until = idle ? idle_from + seconds_of(opt_.idle_timeout) : Clock::time_point::max();
      slots_changed_ = false;
      loop_.run_until(until, [this] { return slots_changed_; });
      if (loop_.take_signal() != 0) {
        log("nicperf server stopped by signal");
        stop_slots();
        return 0;
      }
      if (!slots_changed_) return idle_exit();
      if (!slots_.empty()) continue;
      if (opt_.one_off && started_ > 0) return 0;
      idle_from = Clock::now();
    }
  }

  int idle_exit() {
    log("no client for " + fixed(opt_.idle_timeout, 0) + " s (--idle-timeout): exiting");
    return 0;
  }

  // Every slot's loop heard the signal too (Asio tells every signal_set), so each test stops
  // as a lone test does; a slot started just as it came is told. Accept nothing more and wait
  // until all have finished.
  void stop_slots() {
    stopping_ = true;
    asio::error_code ec;
    acceptor_.close(ec);
    for (auto& [id, slot] : slots_) slot->stop();
    while (!slots_.empty()) {
      loop_.run_until(Clock::time_point::max(), [this] { return slots_.empty(); });
      loop_.take_signal();  // a second signal ends the process in EventLoop already
    }
  }

  // -m: an MPTCP listener, so -m clients (nicperf's, iperf3's) get MPTCP; it hands plain TCP
  // clients plain TCP sockets.
  void open_acceptor(const tcp& protocol, asio::error_code& ec) {
    if (!opt_.mptcp) {
      acceptor_.open(protocol, ec);
      return;
    }
    int fd = ::socket(protocol.family(), SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_MPTCP);
    if (fd < 0) {
      ec = asio::error_code(errno, asio::system_category());
      return;
    }
    acceptor_.assign(protocol, fd, ec);
    if (ec) ::close(fd);
  }

  Status listen() {
    asio::error_code ec;
    if (auto why = opt_.mptcp ? mptcp_unavailable() : ""; !why.empty())
      return usage("-m cannot run: " + why);
    asio::ip::address addr;
    if (!opt_.bind.empty()) {
      addr = asio::ip::make_address(opt_.bind, ec);
      if (ec) return Error{Errc::kUsage, "bind address '" + opt_.bind + "' is not an IP address"};
    } else {
      addr = opt_.family == 4 ? asio::ip::address(asio::ip::address_v4::any())
                              : asio::ip::address(asio::ip::address_v6::any());
    }
    tcp::endpoint ep(addr, static_cast<unsigned short>(opt_.port));
    open_acceptor(ep.protocol(), ec);
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

  void log(const std::string& line) { shared_.write(opt_.format != Format::kText, line + "\n"); }

  void accept_next() {
    auto p = std::make_shared<Pending>(loop_.io());
    acceptor_.async_accept(p->socket, [this, p](const asio::error_code& ec) {
      if (ec == asio::error::operation_aborted || stopping_) return;
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
    p->timer.expires_after(seconds_of(opt_.timeouts.rcv));
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
                             if (stopping_) return;
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
    if (stopping_) return;
    log("connection from " + peer_name(p->socket) + " sent no greeting: " +
        (ec == asio::error::operation_aborted ? "timed out" : ec.message()));
  }

  // A stock iperf3 client: its control connection, or a data connection of an iperf3 test in
  // progress (iperf3 data connections carry the test's cookie and nothing else).
  void dispatch_iperf3(tcp::socket socket, std::string_view cookie) {
    std::string who = peer_name(socket);
    if (!iperf3::is_cookie(cookie)) {
      log("rejected connection from " + who + ": not a nicperf or iperf3 client");
      return;
    }
    std::string c(cookie);
    if (route_data(socket, c, -1, true)) return;
    // --auth-file alone: iperf3 has no way to answer an HMAC challenge, so no iperf3 client
    // can authenticate.
    if (opt_.requires_auth() && !opt_.iperf3_auth.enabled()) {
      log("refused iperf3 client " + who +
          ": the server requires authentication (--auth-file), which iperf3 cannot give");
      return deny_iperf3(std::move(socket));
    }
    if (busy()) {
      log("refused iperf3 client " + who + ": " + busy_reason());
      return deny_iperf3(std::move(socket));
    }
    start_test({std::move(socket), c, true});
  }

  void deny_iperf3(tcp::socket socket) {
    auto s = std::make_shared<tcp::socket>(std::move(socket));
    static const char denied = char(iperf3::kAccessDenied);
    asio::async_write(*s, asio::buffer(&denied, 1), [s](const asio::error_code&, std::size_t) {});
  }

  void dispatch(tcp::socket socket, const Expected<Greeting>& g) {
    std::string who = peer_name(socket);
    if (!g) {
      log("rejected connection from " + who + ": " + g.error().message);
      send_error_and_close(std::move(socket), g.error());
      return;
    }
    if (g->kind == ConnKind::kData) {
      if (route_data(socket, g->cookie, g->stream, false)) return;
      log("rejected data connection from " + who + ": it belongs to no test in progress");
      return;  // socket closes here
    }
    if (busy()) {
      log("refused " + who + ": " + busy_reason());
      send_error_and_close(std::move(socket), {Errc::kRefused, busy_message()});
      return;
    }
    if (find_slot(g->cookie, false)) {
      log("refused " + who + ": its cookie belongs to a test in progress");
      send_error_and_close(std::move(socket),
                           {Errc::kProtocol, "the cookie belongs to another test in progress"});
      return;
    }
    start_test({std::move(socket), g->cookie, false});
  }

  bool busy() const {
    if (!concurrent()) return active_ || !waiting_.empty();
    return int(slots_.size()) >= opt_.max_tests || (opt_.one_off && started_ > 0);
  }

  std::string busy_reason() const {
    if (!concurrent()) return "a test is in progress (busy)";
    if (opt_.one_off && started_ > 0) return "it serves one test (-1) (busy)";
    return std::to_string(slots_.size()) + " of " + std::to_string(opt_.max_tests) +
           " tests (--max-tests) in progress (busy)";
  }

  std::string busy_message() const {
    if (!concurrent()) return "the server is busy running a test; try again later";
    return "the server is busy running " + std::to_string(opt_.max_tests) +
           " tests, its most at a time (--max-tests); try again later";
  }

  // A data connection of a test in progress goes to that test; false when it has none.
  bool route_data(tcp::socket& socket, const std::string& cookie, int stream, bool iperf3) {
    if (concurrent()) return hand_to_slot(socket, cookie, stream, iperf3);
    if (!active_ || cookie != active_->cookie) return false;
    int queued = int(active_->arrived.size());
    if (iperf3) {
      if (!active_->iperf3 || active_->accepted + queued >= active_->connections) return false;
      stream = active_->accepted + queued;
    } else if (queued >= active_->connections) {
      return false;
    }
    active_->arrived.emplace_back(stream, std::move(socket));
    return true;
  }

  bool hand_to_slot(tcp::socket& socket, const std::string& cookie, int stream, bool iperf3) {
    TestSlot* slot = find_slot(cookie, iperf3);
    if (!slot) return false;
    asio::error_code ec;
    auto protocol = socket.local_endpoint(ec).protocol();
    int fd = ec ? -1 : socket.release(ec);
    if (!ec) slot->hand_over(stream, fd, protocol);
    return true;
  }

  TestSlot* find_slot(const std::string& cookie, bool iperf3) const {
    for (const auto& [id, slot] : slots_)
      if (slot->cookie() == cookie && slot->iperf3() == iperf3) return slot.get();
    return nullptr;
  }

  void start_test(Waiting w) {
    if (!concurrent()) {
      waiting_.push_back(std::move(w));
      return;
    }
    std::string who = peer_name(w.socket);
    asio::error_code ec;
    auto protocol = w.socket.local_endpoint(ec).protocol();
    int fd = ec ? -1 : w.socket.release(ec);
    if (ec) {
      log("cannot start a test for " + who + ": " + ec.message());
      return;
    }
    int id = started_ + 1;
    auto done = [this, id] { asio::post(loop_.io(), [this, id] { reap(id); }); };
    try {
      slots_.emplace(id, std::make_unique<TestSlot>(opt_, shared_, overlaps_, claims_, fd, protocol,
                                                    w.cookie, w.iperf3, done));
    } catch (const std::system_error& e) {  // no thread to be had: this client goes unserved
      ::close(fd);
      log("cannot start a test for " + who + ": " + e.what());
      return;
    }
    started_ = id;
    slots_changed_ = true;
  }

  void reap(int id) {
    slots_.erase(id);  // joins the slot's thread, which is ending
    slots_changed_ = true;
  }

  void send_error_and_close(tcp::socket socket, const Error& e) {
    auto s = std::make_shared<tcp::socket>(std::move(socket));
    auto frame = std::make_shared<std::string>(encode_frame(error_message(e.code, e.message)));
    asio::async_write(*s, asio::buffer(*frame), [s, frame](const asio::error_code&, std::size_t) {
      asio::error_code ec;
      s->shutdown(tcp::socket::shutdown_both, ec);
    });
  }

  // One test on this thread, from its params to its results.
  void serve(Waiting w) {
    IncomingStreams active;
    active.cookie = w.cookie;
    active.iperf3 = w.iperf3;
    active.overlaps = &overlaps_;
    active.claims = &claims_;
    active_ = &active;
    iperf3::ServerSession env{loop_, opt_, out_, err_, active, stop_requested_};
    serve_test(env, std::move(w.socket));
    active_ = nullptr;
  }

  const ServerOptions& opt_;
  std::ostream& out_;
  std::ostream& err_;
  SharedOutput shared_;
  OverlapLog overlaps_;
  ThreadClaims claims_;  // every test's threads, so each test's cost leaves the others' out
  EventLoop loop_;
  tcp::acceptor acceptor_;
  std::deque<Waiting> waiting_;  // --max-tests 1: control connections ready to be served
  std::size_t pending_ = 0;
  IncomingStreams* active_ = nullptr;  // --max-tests 1: the test in progress
  bool stop_requested_ = false;
  std::map<int, std::unique_ptr<TestSlot>> slots_;  // --max-tests above 1: tests in progress
  int started_ = 0;
  bool slots_changed_ = false;
  bool stopping_ = false;
};

}  // namespace

int run_server(const ServerOptions& opt, std::ostream& out, std::ostream& err) {
  return Server(opt, out, err).run();
}

}  // namespace nicperf
