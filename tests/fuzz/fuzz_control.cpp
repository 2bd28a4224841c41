// libFuzzer target: everything a client can put on the control port before a test runs and
// everything a peer sends back as results: the greeting, the frame decoder (fed in two pieces,
// so partial frames are exercised), the parameter validator, the results parser, and the
// authentication messages: the HMAC challenge and answer, iperf3's RSA authtoken and the
// authorized users file.
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nicperf/control/auth.hpp"
#include "nicperf/control/channel.hpp"
#include "nicperf/control/protocol.hpp"
#include "nicperf/control/rsa_auth.hpp"
#include "nicperf/results/results.hpp"
#include "nicperf/spec/spec.hpp"

using namespace nicperf;

namespace {

const RsaKey& server_key() {
  static RsaKey key(EVP_RSA_gen(1024), &EVP_PKEY_free);  // once: key generation is slow
  return key;
}

std::string text_of(const Json& frame, const char* key) {
  auto it = frame.find(key);
  return it != frame.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The challenge's nonce and the answer's MAC, as the client and server compute and compare
// them; an iperf3 authtoken through both paddings and the credential check.
void handle_auth(const Frame& f) {
  const Json& frame = f.msg;
  static const std::string kSecret = "fuzzing-secret-0123456789";
  static std::string nonce = make_nonce();
  if (f.type == MsgType::kChallenge) nonce = text_of(frame, "nonce");
  if (f.type == MsgType::kAuth)
    (void)macs_equal(text_of(frame, "mac"), auth_mac(kSecret, nonce, "cookie", "{}"));
  std::string token = text_of(frame, "authtoken");
  if (token.empty()) return;
  static const AuthorizedUsers users = {{"mario", iperf3_password_hash("mario", "rossi")}};
  for (bool pkcs1 : {false, true})
    if (auto c = read_authtoken(token, server_key(), pkcs1))
      (void)check_credentials(*c, users, 1700000000, kDefaultSkew);
}

void handle(const Frame& f) {
  const Json& frame = f.msg;
  handle_auth(f);
  if (auto spec = frame.find("spec"); spec != frame.end()) (void)spec_from_json(*spec);
  if (auto side = frame.find("side"); side != frame.end()) (void)side_from_json(*side, 256);
  int pid = 0;
  std::string boot_id;
  read_host(frame, pid, boot_id);
  if (f.type == MsgType::kError) (void)peer_error(frame);
}

void drain(FrameDecoder& d) {
  for (;;) {
    auto f = d.next();
    if (!f || !*f) return;
    handle(**f);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)parse_authorized_users(in);
  if (size >= kGreetingSize) {
    (void)decode_greeting(in.substr(0, kGreetingSize));
    in.remove_prefix(kGreetingSize);
  }
  FrameDecoder d;
  std::size_t cut = size ? data[0] % (in.size() + 1) : 0;
  d.feed(in.data(), cut);
  drain(d);
  d.feed(in.data() + cut, in.size() - cut);
  drain(d);
  return 0;
}
