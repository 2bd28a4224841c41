#include "nicperf/control/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/random.h>

#include <cerrno>
#include <fstream>
#include <iterator>

#include "control/file_mode.hpp"

namespace nicperf {
namespace {

std::string hex(const unsigned char* data, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

}  // namespace

Expected<std::string> read_secret(const std::string& path) {
  if (auto st = check_file_mode(path, "auth file", 077); !st) return st.error();
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Error{Errc::kUsage, errno_text("cannot read the auth file '" + path + "'", errno)};
  std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  // A short secret falls to a dictionary or brute force from one captured handshake.
  if (secret.size() < kMinSecret || secret.size() > kMaxSecret)
    return Error{Errc::kUsage, "the auth file '" + path + "' holds " +
                                   std::to_string(secret.size()) + " bytes; a secret needs " +
                                   std::to_string(kMinSecret) + "-" + std::to_string(kMaxSecret) +
                                   " (e.g. head -c 32 /dev/urandom | base64 > " + path + ")"};
  return secret;
}

std::string make_nonce() {
  unsigned char raw[32];
  for (std::size_t got = 0; got < sizeof raw;) {
    ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
    if (n > 0) got += std::size_t(n);
  }
  return hex(raw, sizeof raw);
}

std::string hmac_sha256_hex(const std::string& key, const std::string& message) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), int(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), out, &len);
  return hex(out, len);
}

std::string auth_mac(const std::string& secret, const std::string& nonce, const std::string& cookie,
                     const std::string& spec_json) {
  return hmac_sha256_hex(secret, nonce + "|" + cookie + "|" + spec_json);
}

bool macs_equal(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace nicperf
