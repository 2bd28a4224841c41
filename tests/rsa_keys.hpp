// Test RSA key pairs, written as PEM files the way `openssl genrsa` and `openssl rsa -pubout`
// would, in a temp directory the test removes.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace test_keys {

struct KeyPair {
  std::string dir, private_pem, public_pem;

  explicit KeyPair(int bits = 2048) {
    char tmpl[] = "/tmp/nicperf-keys.XXXXXX";
    dir = mkdtemp(tmpl);
    private_pem = dir + "/private.pem";
    public_pem = dir + "/public.pem";
    EVP_PKEY* key = EVP_RSA_gen(unsigned(bits));
    BIO* priv = BIO_new_file(private_pem.c_str(), "w");
    PEM_write_bio_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr, nullptr);
    BIO_free(priv);
    chmod(private_pem.c_str(), 0600);
    BIO* pub = BIO_new_file(public_pem.c_str(), "w");
    PEM_write_bio_PUBKEY(pub, key);
    BIO_free(pub);
    EVP_PKEY_free(key);
  }
  KeyPair(const KeyPair&) = delete;
  KeyPair& operator=(const KeyPair&) = delete;
  ~KeyPair() {
    std::string cmd = "rm -rf '" + dir + "'";
    (void)!std::system(cmd.c_str());
  }
  std::string file(const std::string& name) const { return dir + "/" + name; }
};

}  // namespace test_keys
