// The authentication options (defined in options.cpp's Security groups): --auth-file (nicperf's
// HMAC, both sides) and iperf3's RSA tokens (--rsa-private-key-path and --authorized-users-path on
// a server, --username and
// --rsa-public-key-path on an --iperf3 client). Each is checked up front with one line.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "nicperf/session/session.hpp"

namespace nicperf {

struct AuthRaw {
  std::string auth_file, private_key, users, username, public_key;
  int skew = kDefaultSkew;
  bool pkcs1 = false;
};

// Reads the secret and keys into the options; the client's password comes last, so nothing
// prompts for it before every other option has been checked.
Status fill_server_auth(const CLI::App& app, const AuthRaw& r, ServerOptions& opt);
Status fill_client_auth(const AuthRaw& r, bool iperf3, ClientOptions& opt);
Status read_client_password(ClientOptions& opt);

}  // namespace nicperf
