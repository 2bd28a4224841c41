#include "nicperf/control/channel.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <asio/connect.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <iostream>

namespace nicperf {

EventLoop::EventLoop() : signals_(io_, SIGINT, SIGTERM) {
  signals_.add(SIGHUP);
  arm_signals();
}

void EventLoop::arm_signals() {
  signals_.async_wait([this](const asio::error_code& ec, int sig) {
    if (ec) return;
    if (++signal_count_ > 1) {
      // A second signal means the clean stop is not wanted or is stuck.
      static const char msg[] = "nicperf: second signal, exiting at once\n";
      (void)!::write(2, msg, sizeof msg - 1);
      std::_Exit(130);
    }
    pending_signal_ = sig;
    arm_signals();
  });
}

bool EventLoop::run_until(Clock::time_point deadline, const std::function<bool()>& done) {
  while (!(done && done()) && !signal_pending()) {
    if (Clock::now() >= deadline) break;
    if (io_.stopped()) io_.restart();
    io_.run_one_until(deadline);
  }
  return done && done();
}

int EventLoop::take_signal() { return std::exchange(pending_signal_, 0); }

void EventLoop::wake() {
  asio::post(io_, [] {});
}

void EventLoop::interrupt() {
  asio::post(io_, [this] {
    if (signal_count_ == 0) pending_signal_ = SIGTERM;
  });
}

struct ControlChannel::State {
  explicit State(asio::ip::tcp::socket s) : socket(std::move(s)) {}
  asio::ip::tcp::socket socket;
  FrameDecoder decoder;
  std::array<char, 65536> buf{};
  bool reading = false;
  bool raw = false;  // bytes go to raw_bytes instead of the frame decoder
  std::string raw_bytes;
  std::optional<Error> error;
};

ControlChannel::ControlChannel(EventLoop& loop, asio::ip::tcp::socket socket)
    : loop_(loop), state_(std::make_shared<State>(std::move(socket))) {}

ControlChannel::~ControlChannel() { close(); }

asio::ip::tcp::socket& ControlChannel::socket() { return state_->socket; }

void ControlChannel::close() {
  asio::error_code ec;
  state_->socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  state_->socket.close(ec);
}

void ControlChannel::arm_read() {
  auto st = state_;
  if (st->reading || st->error) return;
  st->reading = true;
  st->socket.async_read_some(
      asio::buffer(st->buf), [st](const asio::error_code& ec, std::size_t n) {
        st->reading = false;
        if (ec) {
          st->error =
              Error{Errc::kConnect, ec == asio::error::eof ? "peer closed the control connection"
                                                           : "control connection: " + ec.message()};
          return;
        }
        if (st->raw)
          st->raw_bytes.append(st->buf.data(), n);
        else
          st->decoder.feed(st->buf.data(), n);
      });
}

Expected<std::optional<Frame>> ControlChannel::read(Clock::time_point deadline,
                                                    const std::function<bool()>& stop) {
  auto st = state_;
  for (;;) {
    auto frame = st->decoder.next();
    if (!frame) return frame.error();
    if (*frame) return std::move(*frame);
    if (st->error) return *st->error;
    arm_read();
    bool progressed = loop_.run_until(deadline, [&] { return !st->reading || (stop && stop()); });
    if (!progressed || st->reading) return std::optional<Frame>{};
  }
}

Expected<std::optional<std::string>> ControlChannel::read_bytes(std::size_t n,
                                                                Clock::time_point deadline,
                                                                const std::function<bool()>& stop) {
  auto st = state_;
  st->raw = true;
  for (;;) {
    if (st->raw_bytes.size() >= n) {
      std::string out = st->raw_bytes.substr(0, n);
      st->raw_bytes.erase(0, n);
      return std::optional<std::string>(std::move(out));
    }
    if (st->error) return *st->error;
    arm_read();
    bool progressed = loop_.run_until(deadline, [&] { return !st->reading || (stop && stop()); });
    if (!progressed || st->reading) return std::optional<std::string>{};
  }
}

Expected<Json> ControlChannel::expect(MsgType type, Clock::time_point deadline) {
  std::string want = msg_type_name(type);
  auto frame = read(deadline);
  if (!frame) return frame.error();
  if (!*frame) {
    if (loop_.signal_pending()) return Error{Errc::kInterrupted, "interrupted by a signal"};
    return Error{Errc::kTimeout, "peer did not send '" + want + "' in time"};
  }
  Frame& f = **frame;
  if (f.type == type) return std::move(f.msg);
  return unexpected_frame(
      f, "expected '" + want + "' from the peer, got '" + std::string(msg_type_name(f.type)) + "'");
}

Status ControlChannel::write(const Json& msg, Clock::time_point deadline) {
  return write_raw(encode_frame(msg), deadline);
}

Status ControlChannel::write_raw(std::string_view bytes, Clock::time_point deadline) {
  auto st = state_;
  auto data = std::make_shared<std::string>(bytes);
  auto result = std::make_shared<std::optional<asio::error_code>>();
  asio::async_write(st->socket, asio::buffer(*data),
                    [data, result](const asio::error_code& ec, std::size_t) { *result = ec; });
  loop_.run_until(deadline, [&] { return result->has_value(); });
  if (!result->has_value()) {
    close();  // cancels the write; its handler only touches the shared state
    return Error{Errc::kTimeout, "peer did not take control data in time"};
  }
  if (**result) return Error{Errc::kConnect, "control connection: " + (*result)->message()};
  return ok();
}

Expected<asio::ip::tcp::socket> connect_endpoint(EventLoop& loop, const asio::ip::tcp::endpoint& ep,
                                                 Clock::time_point deadline,
                                                 const PrepareSocket& prepare, int protocol) {
  asio::ip::tcp::socket sock(loop.io());
  asio::error_code ec;
  if (protocol) {  // asio's tcp opens IPPROTO_TCP only: make the socket, then hand it over
    int fd = ::socket(ep.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC, protocol);
    if (fd < 0) return Error{Errc::kSystem, errno_text("cannot create a socket", errno)};
    sock.assign(ep.protocol(), fd, ec);
    if (ec) ::close(fd);
  } else {
    sock.open(ep.protocol(), ec);
  }
  if (ec) return Error{Errc::kConnect, "cannot create a socket: " + ec.message()};
  if (prepare)
    if (auto st = prepare(sock.native_handle()); !st) return st.error();
  auto result = std::make_shared<std::optional<asio::error_code>>();
  sock.async_connect(ep, [result](const asio::error_code& e) { *result = e; });
  loop.run_until(deadline, [&] { return result->has_value(); });
  std::string where = ep.address().to_string() + " port " + std::to_string(ep.port());
  if (!result->has_value()) {
    sock.close(ec);
    loop.run_until(Clock::now() + std::chrono::seconds(1), [&] { return result->has_value(); });
    if (loop.signal_pending()) return Error{Errc::kInterrupted, "interrupted while connecting"};
    return Error{Errc::kConnect, "connecting to " + where + " timed out"};
  }
  if (**result)
    return Error{Errc::kConnect, "cannot connect to " + where + ": " + (*result)->message() +
                                     " (is 'nicperf -s' running there?)"};
  return sock;
}

Expected<asio::ip::tcp::socket> connect_tcp(EventLoop& loop, const std::string& host, int port,
                                            int family, Clock::time_point deadline,
                                            const PrepareSocket& prepare) {
  asio::ip::tcp::resolver resolver(loop.io());
  asio::error_code ec;
  auto results = family == 4 ? resolver.resolve(asio::ip::tcp::v4(), host, std::to_string(port), ec)
                 : family == 6
                     ? resolver.resolve(asio::ip::tcp::v6(), host, std::to_string(port), ec)
                     : resolver.resolve(host, std::to_string(port), ec);
  if (ec || results.empty())
    return Error{Errc::kConnect, "cannot resolve host '" + host +
                                     "': " + (ec ? ec.message() : "no address of that family")};
  Error last{Errc::kConnect, "no address to connect to"};
  for (const auto& entry : results) {
    auto sock = connect_endpoint(loop, entry.endpoint(), deadline, prepare);
    if (sock) return sock;
    last = sock.error();
    if (last.code == Errc::kInterrupted) break;
  }
  return last;
}

Error peer_error(const Json& frame) {
  auto text = [&](const char* key, const char* fallback) {
    auto it = frame.find(key);
    return it != frame.end() && it->is_string() ? it->get<std::string>() : std::string(fallback);
  };
  std::string code = text("code", "test_failed");
  std::string message = text("message", "peer reported an error");
  Errc errc = Errc::kTestFailed;
#define NICPERF_MATCH(name, value, text) \
  if (code == text) errc = Errc::name;
  NICPERF_ERRORS(NICPERF_MATCH)
#undef NICPERF_MATCH
  return {errc, "peer: " + message.substr(0, 512)};
}

Error unexpected_frame(const Frame& frame, const std::string& message) {
  switch (frame.type) {
    case MsgType::kError:
      return peer_error(frame.msg);
    default:
      return {Errc::kProtocol, message};
  }
}

}  // namespace nicperf
