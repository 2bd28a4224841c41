// Concurrent tests on the server (--max-tests above 1): slots, their output and the overlap log.
#include "session/server_slots.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <asio/post.hpp>

#include "nicperf/cost/cost.hpp"
#include "nicperf/util/unique_fd.hpp"

namespace nicperf {

int OverlapLog::begin(const std::string& peer) {
  std::lock_guard lock(mutex_);
  Entry mine{peer, {}};
  for (auto& [id, other] : running_) {
    note(other.overlap, peer);
    note(mine.overlap, other.peer);
  }
  running_.emplace(++next_id_, std::move(mine));
  return next_id_;
}

Overlap OverlapLog::end(int id) {
  std::lock_guard lock(mutex_);
  auto node = running_.extract(id);
  return node ? node.mapped().overlap : Overlap{};
}

void OverlapLog::note(Overlap& o, const std::string& peer) {
  ++o.tests;
  if (o.peers.size() < kMaxOverlapPeers) o.peers.push_back(peer);
}

OverlapSpan::OverlapSpan(const IncomingStreams& test) : log_(test.overlaps) {
  if (log_) id_ = log_->begin(test.peer);
}

OverlapSpan::~OverlapSpan() { (void)end(); }

std::optional<Overlap> OverlapSpan::end() {
  if (!log_) return std::nullopt;
  Overlap o = log_->end(id_);
  log_ = nullptr;
  return o;
}

void SharedOutput::write(bool to_err, const std::string& text) {
  std::lock_guard lock(mutex_);
  std::ostream& to = to_err ? err_ : out_;
  to << text << std::flush;
}

TestOutput::TestOutput(SharedOutput& shared)
    : out_buf_(shared, false), err_buf_(shared, true), out_(&out_buf_), err_(&err_buf_) {}

TestOutput::Buffer::int_type TestOutput::Buffer::overflow(int_type c) {
  if (!traits_type::eq_int_type(c, traits_type::eof())) pending_ += traits_type::to_char_type(c);
  return traits_type::not_eof(c);
}

std::streamsize TestOutput::Buffer::xsputn(const char* s, std::streamsize n) {
  pending_.append(s, std::size_t(n));
  return n;
}

int TestOutput::Buffer::sync() {
  if (!pending_.empty()) shared_.write(to_err_, pending_);
  pending_.clear();
  return 0;
}

TestSlot::TestSlot(const ServerOptions& opt, SharedOutput& output, OverlapLog& overlaps,
                   ThreadClaims& claims, int control_fd, asio::ip::tcp protocol, std::string cookie,
                   bool iperf3, std::function<void()> done)
    : opt_(opt), cookie_(std::move(cookie)), output_(output), done_(std::move(done)) {
  incoming_.cookie = cookie_;
  incoming_.iperf3 = iperf3;
  incoming_.overlaps = &overlaps;
  incoming_.claims = &claims;
  // The main thread takes every signal and the loops all hear of it (Asio tells every
  // signal_set): block them here, before the thread exists, so it inherits the mask.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  thread_ = std::jthread([this, control_fd, protocol] {
    // Another test's collector must not count this thread as its own process's rest.
    incoming_.claims->claim(this, {gettid()});
    serve(control_fd, protocol);
    incoming_.claims->release(this);
  });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void TestSlot::serve(int control_fd, asio::ip::tcp protocol) {
  {
    asio::error_code ec;
    asio::ip::tcp::socket control(loop_.io());
    control.assign(protocol, control_fd, ec);
    if (ec) {
      ::close(control_fd);
    } else {
      bool stop_requested = false;  // the main thread stops the server on the same signal
      iperf3::ServerSession env{loop_,         opt_,      output_.out(),
                                output_.err(), incoming_, stop_requested};
      serve_test(env, std::move(control));
    }
    // Connections still queued for this test close here, on the loop's own thread.
    incoming_.arrived.clear();
  }
  output_.out().flush();
  output_.err().flush();
  done_();
}

// The descriptor is closed if the loop ends before taking it.
void TestSlot::hand_over(int stream, int fd, asio::ip::tcp protocol) {
  asio::post(loop_.io(), [this, stream, protocol, owned = UniqueFd(fd)]() mutable {
    take_stream(stream, owned.release(), protocol);
  });
}

// On the slot's thread: the same checks the main thread makes for a test it serves itself.
void TestSlot::take_stream(int stream, int fd, asio::ip::tcp protocol) {
  asio::ip::tcp::socket socket(loop_.io());
  asio::error_code ec;
  socket.assign(protocol, fd, ec);
  if (ec) {
    ::close(fd);
    return;
  }
  IncomingStreams& in = incoming_;
  int queued = in.accepted + int(in.arrived.size());
  if (in.iperf3 ? queued < in.connections : int(in.arrived.size()) < in.connections) {
    in.arrived.emplace_back(in.iperf3 ? queued : stream, std::move(socket));
    return;
  }
  server_log(opt_, output_.out(), output_.err(),
             "rejected data connection from " + peer_name(socket) +
                 ": its test takes no more connections");
}

}  // namespace nicperf
