#include "nicperf/control/rsa_auth.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>

#include "control/file_mode.hpp"

namespace nicperf {
namespace {

using Ctx = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;
using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;

Expected<RsaKey> load_key(const std::string& path, bool is_private) {
  const char* what = is_private ? "RSA private key" : "RSA public key";
  Bio bio(BIO_new_file(path.c_str(), "r"), &BIO_free);
  if (!bio)
    return usage(errno_text(std::string("cannot read the ") + what + " '" + path + "'", errno));
  EVP_PKEY* key = is_private ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                             : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (!key) return usage(std::string("'") + path + "' holds no PEM " + what);
  RsaKey out(key, &EVP_PKEY_free);
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)
    return usage(std::string("'") + path + "' holds a key that is not RSA");
  return out;
}

std::string base64(const std::string& raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(raw.data()), int(raw.size()));
  out.resize(std::size_t(n));
  return out;
}

std::optional<std::string> unbase64(const std::string& text) {
  if (text.empty() || text.size() % 4 != 0 || text.size() > 8192) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), int(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t pad = text.back() == '=' ? (text[text.size() - 2] == '=' ? 2 : 1) : 0;
  out.resize(std::size_t(n) - pad);
  return out;
}

// One RSA operation (encrypt with a public key, decrypt with a private one) with the padding.
std::optional<std::string> rsa(const RsaKey& key, const std::string& in, bool encrypt, bool pkcs1) {
  Ctx ctx(EVP_PKEY_CTX_new(key.get(), nullptr), &EVP_PKEY_CTX_free);
  if (!ctx) return std::nullopt;
  int init = encrypt ? EVP_PKEY_encrypt_init(ctx.get()) : EVP_PKEY_decrypt_init(ctx.get());
  int padding = pkcs1 ? RSA_PKCS1_PADDING : RSA_PKCS1_OAEP_PADDING;
  if (init <= 0 || EVP_PKEY_CTX_set_rsa_padding(ctx.get(), padding) <= 0) return std::nullopt;
  auto op = encrypt ? &EVP_PKEY_encrypt : &EVP_PKEY_decrypt;
  auto bytes = reinterpret_cast<const unsigned char*>(in.data());
  std::size_t len = 0;
  if (op(ctx.get(), nullptr, &len, bytes, in.size()) <= 0) return std::nullopt;
  std::string out(len, '\0');
  if (op(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, bytes, in.size()) <= 0)
    return std::nullopt;
  out.resize(len);
  return out;
}

// A user name or password iperf3's sscanf("%s") can carry back: no white space, no NUL.
bool plain_word(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (std::isspace(static_cast<unsigned char>(c)) || c == '\0') return false;
  return true;
}

}  // namespace

Expected<RsaKey> load_rsa_public_key(const std::string& path) { return load_key(path, false); }

Expected<RsaKey> load_rsa_private_key(const std::string& path) {
  if (auto st = check_file_mode(path, "RSA private key", 007); !st) return st.error();
  return load_key(path, true);
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr);
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += digits[md[i] >> 4];
    out += digits[md[i] & 15];
  }
  return out;
}

std::string iperf3_password_hash(const std::string& user, const std::string& password) {
  return sha256_hex("{" + user + "}" + password);
}

AuthorizedUsers parse_authorized_users(std::string_view text) {
  AuthorizedUsers users;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    if (auto cr = line.find('\r'); cr != std::string::npos) line.resize(cr);
    auto comma = line.find(',');
    if (line.empty() || line[0] == '#' || comma == std::string::npos) continue;
    auto end = line.find(',', comma + 1);
    users.push_back({line.substr(0, comma), line.substr(comma + 1, end - comma - 1)});
  }
  return users;
}

Expected<AuthorizedUsers> read_authorized_users(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return usage(errno_text("cannot read the authorized users file '" + path + "'", errno));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto users = parse_authorized_users(text);
  if (users.empty())
    return usage("the authorized users file '" + path +
                 "' has no 'user,sha256(\"{user}password\")' line");
  return users;
}

std::int64_t iperf3_now() {
  // iperf3 puts mktime(localtime(now)) in its tokens and compares with the same.
  std::time_t t = std::time(nullptr);
  std::tm local{};
  localtime_r(&t, &local);
  return std::int64_t(std::mktime(&local));
}

