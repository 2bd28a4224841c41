#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "nicperf/control/auth.hpp"

using namespace nicperf;

namespace {

// A secret file with this content and mode, removed at the end of the test.
struct SecretFile {
  std::string path;
  SecretFile(const std::string& text, mode_t mode) {
    char tmpl[] = "/tmp/nicperf-secret.XXXXXX";
    int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    close(fd);
    path = tmpl;
    std::ofstream(path) << text;
    chmod(path.c_str(), mode);
  }
  ~SecretFile() { unlink(path.c_str()); }
};

}  // namespace

TEST_CASE("HMAC-SHA256 matches RFC 4231 test case 2") {
  CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("the answer binds nonce, cookie and parameters") {
  std::string a = auth_mac("k", "n1", "c1", R"({"streams":1})");
  CHECK(macs_equal(a, auth_mac("k", "n1", "c1", R"({"streams":1})")));
  CHECK_FALSE(macs_equal(a, auth_mac("k", "n2", "c1", R"({"streams":1})")));
  CHECK_FALSE(macs_equal(a, auth_mac("k", "n1", "c2", R"({"streams":1})")));
  CHECK_FALSE(macs_equal(a, auth_mac("k", "n1", "c1", R"({"streams":2})")));
  CHECK_FALSE(macs_equal(a, auth_mac("other", "n1", "c1", R"({"streams":1})")));
  CHECK_FALSE(macs_equal(a, a.substr(1)));
  CHECK(make_nonce().size() == 64);
  CHECK(make_nonce() != make_nonce());
}

TEST_CASE("a recorded authentication answer replayed against a fresh nonce fails") {
  const std::string secret = "0123456789abcdef-shared", cookie = "c00kie", spec = R"({"bytes":1})";
  std::string recorded_nonce = make_nonce();
  std::string recorded =
      auth_mac(secret, recorded_nonce, cookie, spec);  // what an eavesdropper saw
  CHECK(macs_equal(recorded, auth_mac(secret, recorded_nonce, cookie, spec)));
  for (int i = 0; i < 8; ++i) {
    std::string fresh = make_nonce();  // the server's next challenge
    REQUIRE(fresh != recorded_nonce);
    CHECK_FALSE(macs_equal(recorded, auth_mac(secret, fresh, cookie, spec)));
  }
}

TEST_CASE("secret files: trailing newline dropped, empty, missing or short refused") {
  {
    SecretFile f("correct horse battery staple\n", 0600);
    auto s = read_secret(f.path);
    REQUIRE(s);
    CHECK(*s == "correct horse battery staple");
  }
  {
    SecretFile f("\n", 0600);
    CHECK_FALSE(read_secret(f.path));
  }
  {
    SecretFile f("0123456789abcde", 0600);  // 15 bytes
    auto s = read_secret(f.path);
    REQUIRE_FALSE(s);
    CHECK(s.error().code == Errc::kUsage);
    CHECK(s.error().message.find("holds 15 bytes") != std::string::npos);
    CHECK(s.error().message.find('\n') == std::string::npos);
  }
  {
    SecretFile f("0123456789abcdef\n", 0400);  // 16 bytes, read-only for its owner
    CHECK(read_secret(f.path));
  }
  CHECK_FALSE(read_secret("/nonexistent/nicperf-secret"));
}

TEST_CASE("secret files others or the group can read are refused, naming the chmod") {
  for (mode_t mode : {0644, 0640, 0604, 0660}) {
    CAPTURE(mode);
    SecretFile f("correct horse battery staple\n", mode);
    auto s = read_secret(f.path);
    REQUIRE_FALSE(s);
    CHECK(s.error().code == Errc::kUsage);
    CHECK(s.error().message.find("chmod 600 " + f.path) != std::string::npos);
  }
  SecretFile f("correct horse battery staple\n", 0644);
  CHECK(read_secret(f.path).error().message.find("permissions 0644") != std::string::npos);
}
