// RAII owners for OpenSSL objects: std::unique_ptr with the matching free function.
#pragma once

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <memory>
#include <string>

namespace postern {

template <auto FreeFn>
struct OsslFree {
  template <typename T>
  void operator()(T* p) const {
    FreeFn(p);
  }
};

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OsslFree<EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OsslFree<EVP_PKEY_CTX_free>>;
using EvpCipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, OsslFree<EVP_CIPHER_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OsslFree<EVP_MD_CTX_free>>;
using EvpMacPtr = std::unique_ptr<EVP_MAC, OsslFree<EVP_MAC_free>>;
using EvpMacCtxPtr = std::unique_ptr<EVP_MAC_CTX, OsslFree<EVP_MAC_CTX_free>>;
using EvpCipherPtr = std::unique_ptr<EVP_CIPHER, OsslFree<EVP_CIPHER_free>>;
using EvpMdPtr = std::unique_ptr<EVP_MD, OsslFree<EVP_MD_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OsslFree<BN_clear_free>>;
using BnCtxPtr = std::unique_ptr<BN_CTX, OsslFree<BN_CTX_free>>;

// The most recent OpenSSL error as text, for messages that name what failed.
inline std::string ossl_error(const char* what) {
  unsigned long e = ERR_get_error();
  std::string s = what;
  if (e) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    s += ": ";
    s += buf;
  }
  ERR_clear_error();
  return s;
}

}  // namespace postern