Expected<std::string> make_authtoken(const Credentials& c, const RsaKey& public_key, bool pkcs1) {
  if (!plain_word(c.user) || !plain_word(c.password))
    return usage("iperf3 user names and passwords cannot be empty or hold white space");
  std::string text =
      "user: " + c.user + "\npwd:  " + c.password + "\nts:   " + std::to_string(c.ts);
  auto sealed = rsa(public_key, text, true, pkcs1);
  if (!sealed)
    return usage("the user name and password are too long for the RSA key (or the key is bad)");
  return base64(*sealed);
}

Expected<Credentials> read_authtoken(const std::string& token, const RsaKey& private_key,
                                     bool pkcs1) {
  auto fail = [](const std::string& why) { return Error{Errc::kAccessDenied, why}; };
  auto sealed = unbase64(token);
  if (!sealed) return fail("its authtoken is not base64");
  auto text = rsa(private_key, *sealed, false, pkcs1);
  if (!text)
    return fail(std::string("its authtoken does not decrypt with our key (") +
                (pkcs1 ? "PKCS#1 v1.5" : "OAEP") + " padding)");
  // iperf3 reads it back with sscanf("user: %s\npwd:  %s\nts:   %ld"): words apart by spaces.
  std::istringstream in(*text);
  std::string user_tag, pwd_tag, ts_tag;
  Credentials c;
  if (!(in >> user_tag >> c.user >> pwd_tag >> c.password >> ts_tag >> c.ts) ||
      user_tag != "user:" || pwd_tag != "pwd:" || ts_tag != "ts:")
    return fail("its authtoken is not 'user: U pwd: P ts: T'");
  return c;
}

Status check_credentials(const Credentials& c, const AuthorizedUsers& users, std::int64_t now,
                         int skew) {
  if (c.ts > now + skew || c.ts < now - skew)
    return Error{Errc::kAccessDenied,
                 "user '" + c.user + "': its timestamp is " + std::to_string(c.ts - now) +
                     " s from ours (--time-skew-threshold " + std::to_string(skew) + ")"};
  std::string hash = iperf3_password_hash(c.user, c.password);
  bool match = false;
  for (const auto& u : users)
    match |= u.user == c.user && u.hash.size() == hash.size() &&
             CRYPTO_memcmp(u.hash.data(), hash.data(), hash.size()) == 0;
  if (!match)
    return Error{Errc::kAccessDenied, "user '" + c.user + "': unknown, or a wrong password"};
  return ok();
}

bool TokenCache::first_use(const std::string& token, std::int64_t now, int skew) {
  std::string digest = sha256_hex(token);
  std::lock_guard lock(mutex_);
  // A token is good for 2*skew seconds (its timestamp may be ahead of us by skew).
  while (!seen_.empty() && seen_.front().first < now - 2 * std::int64_t(skew) - 1)
    seen_.pop_front();
  for (const auto& [when, d] : seen_)
    if (d == digest) return false;
  seen_.emplace_back(now, digest);
  return true;
}

Expected<std::string> authenticate_token(const Iperf3AuthServer& auth, const std::string& token,
                                         std::int64_t now) {
  auto c = read_authtoken(token, auth.private_key, auth.pkcs1);
  if (!c) return c.error();
  if (auto st = check_credentials(*c, auth.users, now, auth.skew); !st) return st.error();
  if (!auth.seen->first_use(token, now, auth.skew))
    return Error{Errc::kAccessDenied, "user '" + c->user + "': its authtoken was used before"};
  return c->user;
}

Expected<std::string> read_iperf3_password() {
  if (const char* env = std::getenv("IPERF3_PASSWORD")) return std::string(env);
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
  termios old{};
  if (fd < 0 || tcgetattr(fd, &old) != 0) {
    if (fd >= 0) close(fd);
    return usage("--username needs a password: set IPERF3_PASSWORD or run on a terminal");
  }
  termios quiet = old;
  quiet.c_lflag &= ~tcflag_t(ECHO);
  (void)!write(fd, "Password: ", 10);
  tcsetattr(fd, TCSAFLUSH, &quiet);
  std::string password;
  char ch = 0;
  while (read(fd, &ch, 1) == 1 && ch != '\n') password += ch;
  tcsetattr(fd, TCSAFLUSH, &old);
  (void)!write(fd, "\n", 1);
  close(fd);
  return password;
}

}  // namespace nicperf
