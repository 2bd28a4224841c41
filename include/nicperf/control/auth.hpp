// Optional authentication (--auth-file on both sides): the server sends a random nonce, the
// client answers HMAC-SHA256(secret, nonce | cookie | test parameters). The parameters are
// bound to the answer, so an authenticated session's test cannot be altered. OpenSSL's
// libcrypto computes the HMAC and compares in constant time.
#pragma once

#include <string>

#include "nicperf/util/error.hpp"

namespace nicperf {

// The secret: the file's bytes without a trailing newline; 1-4096 bytes.
Expected<std::string> read_secret(const std::string& path);
std::string make_nonce();  // 32 random bytes, hex
std::string hmac_sha256_hex(const std::string& key, const std::string& message);
std::string auth_mac(const std::string& secret, const std::string& nonce, const std::string& cookie,
                     const std::string& spec_json);
bool macs_equal(const std::string& a, const std::string& b);  // constant time

}  // namespace nicperf
