// Optional authentication (--auth-file on both sides): the server sends a random nonce, the
// client answers HMAC-SHA256(secret, nonce | cookie | test parameters). The parameters are
// bound to the answer, so an authenticated session's test cannot be altered. OpenSSL's
// libcrypto computes the HMAC and compares in constant time.
#pragma once

#include <cstddef>
#include <string>

#include "nicperf/util/error.hpp"

namespace nicperf {

inline constexpr std::size_t kMinSecret = 16, kMaxSecret = 4096;
// The secret: the file's bytes without a trailing newline, 16-4096 of them, from a file only
// its owner may read (mode 0600 or 0400).
Expected<std::string> read_secret(const std::string& path);
std::string make_nonce();  // 32 random bytes, hex
std::string hmac_sha256_hex(const std::string& key, const std::string& message);
std::string auth_mac(const std::string& secret, const std::string& nonce, const std::string& cookie,
                     const std::string& spec_json);
bool macs_equal(const std::string& a, const std::string& b);  // constant time

}  // namespace nicperf
