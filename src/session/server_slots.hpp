// The server's tests: serving one test on an event loop, running several at once in slots
// (--max-tests above 1), and the log of which tests overlapped which.
//
// With --max-tests 1 the main thread serves each test itself. Above 1 the main thread only
// accepts and dispatches: each test gets a slot, a thread with its own EventLoop, and the main
// thread hands it the control connection and every data connection with its cookie (sockets
// travel as file descriptors through asio::post, so each loop stays on one thread).
#pragma once

#include <asio/ip/tcp.hpp>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <streambuf>
#include <string>
#include <thread>

#include "nicperf/control/channel.hpp"
#include "nicperf/iperf3/iperf3.hpp"
#include "nicperf/results/results.hpp"
#include "nicperf/session/session.hpp"

namespace nicperf {

// A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d; this shows them as plain IPv4.
std::string address_text(asio::ip::address addr);
std::string peer_name(const asio::ip::tcp::socket& s);  // "ADDR port N"
// A server's log line: stdout with text output, stderr when stdout carries JSON.
void server_log(const ServerOptions& opt, std::ostream& out, std::ostream& err,
                const std::string& line);

// One test from its control connection to its results (nicperf's protocol or iperf3's, as
// env.incoming.iperf3 says). Failures end the test with a log line; the server carries on.
void serve_test(iperf3::ServerSession& env, asio::ip::tcp::socket control);

// Which tests ran at the same time. A test's span is from its streams' start to their end;
// every test whose span meets another's counts in the other's overlap. Thread-safe.
class OverlapLog {
 public:
  int begin(const std::string& peer);  // a test's streams start; returns its id
  Overlap end(int id);                 // they ended: every test that ran meanwhile

 private:
  struct Entry {
    std::string peer;
    Overlap overlap;
  };
  static void note(Overlap& o, const std::string& peer);
  std::mutex mutex_;
  std::map<int, Entry> running_;
  int next_id_ = 0;
};

// A test's span in an OverlapLog; ends by itself when the test fails before end().
class OverlapSpan {
 public:
  explicit OverlapSpan(const IncomingStreams& test);
  ~OverlapSpan();
  OverlapSpan(const OverlapSpan&) = delete;
  OverlapSpan& operator=(const OverlapSpan&) = delete;
  std::optional<Overlap> end();  // nullopt when the server keeps no log

 private:
  OverlapLog* log_;
  int id_ = 0;
};

// The server's stdout and stderr, shared by tests on several threads: each flush of a test's
// stream reaches them whole, so concurrent reports interleave by blocks, never mid-line.
class SharedOutput {
 public:
  SharedOutput(std::ostream& out, std::ostream& err) : out_(out), err_(err) {}
  void write(bool to_err, const std::string& text);

 private:
  std::mutex mutex_;
  std::ostream& out_;
  std::ostream& err_;
};

// One test's own output streams over a SharedOutput.
class TestOutput {
 public:
  explicit TestOutput(SharedOutput& shared);
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }

 private:
  class Buffer : public std::streambuf {
   public:
    Buffer(SharedOutput& shared, bool to_err) : shared_(shared), to_err_(to_err) {}
    ~Buffer() override { Buffer::sync(); }

   protected:
    int_type overflow(int_type c) override;
    std::streamsize xsputn(const char* s, std::streamsize n) override;
    int sync() override;

   private:
    SharedOutput& shared_;
    bool to_err_;
    std::string pending_;
  };
  Buffer out_buf_, err_buf_;
  std::ostream out_, err_;
};

// One test on its own thread and event loop. Thread-safe: constructed, handed data connections
// and destroyed (which joins) on the main thread; it serves on its own thread.
class TestSlot {
 public:
  // Takes the control connection's fd; done() runs on the slot's thread as it finishes.
  TestSlot(const ServerOptions& opt, SharedOutput& output, OverlapLog& overlaps,
           ThreadClaims& claims, int control_fd, asio::ip::tcp protocol, std::string cookie,
           bool iperf3, std::function<void()> done);
  TestSlot(const TestSlot&) = delete;
  TestSlot& operator=(const TestSlot&) = delete;

  const std::string& cookie() const { return cookie_; }
  bool iperf3() const { return incoming_.iperf3; }  // set before the thread starts
  // A data connection of this test (stream index, or -1 for iperf3's arrival order); takes fd.
  void hand_over(int stream, int fd, asio::ip::tcp protocol);
  // Stops the test as a signal would, if its loop has not heard the signal itself.
  void stop() { loop_.interrupt(); }

 private:
  void serve(int control_fd, asio::ip::tcp protocol);
  void take_stream(int stream, int fd, asio::ip::tcp protocol);

  const ServerOptions& opt_;
  const std::string cookie_;
  TestOutput output_;
  EventLoop loop_;
  IncomingStreams incoming_;
  std::function<void()> done_;
  std::jthread thread_;  // last: starts once all it uses exists, joins before that goes
};

}  // namespace nicperf
