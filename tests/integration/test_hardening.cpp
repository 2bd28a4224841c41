// A server no client can break: every class of bad control input gets an error frame (when the
// peer can still read one), and the same server then runs a valid test.
#include <arpa/inet.h>
#include <dirent.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <fstream>
#include <random>

#include "harness.hpp"
#include "nicperf/control/protocol.hpp"
#include "nicperf/spec/spec.hpp"

using harness::Proc;
using harness::Server;
using nlohmann::json;
using namespace nicperf;

namespace {

// A hand-driven control connection.
class Raw {
 public:
  explicit Raw(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(std::uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~Raw() { close(fd_); }
  void send(const std::string& bytes) {
    REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == ssize_t(bytes.size()));
  }
  void greet(ConnKind kind, const std::string& cookie, int stream = 0) {
    auto g = encode_greeting({kind, kProtocolVersion, stream, cookie});
    send(std::string(g.data(), g.size()));
  }
  // Everything until the server closes (or 10 s pass).
  std::string rest() {
    std::string out;
    char buf[4096];
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 10000) <= 0) break;
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, std::size_t(n));
    }
    return out;
  }
  // The first frame the server sends.
  json frame() {
    FrameDecoder d;
    char buf[4096];
    for (;;) {
      auto f = d.next();
      if (!f) return json();
      if (*f) return (*f)->msg;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 10000) <= 0) return json();
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) return json();
      d.feed(buf, std::size_t(n));
    }
  }

 private:
  int fd_;
};

std::string length_prefix(std::uint32_t n) {
  return {char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
}

json params_with(const char* key, const json& value) {
  json spec = to_json(TestSpec{});
  spec[key] = value;
  return {{"type", "params"}, {"spec", spec}};
}

void valid_test_passes(Server& s) {
  auto c = s.client({"-n", "2M", "-J"});
  CHECK(c->wait(0) == 0);
  CHECK(c->json()["end"]["sum_received"]["bytes"] == 2u << 20);
  CHECK(s.proc().running());
}

long status_field(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string k;
  while (in >> k) {
    if (k == key + ":") {
      long v = 0;
      in >> v;
      return v;
    }
    in.ignore(1 << 12, '\n');
  }
  return -1;
}

}  // namespace

TEST_CASE("every bad-input class gets a clear answer, then a valid test runs") {
  Server s({"--rcv-timeout", "1"});
  REQUIRE(s.port() > 0);
  struct Case {
    const char* name;
    std::function<std::string(Raw&)> act;  // returns what the reply must contain
  };
  std::string cookie = make_cookie();
  std::vector<Case> cases = {
      {"random bytes",
       [](Raw& r) {
         std::mt19937 rng(7);
         std::string junk(10000, '\0');
         for (auto& c : junk) c = char(rng());
         r.send(junk);
         return std::string("not a nicperf client");
       }},
      {"length prefix 0",
       [&](Raw& r) {
         r.greet(ConnKind::kControl, cookie);
         r.send(length_prefix(0));
         return std::string("frame length 0");
       }},
      {"length prefix 2^32-1",
       [&](Raw& r) {
         r.greet(ConnKind::kControl, cookie);
         r.send(length_prefix(0xffffffffu));
         return std::string("frame length 4294967295");
       }},
      {"wrong types",
       [&](Raw& r) {
         r.greet(ConnKind::kControl, cookie);
         r.send(encode_frame(params_with("streams", "four")));
         return std::string("field 'streams' must be an integer");
       }},
      {"out of range",
       [&](Raw& r) {
         r.greet(ConnKind::kControl, cookie);
         r.send(encode_frame(params_with("streams", 100000)));
         return std::string("streams must be");
       }},
      {"huge block length",
       [&](Raw& r) {
         r.greet(ConnKind::kControl, cookie);
         r.send(encode_frame(params_with("block_len", 1ull << 40)));
         return std::string("block length must be");
       }},
      {"unknown greeting version",
       [&](Raw& r) {
         auto g = encode_greeting({ConnKind::kControl, 9, 0, cookie});
         r.send(std::string(g.data(), g.size()));
         return std::string("protocol version 9");
       }},
      {"old frame version",
       [&](Raw& r) {
         r.greet(ConnKind::kControl, cookie);
         std::string body = R"({"v":0,"type":"params"})";
         r.send(length_prefix(std::uint32_t(body.size())) + body);
         return std::string("protocol version 0");
       }},
      {"wrong message",
       [&](Raw& r) {
         r.greet(ConnKind::kControl, cookie);
         r.send(encode_frame({{"type", "results"}}));
         return std::string("expected 'params'");
       }},
      {"unknown message type",
       [&](Raw& r) {
         r.greet(ConnKind::kControl, cookie);
         r.send(encode_frame({{"type", "hello"}}));
         return std::string("unknown control message type 'hello'");
       }},
      {"unknown message type while streams connect",
       [&](Raw& r) {
         r.greet(ConnKind::kControl, cookie);
         r.send(encode_frame(params_with("streams", 1)));
         CHECK(r.frame()["type"] == "accept");
         r.send(encode_frame({{"type", "bogus"}}));
         return std::string("unknown control message type 'bogus'");
       }},
      {"silent after the greeting",
       [&](Raw& r) {
         r.greet(ConnKind::kControl, cookie);
         return std::string("did not send 'params' in time");
       }},
      {"data connections that never come",
       [&](Raw& r) {
         r.greet(ConnKind::kControl, cookie);
         r.send(encode_frame(params_with("streams", 2)));
         CHECK(r.frame()["type"] == "accept");
         return std::string("only 0 of 2 data connections arrived");
       }},
  };
  for (auto& c : cases) {
    CAPTURE(c.name);
    Raw r(s.port());
    std::string want = c.act(r);
    std::string reply = r.rest();
    CHECK(reply.find(want) != std::string::npos);
    valid_test_passes(s);
  }
}

