// The control channel. EventLoop owns an io_context and the SIGINT/SIGTERM handling; each loop
// runs on one thread (the main thread, or a server's test slot) and other threads only post to
// it. Asio tells every loop's signal_set of a signal. ControlChannel reads and writes frames
// with a deadline on every call.
#pragma once

#include <array>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/signal_set.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "nicperf/control/protocol.hpp"
#include "nicperf/stream/stream.hpp"
#include "nicperf/util/clock.hpp"

namespace nicperf {

class OverlapLog;
class ThreadClaims;

class EventLoop {
 public:
  EventLoop();
  asio::io_context& io() { return io_; }
  // Runs handlers until done() holds, the deadline passes or a signal arrives; returns done().
  bool run_until(Clock::time_point deadline, const std::function<bool()>& done);
  bool signal_pending() const { return pending_signal_ != 0; }
  // Returns the pending signal number (0 if none) and clears it.
  int take_signal();
  // Thread-safe: makes a waiting run_until() re-check its condition.
  void wake();
  // Thread-safe: a loop that has seen no signal acts as if SIGTERM came (a server's test slot
  // started just as the signal arrived). It does not count toward the second-signal exit.
  void interrupt();

 private:
  void arm_signals();
  asio::io_context io_;
  asio::signal_set signals_;
  int pending_signal_ = 0;
  int signal_count_ = 0;
};

class ControlChannel {
 public:
  ControlChannel(EventLoop& loop, asio::ip::tcp::socket socket);
  ~ControlChannel();
  ControlChannel(const ControlChannel&) = delete;
  ControlChannel& operator=(const ControlChannel&) = delete;

  // A frame; nullopt when the deadline passed, a signal came or stop() held first; an error
  // when the peer closed, failed or sent a bad frame.
  Expected<std::optional<Frame>> read(Clock::time_point deadline,
                                      const std::function<bool()>& stop = nullptr);
  // Reads the next frame, which must be of `type`; an "error" frame from the peer becomes an
  // Error.
  Expected<Json> expect(MsgType type, Clock::time_point deadline);
  // Exactly n raw bytes, for peers that speak no nicperf frames (iperf3's state bytes and
  // length-prefixed JSON); nullopt on deadline, signal or stop(). Not mixed with read().
  Expected<std::optional<std::string>> read_bytes(std::size_t n, Clock::time_point deadline,
                                                  const std::function<bool()>& stop = nullptr);
  Status write(const Json& msg, Clock::time_point deadline);
  Status write_raw(std::string_view bytes, Clock::time_point deadline);
  asio::ip::tcp::socket& socket();
  void close();

 private:
  struct State;
  void arm_read();
  EventLoop& loop_;
  std::shared_ptr<State> state_;
};

// Data connections the acceptor hands to the test in progress, in arrival order with the
// stream index their greeting named (iperf3's carry none: arrival order is the index).
struct IncomingStreams {
  std::string cookie;
  bool iperf3 = false;
  int connections = 0;
  std::deque<std::pair<int, asio::ip::tcp::socket>> arrived;
  int accepted = 0;  // handed over so far
  // The server's record of the tests running beside this one, and this test's client as the
  // others' reports name it (null: no record kept).
  OverlapLog* overlaps = nullptr;
  std::string peer;
  // The server's claims on its threads, shared by the tests it runs (null on a client).
  ThreadClaims* claims = nullptr;
};

// Resolves and connects with a deadline; prepare(fd) runs between socket() and connect() so
// buffer sizes apply to the handshake. family: 0 any, 4 or 6. protocol: socket()'s third
// argument (IPPROTO_MPTCP for -m), 0 = plain TCP.
using PrepareSocket = std::function<Status(int fd)>;
Expected<asio::ip::tcp::socket> connect_tcp(EventLoop& loop, const std::string& host, int port,
                                            int family, Clock::time_point deadline,
                                            const PrepareSocket& prepare);
Expected<asio::ip::tcp::socket> connect_endpoint(EventLoop& loop, const asio::ip::tcp::endpoint& ep,
                                                 Clock::time_point deadline,
                                                 const PrepareSocket& prepare, int protocol = 0);

// Turns a frame of type "error" into an Error (code from its name, message from the peer).
Error peer_error(const Json& frame);
// A frame that has no place here: the peer's error if it is one, else a protocol error.
Error unexpected_frame(const Frame& frame, const std::string& message);

}  // namespace nicperf
