#include "cli/auth_options.hpp"

#include "nicperf/control/auth.hpp"

namespace nicperf {
namespace {

// --auth-file, on either side: the secret, or why the file cannot be trusted.
Status read_auth_file(const AuthRaw& r, std::string& secret) {
  if (r.auth_file.empty()) return ok();
  auto s = read_secret(r.auth_file);
  if (!s) return s.error();
  secret = *s;
  return ok();
}

}  // namespace

Status fill_server_auth(const CLI::App& app, const AuthRaw& r, ServerOptions& opt) {
  if (r.private_key.empty() != r.users.empty())
    return usage("--rsa-private-key-path and --authorized-users-path go together");
  if (r.private_key.empty() && (app.count("--time-skew-threshold") || r.pkcs1))
    return usage(std::string(r.pkcs1 ? "--use-pkcs1-padding" : "--time-skew-threshold") +
                 " goes with --rsa-private-key-path and --authorized-users-path");
  if (auto st = read_auth_file(r, opt.secret); !st) return st;
  if (r.private_key.empty()) return ok();
  auto key = load_rsa_private_key(r.private_key);
  if (!key) return key.error();
  auto users = read_authorized_users(r.users);
  if (!users) return users.error();
  opt.iperf3_auth.private_key = *key;
  opt.iperf3_auth.users = std::move(*users);
  opt.iperf3_auth.skew = r.skew;
  opt.iperf3_auth.pkcs1 = r.pkcs1;
  return ok();
}

Status fill_client_auth(const AuthRaw& r, bool iperf3, ClientOptions& opt) {
  if (r.username.empty() != r.public_key.empty())
    return usage("--username and --rsa-public-key-path go together");
  if (r.pkcs1 && r.username.empty())
    return usage(
        "--use-pkcs1-padding goes with --username (or, on a server, "
        "--rsa-private-key-path)");
  if (!r.username.empty() && !iperf3)
    return usage(
        "--username authenticates to an iperf3 server: add --iperf3 (a nicperf "
        "server's own method is --auth-file)");
  if (iperf3 && !r.auth_file.empty())
    return usage(
        "--auth-file is nicperf's own; iperf3 servers take --username and "
        "--rsa-public-key-path");
  if (auto st = read_auth_file(r, opt.secret); !st) return st;
  if (r.username.empty()) return ok();
  auto key = load_rsa_public_key(r.public_key);
  if (!key) return key.error();
  opt.iperf3_auth.user = r.username;
  opt.iperf3_auth.public_key = *key;
  opt.iperf3_auth.pkcs1 = r.pkcs1;
  return ok();
}

Status read_client_password(ClientOptions& opt) {
  if (opt.iperf3_auth.user.empty()) return ok();
  auto password = read_iperf3_password();
  if (!password) return password.error();
  opt.iperf3_auth.password = *password;
  // Checked now: a bad one would only show as the server's refusal.
  Credentials probe{opt.iperf3_auth.user, opt.iperf3_auth.password, 0};
  if (auto token = make_authtoken(probe, opt.iperf3_auth.public_key, opt.iperf3_auth.pkcs1); !token)
    return token.error();
  return ok();
}

}  // namespace nicperf