TEST_CASE("a server that answers with an unknown message type is a protocol error" *
          doctest::test_suite("parallel")) {
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(listen(lfd, 1) == 0);
  socklen_t len = sizeof a;
  REQUIRE(getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  Proc c({"-c", "127.0.0.1", "-p", std::to_string(ntohs(a.sin_port)), "-n", "1M", "-J"});
  pollfd p{lfd, POLLIN, 0};
  REQUIRE(poll(&p, 1, 10000) == 1);
  int fd = accept(lfd, nullptr, nullptr);
  REQUIRE(fd >= 0);
  char buf[4096];
  std::size_t got = 0;  // the greeting (the params frame follows it)
  while (got < kGreetingSize) {
    ssize_t n = read(fd, buf, sizeof buf);
    REQUIRE(n > 0);
    got += std::size_t(n);
  }
  std::string reply = encode_frame({{"type", "welcome"}});
  REQUIRE(write(fd, reply.data(), reply.size()) == ssize_t(reply.size()));
  CHECK(c.wait(10) == 5);
  CHECK(c.json()["error"].get<std::string>().find("unknown control message type 'welcome'") !=
        std::string::npos);
  close(fd);
  close(lfd);
}

TEST_CASE("a data connection with a wrong cookie is turned away") {
  Server s({"--rcv-timeout", "1"});
  std::string cookie = make_cookie();
  Raw control(s.port());
  control.greet(ConnKind::kControl, cookie);
  control.send(encode_frame(params_with("streams", 1)));
  REQUIRE(control.frame()["type"] == "accept");
  Raw intruder(s.port());
  intruder.greet(ConnKind::kData, make_cookie(), 0);
  CHECK(intruder.rest().empty());  // closed without a word
  CHECK(control.rest().find("only 0 of 1 data connections arrived") != std::string::npos);
  valid_test_passes(s);
}

TEST_CASE("silence, cut frames and vanishing peers at every stage") {
  Server s({"--rcv-timeout", "1"});
  std::string cookie = make_cookie();
  {  // connects and says nothing at all
    Raw r(s.port());
    CHECK(r.rest().empty());
  }
  valid_test_passes(s);
  {  // closes in the middle of a frame
    Raw r(s.port());
    r.greet(ConnKind::kControl, cookie);
    std::string f = encode_frame(params_with("streams", 1));
    r.send(f.substr(0, f.size() / 2));
  }
  valid_test_passes(s);
  {  // goes away after accept, before its streams
    Raw r(s.port());
    r.greet(ConnKind::kControl, cookie);
    r.send(encode_frame(params_with("streams", 1)));
    CHECK(r.frame()["type"] == "accept");
  }
  valid_test_passes(s);
  // Killed while running, in each direction.
  for (const char* dir : {"", "-R"}) {
    std::vector<std::string> args = {"-c", "127.0.0.1", "-p", s.port_arg(), "-t", "20"};
    if (*dir) args.push_back(dir);
    Proc c(args);
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    c.signal(SIGKILL);
    c.wait(5);
    valid_test_passes(s);
  }
}

TEST_CASE("server limits refuse a test with a clear error" * doctest::test_suite("parallel")) {
  Server s({"--max-streams", "2", "--max-duration", "5", "--max-bytes", "1M"});
  auto many = s.client({"-P", "4", "-t", "1"});
  CHECK(many->wait(0) == 2);
  CHECK(many->err().find("streams must be 1-2, got 4") != std::string::npos);
  auto longer = s.client({"-t", "30"});
  CHECK(longer->wait(0) == 2);
  CHECK(longer->err().find("duration must be") != std::string::npos);
  auto bigger = s.client({"-n", "2M"});
  CHECK(bigger->wait(0) == 2);
  CHECK(bigger->err().find("byte count exceeds") != std::string::npos);
  auto fine = s.client({"-n", "1M", "-P", "2"});
  CHECK(fine->wait(0) == 0);
}

TEST_CASE("many tests in a row leave the server's fds, threads, memory and temp files alone") {
  const char* env = std::getenv("NICPERF_LEAK_TESTS");
  // 300 tests show a leak of one fd or thread per test, or 28 kB of memory per test; set
  // NICPERF_LEAK_TESTS=1000 or more to look for slower ones.
  int tests = env ? std::atoi(env) : 300;
  char dir_template[] = "/tmp/nicperf-leak.XXXXXX";
  REQUIRE(mkdtemp(dir_template));
  std::string dir = dir_template;
  const char* old = std::getenv("TMPDIR");
  std::string saved = old ? old : "";
  setenv("TMPDIR", dir.c_str(), 1);
  Server s;
  if (old)
    setenv("TMPDIR", saved.c_str(), 1);
  else
    unsetenv("TMPDIR");
  REQUIRE(s.port() > 0);
  pid_t pid = s.proc().pid();
  auto fds = [&] { return harness::count_entries("/proc/" + std::to_string(pid) + "/fd"); };
  // The server may still be closing the last test's sockets when its client has exited:
  // read the counts once they have held still for a moment.
  auto settled = [](auto read) {
    auto value = read();
    for (int i = 0; i < 40; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      auto again = read();
      if (again == value) return value;
      value = again;
    }
    return value;
  };
  auto threads = [&] { return status_field(pid, "Threads"); };
  valid_test_passes(s);  // warm up: first-use allocations
  int fd0 = settled(fds);
  long threads0 = settled(threads), rss0 = status_field(pid, "VmRSS");
  for (int i = 0; i < tests; ++i) {
    auto c = s.client(
        {"-n", "64K", "-i", "0", "--cost", i % 2 ? "full" : "off", "-P", i % 3 ? "1" : "2"});
    REQUIRE(c->wait(0) == 0);
  }
  CHECK(settled(fds) == fd0);
  CHECK(settled(threads) == threads0);
  long rss1 = status_field(pid, "VmRSS");
  MESSAGE(tests << " tests: server RSS " << rss0 << " kB -> " << rss1 << " kB");
  // Sanitizer builds hold freed memory in quarantine; LeakSanitizer checks leaks there.
  if (std::string(NICPERF_SANITIZERS).empty()) CHECK(rss1 < rss0 + 8 * 1024);
  CHECK(harness::count_entries(dir) == 0);
  s.proc().signal(SIGTERM);
  CHECK(s.proc().wait(10) == 0);
  CHECK(harness::count_entries(dir) == 0);
  rmdir(dir.c_str());
}

TEST_CASE("--auth-file: the right secret passes, a wrong or missing one is denied" *
          doctest::test_suite("parallel")) {
  char good[] = "/tmp/nicperf-auth-good.XXXXXX", bad[] = "/tmp/nicperf-auth-bad.XXXXXX";
  close(mkstemp(good));
  close(mkstemp(bad));
  std::ofstream(good) << "correct horse battery staple\n";
  std::ofstream(bad) << "incorrect horse battery staple\n";
  Server s({"--auth-file", good});
  auto ok = s.client({"-n", "1M", "--auth-file", good, "-J"});
  CHECK(ok->wait(0) == 0);
  CHECK(ok->json()["end"]["sum_received"]["bytes"] == 1u << 20);
  auto wrong = s.client({"-n", "1M", "--auth-file", bad});
  CHECK(wrong->wait(0) == 8);
  CHECK(wrong->err().find("authentication failed") != std::string::npos);
  auto none = s.client({"-n", "1M"});
  CHECK(none->wait(0) == 8);
  CHECK(none->err().find("requires authentication") != std::string::npos);
  auto again = s.client({"-n", "1M", "--auth-file", good});
  CHECK(again->wait(0) == 0);
  unlink(good);
  unlink(bad);
}

TEST_CASE("SIGTERM on the server mid-test: both sides end cleanly and leave no temp file" *
          doctest::test_suite("parallel")) {
  char dir_template[] = "/tmp/nicperf-term.XXXXXX";
  REQUIRE(mkdtemp(dir_template));
  std::string dir = dir_template;
  setenv("TMPDIR", dir.c_str(), 1);
  {
    Server s;
    Proc c({"-c", "127.0.0.1", "-p", s.port_arg(), "-t", "20", "-J"});
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    s.proc().signal(SIGTERM);
    CHECK(s.proc().wait(10) == 0);
    int code = c.wait(20);
    CHECK(code != 0);
    CHECK(code != -1);  // it ended by itself
    json j = c.json();
    CHECK(j.is_object());  // what was measured is still reported, with the error
    CHECK(j.contains("error"));
  }
  unsetenv("TMPDIR");
  CHECK(harness::count_entries(dir) == 0);
  rmdir(dir.c_str());
}
