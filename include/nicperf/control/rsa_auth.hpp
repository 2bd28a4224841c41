// iperf3's authentication (3.12 and later), so a nicperf server can authenticate stock iperf3
// clients and `nicperf -c --iperf3` can authenticate to a stock iperf3 server. The client
// encrypts "user: U\npwd:  P\nts:   T" with the server's RSA public key and sends it base64'd
// as "authtoken" in its PARAM_EXCHANGE JSON; the server decrypts it, checks T against its own
// clock within a skew and sha256("{U}P") against its users file. RSA OAEP by default;
// PKCS#1 v1.5 for iperf3 before 3.17, which knows no other (--use-pkcs1-padding). OpenSSL's
// libcrypto does all of the cryptography.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "nicperf/util/error.hpp"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace nicperf {

using RsaKey = std::shared_ptr<evp_pkey_st>;

inline constexpr int kDefaultSkew = 10;  // seconds, as iperf3

Expected<RsaKey> load_rsa_public_key(const std::string& path);
// Refused when others may read the file: it is the server's identity.
Expected<RsaKey> load_rsa_private_key(const std::string& path);

std::string sha256_hex(std::string_view data);
// What a users file line holds after the comma: sha256("{user}password") in hex.
std::string iperf3_password_hash(const std::string& user, const std::string& password);

struct AuthorizedUser {
  std::string user, hash;
};
using AuthorizedUsers = std::vector<AuthorizedUser>;
// Lines "user,hash"; empty lines, lines starting '#' and lines without a comma are skipped,
// as iperf3 does.
AuthorizedUsers parse_authorized_users(std::string_view text);
Expected<AuthorizedUsers> read_authorized_users(const std::string& path);

struct Credentials {
  std::string user, password;
  std::int64_t ts = 0;  // seconds since the epoch
};
std::int64_t iperf3_now();
Expected<std::string> make_authtoken(const Credentials& c, const RsaKey& public_key, bool pkcs1);
Expected<Credentials> read_authtoken(const std::string& token, const RsaKey& private_key,
                                     bool pkcs1);
// Whether the credentials are a users file entry's and their time is within `skew` of now.
Status check_credentials(const Credentials& c, const AuthorizedUsers& users, std::int64_t now,
                         int skew);

// Tokens a server has accepted within the skew window: iperf3 tokens carry no server nonce, so
// a captured one would otherwise be good for another test until its timestamp goes stale.
// Encryption is randomized, so an honest client never sends the same token twice. Thread-safe.
class TokenCache {
 public:
  bool first_use(const std::string& token, std::int64_t now, int skew);

 private:
  std::mutex mutex_;
  std::deque<std::pair<std::int64_t, std::string>> seen_;  // (when, sha256 of the token)
};

// A server's iperf3 authentication: --rsa-private-key-path, --authorized-users-path,
// --time-skew-threshold, --use-pkcs1-padding.
struct Iperf3AuthServer {
  RsaKey private_key;  // null = iperf3 clients are not authenticated the iperf3 way
  AuthorizedUsers users;
  int skew = kDefaultSkew;
  bool pkcs1 = false;
  std::shared_ptr<TokenCache> seen = std::make_shared<TokenCache>();
  bool enabled() const { return private_key != nullptr; }
};
// Authenticates an iperf3 client's "authtoken"; the error says why not (for the server's log).
Expected<std::string> authenticate_token(const Iperf3AuthServer& auth, const std::string& token,
                                         std::int64_t now);

// A client's iperf3 authentication: --username, --rsa-public-key-path, --use-pkcs1-padding.
struct Iperf3AuthClient {
  std::string user;  // empty = send no token
  std::string password;
  RsaKey public_key;
  bool pkcs1 = false;
};
// The password as iperf3 takes it: $IPERF3_PASSWORD, else read from the terminal without echo.
Expected<std::string> read_iperf3_password();

}  // namespace nicperf
