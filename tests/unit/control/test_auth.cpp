#include <doctest/doctest.h>
#include <unistd.h>

#include <fstream>

#include "nicperf/control/auth.hpp"

using namespace nicperf;

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

TEST_CASE("secret files: trailing newline dropped, empty or missing refused") {
  char path[] = "/tmp/nicperf-secret.XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path) << "hunter2\n";
  auto s = read_secret(path);
  REQUIRE(s);
  CHECK(*s == "hunter2");
  std::ofstream(path) << "\n";
  CHECK_FALSE(read_secret(path));
  unlink(path);
  CHECK_FALSE(read_secret(path));
}
