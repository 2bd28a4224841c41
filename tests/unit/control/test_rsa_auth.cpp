// iperf3's RSA token authentication over the pure functions: the wire format, both paddings,
// the users file, the clock skew and the replay cache.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>

#include "../../rsa_keys.hpp"
#include "nicperf/control/rsa_auth.hpp"

using namespace nicperf;

namespace {

AuthorizedUsers mario() { return {{"mario", iperf3_password_hash("mario", "rossi")}}; }

}  // namespace

TEST_CASE("iperf3 password hashes are sha256 of {user}password, as its docs show") {
  CHECK(iperf3_password_hash("mario", "rossi") ==
        "bf7a49a846d44b454a5d11e7acfaf13d138bbe0b7483aa3e050879700572709b");
}

TEST_CASE("authorized users files: comments, blank lines, CRLF and lines without a comma") {
  auto users = parse_authorized_users("# iperf3 users\n\nmario,abc\r\nnocomma\nluigi,def,x\n");
  REQUIRE(users.size() == 2);
  CHECK(users[0].user == "mario");
  CHECK(users[0].hash == "abc");
  CHECK(users[1].user == "luigi");
  CHECK(users[1].hash == "def");
  CHECK_FALSE(read_authorized_users("/nonexistent/users.csv"));
}

TEST_CASE("authtokens round-trip with OAEP and PKCS#1 v1.5, and not across paddings or keys") {
  test_keys::KeyPair keys, other;
  auto pub = load_rsa_public_key(keys.public_pem);
  auto priv = load_rsa_private_key(keys.private_pem);
  auto other_priv = load_rsa_private_key(other.private_pem);
  REQUIRE(pub);
  REQUIRE(priv);
  REQUIRE(other_priv);
  for (bool pkcs1 : {false, true}) {
    CAPTURE(pkcs1);
    auto token = make_authtoken({"mario", "rossi", 1700000000}, *pub, pkcs1);
    REQUIRE(token);
    CHECK(token->find('\n') == std::string::npos);
    auto c = read_authtoken(*token, *priv, pkcs1);
    REQUIRE(c);
    CHECK(c->user == "mario");
    CHECK(c->password == "rossi");
    CHECK(c->ts == 1700000000);
    // Encryption is randomized: the same credentials never make the same token twice.
    CHECK(*make_authtoken({"mario", "rossi", 1700000000}, *pub, pkcs1) != *token);
    auto crossed = read_authtoken(*token, *priv, !pkcs1);
    if (crossed) CHECK(crossed->user != "mario");  // PKCS#1 implicit rejection: garbage
    CHECK_FALSE(read_authtoken(*token, *other_priv, pkcs1));
  }
  CHECK_FALSE(read_authtoken("not base64!", *priv, false));
  CHECK_FALSE(read_authtoken("", *priv, false));
  CHECK_FALSE(make_authtoken({"has space", "x", 1}, *pub, false));
}

TEST_CASE("credentials: right ones pass, a wrong password, unknown user or stale clock does not") {
  std::int64_t now = 1700000000;
  CHECK(check_credentials({"mario", "rossi", now}, mario(), now, 10));
  CHECK(check_credentials({"mario", "rossi", now - 10}, mario(), now, 10));
  CHECK(check_credentials({"mario", "rossi", now + 10}, mario(), now, 10));
  CHECK_FALSE(check_credentials({"mario", "wrong", now}, mario(), now, 10));
  CHECK_FALSE(check_credentials({"luigi", "rossi", now}, mario(), now, 10));
  auto stale = check_credentials({"mario", "rossi", now - 11}, mario(), now, 10);
  REQUIRE_FALSE(stale);
  CHECK(stale.error().code == Errc::kAccessDenied);
  CHECK(stale.error().message.find("--time-skew-threshold") != std::string::npos);
  CHECK_FALSE(check_credentials({"mario", "rossi", now + 11}, mario(), now, 10));
}

TEST_CASE("a server takes an authtoken once: a captured one cannot start another test") {
  test_keys::KeyPair keys;
  Iperf3AuthServer auth;
  auth.private_key = *load_rsa_private_key(keys.private_pem);
  auth.users = mario();
  auto pub = load_rsa_public_key(keys.public_pem);
  REQUIRE(pub);
  std::int64_t now = iperf3_now();
  auto token = make_authtoken({"mario", "rossi", now}, *pub, false);
  REQUIRE(token);
  auto first = authenticate_token(auth, *token, now);
  REQUIRE(first);
  CHECK(*first == "mario");
  auto replayed = authenticate_token(auth, *token, now + 1);
  REQUIRE_FALSE(replayed);
  CHECK(replayed.error().message.find("used before") != std::string::npos);
  CHECK(authenticate_token(auth, *make_authtoken({"mario", "rossi", now}, *pub, false), now));
}

TEST_CASE("an RSA private key others can read is refused, a public key need not be private") {
  test_keys::KeyPair keys;
  chmod(keys.private_pem.c_str(), 0644);
  auto open = load_rsa_private_key(keys.private_pem);
  REQUIRE_FALSE(open);
  CHECK(open.error().message.find("chmod 600") != std::string::npos);
  chmod(keys.private_pem.c_str(), 0600);
  CHECK(load_rsa_private_key(keys.private_pem));
  chmod(keys.public_pem.c_str(), 0644);
  CHECK(load_rsa_public_key(keys.public_pem));
  CHECK_FALSE(load_rsa_public_key(keys.private_pem + ".missing"));
  std::ofstream(keys.file("junk.pem")) << "not a key\n";
  CHECK_FALSE(load_rsa_public_key(keys.file("junk.pem")));
}
