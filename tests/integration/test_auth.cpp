// Authentication end to end (issue #22): --auth-file against stock iperf3 clients, iperf3's RSA
// tokens in both roles against Debian's iperf3 3.12 (which pads with PKCS#1 v1.5 only), and
// the secret files nicperf refuses to trust.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../rsa_keys.hpp"
#include "harness.hpp"
#include "nicperf/control/auth.hpp"
#include "nicperf/control/protocol.hpp"
#include "nicperf/control/rsa_auth.hpp"
#include "nicperf/spec/spec.hpp"

using harness::have_iperf3;
using harness::kIperf3;
using harness::Proc;
using harness::Server;

namespace {

// Keys, a users file with mario/rossi, and a shared secret, all mode 0600.
struct Fixture {
  test_keys::KeyPair keys, other;
  std::string users = keys.file("users.csv"), secret = keys.file("secret");
  Fixture() {
    std::ofstream(users) << "# iperf3 users\nmario,"
                         << nicperf::iperf3_password_hash("mario", "rossi") << "\n";
    std::ofstream(secret) << "correct horse battery staple\n";
    chmod(secret.c_str(), 0600);
  }
  std::vector<std::string> rsa_server() const {
    return {"--rsa-private-key-path", keys.private_pem, "--authorized-users-path", users,
            "--use-pkcs1-padding"};
  }
};

// A stock iperf3 client with IPERF3_PASSWORD set for it alone.
std::unique_ptr<Proc> iperf3_client(int port, const std::string& password,
                                    std::vector<std::string> extra) {
  std::vector<std::string> args = {"-c", "127.0.0.1", "-p", std::to_string(port), "-n", "1M"};
  args.insert(args.end(), extra.begin(), extra.end());
  if (!password.empty()) setenv("IPERF3_PASSWORD", password.c_str(), 1);
  auto p = std::make_unique<Proc>(kIperf3, args);
  unsetenv("IPERF3_PASSWORD");
  p->wait(30);
  return p;
}

int connect_loopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(std::uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Speaks iperf3's client side up to the server's answer to PARAM_EXCHANGE: the state byte it
// sends, and the i_errno after a SERVER_ERROR.
std::pair<int, int> raw_param_exchange(int port, const nlohmann::json& params) {
  int fd = connect_loopback(port);
  std::pair<int, int> got{0, 0};
  if (fd >= 0) {
    static int n = 0;
    std::string cookie =
        "rawclientcookieabcdefghijklmnopqrs" + std::string(1, char('a' + n++ % 26));
    cookie += 'z';
    cookie += '\0';
    std::string body = params.dump();
    auto len = std::uint32_t(body.size());
    std::string framed{char(len >> 24), char(len >> 16), char(len >> 8), char(len)};
    signed char state = 0;
    if (send(fd, cookie.data(), cookie.size(), 0) == 37 && recv(fd, &state, 1, 0) == 1 &&
        state == 9 && send(fd, (framed + body).data(), framed.size() + body.size(), 0) > 0 &&
        recv(fd, &state, 1, 0) == 1) {
      got.first = state;
      unsigned char e[4] = {};
      if (state == -2 && recv(fd, e, 4, MSG_WAITALL) == 4) got.second = (e[2] << 8) | e[3];
    }
  }
  close(fd);
  return got;
}

// Waits until the server has logged `n` failed tests (each names its peer).
bool failed_tests(Proc& server, int n) {
  return harness::wait_for_output(server, "test from 127.0.0.1", 15, n);
}

// A nicperf control connection spoken by hand, to record and replay an authentication.
struct RawControl {
  int fd;
  nicperf::FrameDecoder frames;
  RawControl(int port, const std::string& cookie) : fd(connect_loopback(port)) {
    auto g = nicperf::encode_greeting({nicperf::ConnKind::kControl, 1, 0, cookie});
    (void)!send(fd, g.data(), g.size(), 0);
  }
  ~RawControl() { close(fd); }
  void write(const nicperf::Json& msg) {
    std::string bytes = nicperf::encode_frame(msg);
    (void)!send(fd, bytes.data(), bytes.size(), 0);
  }
  nicperf::Json read() {
    for (;;) {
      auto f = frames.next();
      if (!f) return {};
      if (*f) return (*f)->msg;
      char buf[4096];
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return {};
      frames.feed(buf, std::size_t(n));
    }
  }
};

nlohmann::json params_with(const std::string& token) {
  return {{"tcp", true}, {"time", 1}, {"parallel", 1}, {"len", 131072}, {"authtoken", token}};
}

}  // namespace

TEST_CASE("--auth-file: a stock iperf3 client is refused with ACCESS_DENIED and a log line" *
          doctest::test_suite("parallel")) {
  if (!have_iperf3()) return;
  Fixture f;
  Server s({"--auth-file", f.secret});
  auto stock = iperf3_client(s.port(), "", {});
  CHECK(stock->wait(0) != 0);
  CHECK(stock->err().find("busy") != std::string::npos);  // how iperf3 3.12 words ACCESS_DENIED
  CHECK(s.proc().out().find("refused iperf3 client 127.0.0.1") != std::string::npos);
  auto good = s.client({"-n", "1M", "--auth-file", f.secret, "-J"});
  CHECK(good->wait(0) == 0);
  CHECK(good->json()["end"]["sum_received"]["bytes"] == 1u << 20);
}

TEST_CASE("RSA tokens: a stock iperf3 client with the right credentials is served, others not" *
          doctest::test_suite("parallel")) {
  if (!have_iperf3()) return;
  Fixture f;
  Server s(f.rsa_server());
  auto good = iperf3_client(s.port(), "rossi",
                            {"--username", "mario", "--rsa-public-key-path", f.keys.public_pem});
  CHECK(good->wait(0) == 0);
  struct Bad {
    const char* what;
    std::string password, user, key;
  } bad[] = {{"wrong password", "luigi", "mario", f.keys.public_pem},
             {"unknown user", "rossi", "luigi", f.keys.public_pem},
             {"wrong key", "rossi", "mario", f.other.public_pem}};
  for (const auto& b : bad) {
    CAPTURE(b.what);
    auto p =
        iperf3_client(s.port(), b.password, {"--username", b.user, "--rsa-public-key-path", b.key});
    CHECK(p->wait(0) != 0);
    CHECK(p->err().find("test authorization failed") != std::string::npos);
  }
  auto none = iperf3_client(s.port(), "", {});
  CHECK(none->wait(0) != 0);
  std::string log = s.proc().out();
  CHECK(log.find("unknown, or a wrong password") != std::string::npos);
  CHECK(log.find("does not decrypt") != std::string::npos);
  CHECK(log.find("sent no authtoken") != std::string::npos);
  // nicperf's own protocol has no RSA method: a nicperf client must speak iperf3's.
  auto native = s.client({"-n", "1M"});
  CHECK(native->wait(0) == 8);
  setenv("IPERF3_PASSWORD", "rossi", 1);
  auto ours = s.client({"-n", "1M", "--iperf3", "--username", "mario", "--rsa-public-key-path",
                        f.keys.public_pem, "--use-pkcs1-padding"});
  unsetenv("IPERF3_PASSWORD");
  CHECK(ours->wait(0) == 0);
}

TEST_CASE("RSA tokens: a timestamp outside the skew and a replayed token are refused" *
          doctest::test_suite("parallel")) {
  Fixture f;
  Server s({"--rsa-private-key-path", f.keys.private_pem, "--authorized-users-path", f.users,
            "--time-skew-threshold", "5"});
  auto pub = nicperf::load_rsa_public_key(f.keys.public_pem);
  REQUIRE(pub);
  auto now = nicperf::iperf3_now();
  auto stale = nicperf::make_authtoken({"mario", "rossi", now - 30}, *pub, false);
  REQUIRE(stale);
  CHECK(raw_param_exchange(s.port(), params_with(*stale)) == std::pair{-2, 142});
  REQUIRE(failed_tests(s.proc(), 1));
  CHECK(s.proc().out().find("--time-skew-threshold 5") != std::string::npos);
  auto fresh = nicperf::make_authtoken({"mario", "rossi", now}, *pub, false);
  REQUIRE(fresh);
  CHECK(raw_param_exchange(s.port(), params_with(*fresh)).first == 10);  // CREATE_STREAMS
  REQUIRE(failed_tests(s.proc(), 2));  // that client left without its data connections
  CHECK(raw_param_exchange(s.port(), params_with(*fresh)) == std::pair{-2, 142});
  REQUIRE(failed_tests(s.proc(), 3));
  CHECK(s.proc().out().find("used before") != std::string::npos);
}

TEST_CASE("--auth-file: a recorded authentication answer replayed against a fresh nonce fails" *
          doctest::test_suite("parallel")) {
  Fixture f;
  Server s({"--auth-file", f.secret});
  auto secret = nicperf::read_secret(f.secret);
  REQUIRE(secret);
  std::string cookie = nicperf::make_cookie();
  nicperf::Json params = nicperf::make_message(nicperf::MsgType::kParams);
  nicperf::TestSpec spec;
  spec.bytes = 1 << 20;
  params["spec"] = nicperf::to_json(spec);
  nicperf::Json recorded = nicperf::make_message(nicperf::MsgType::kAuth);
  {  // the honest exchange an eavesdropper records
    RawControl honest(s.port(), cookie);
    honest.write(params);
    auto challenge = honest.read();
    REQUIRE(challenge["type"] == "challenge");
    recorded["mac"] = nicperf::auth_mac(*secret, challenge["nonce"], cookie, params["spec"].dump());
    honest.write(recorded);
    CHECK(honest.read()["type"] == "accept");
  }  // it leaves before its streams: the server logs that test as failed
  REQUIRE(failed_tests(s.proc(), 1));
  RawControl replay(s.port(), cookie);
  replay.write(params);
  auto challenge = replay.read();
  REQUIRE(challenge["type"] == "challenge");
  replay.write(recorded);
  auto answer = replay.read();
  CHECK(answer["type"] == "error");
  CHECK(answer["code"] == "access_denied");
  REQUIRE(failed_tests(s.proc(), 2));
  CHECK(s.proc().out().find("authentication failed") != std::string::npos);
}

TEST_CASE("nicperf --iperf3 --username against a stock authenticating iperf3 server") {
  if (!have_iperf3()) return;
  Fixture f;
  int port = harness::free_port();
  Proc server(kIperf3, {"-s", "-p", std::to_string(port), "--forceflush", "--rsa-private-key-path",
                        f.keys.private_pem, "--authorized-users-path", f.users});
  REQUIRE(harness::wait_for_output(server, "Server listening"));
  auto run = [&](const char* password) {
    setenv("IPERF3_PASSWORD", password, 1);
    auto p = std::make_unique<Proc>(std::vector<std::string>{
        "-c", "127.0.0.1", "-p", std::to_string(port), "--iperf3", "-n", "1M", "-J", "--username",
        "mario", "--rsa-public-key-path", f.keys.public_pem, "--use-pkcs1-padding"});
    unsetenv("IPERF3_PASSWORD");
    p->wait(30);
    return p;
  };
  auto good = run("rossi");
  CHECK(good->wait(0) == 0);
  CHECK(good->json()["end"]["sum_received"]["bytes"] == 1u << 20);
  auto wrong = run("luigi");
  CHECK(wrong->wait(0) == 8);
  CHECK((wrong->out() + wrong->err()).find("refused the authentication") != std::string::npos);
}

TEST_CASE("secret files: mode 0644 or 15 bytes are refused with one line each" *
          doctest::test_suite("parallel")) {
  Fixture f;
  chmod(f.secret.c_str(), 0644);
  harness::check_usage_error({"-s", "--auth-file", f.secret});
  harness::check_usage_error({"-c", "127.0.0.1", "--auth-file", f.secret});
  Proc open({"-s", "--auth-file", f.secret});
  CHECK(open.wait(10) == 2);
  CHECK(open.err().find("permissions 0644") != std::string::npos);
  CHECK(open.err().find("chmod 600") != std::string::npos);
  std::ofstream(f.secret) << "0123456789abcde";
  chmod(f.secret.c_str(), 0600);
  harness::check_usage_error({"-s", "--auth-file", f.secret});
  chmod(f.keys.private_pem.c_str(), 0644);
  harness::check_usage_error(
      {"-s", "--rsa-private-key-path", f.keys.private_pem, "--authorized-users-path", f.users});
  harness::check_usage_error({"-s", "--rsa-private-key-path", f.keys.private_pem});
  harness::check_usage_error({"-s", "--time-skew-threshold", "5"});
  harness::check_usage_error({"-c", "127.0.0.1", "--username", "mario", "--rsa-public-key-path",
                              f.keys.public_pem});  // no --iperf3
}
