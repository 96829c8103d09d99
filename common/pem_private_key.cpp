// PEM private keys (PKCS#1, PKCS#8, SEC1), read by OpenSSL.
#include <openssl/bio.h>
#include <openssl/pem.h>

#include "common/private_key_formats.h"

namespace postern::keys {
namespace {

using BioPtr = std::unique_ptr<BIO, OsslFree<BIO_free>>;

// PEM passwords are never prompted for: a host key must load unattended.
int no_password(char*, int, int, void*) {
  return -1;
}

}  // namespace

Result<EvpPkeyPtr> parse_pem_private(std::string_view text) {
  if (text.find("ENCRYPTED") != text.npos)
    return Unexpected("key is encrypted: passphrase-protected host keys are not supported");
  BioPtr bio(BIO_new_mem_buf(text.data(), int(text.size())));
  if (!bio) return Unexpected(ossl_error("BIO_new_mem_buf"));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr);
  if (!pkey) return Unexpected(ossl_error("cannot parse PEM private key"));
  return EvpPkeyPtr(pkey);
}

}  // namespace postern::keys
