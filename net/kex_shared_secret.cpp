#include "net/kex_shared_secret.h"

#include "common/ossl.h"
#include "common/wire.h"

namespace postern::net {

Result<SecretBytes> evp_derive(EVP_PKEY* own, EVP_PKEY* peer) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own, nullptr));
  if (!ctx) return Unexpected(ossl_error("EVP_PKEY_CTX_new_from_pkey"));
  if (EVP_PKEY_derive_init(ctx.get()) <= 0) return Unexpected(ossl_error("EVP_PKEY_derive_init"));
  // validate_peer = 1: OpenSSL runs its public-key check on the peer's value before using it.
  if (EVP_PKEY_derive_set_peer_ex(ctx.get(), peer, 1) <= 0)
    return Unexpected(ossl_error("peer public value rejected"));
  size_t len = 0;
  if (EVP_PKEY_derive(ctx.get(), nullptr, &len) <= 0 || len == 0)
    return Unexpected(ossl_error("EVP_PKEY_derive"));
  SecretBytes secret(len);
  if (EVP_PKEY_derive(ctx.get(), secret.data(), &len) <= 0)
    return Unexpected(ossl_error("EVP_PKEY_derive"));
  secret.resize(len);
  return secret;
}

SecretBytes encode_mpint_secret(ByteView magnitude) {
  // SecretBytes wipes its old storage when it grows, so building K piecewise leaves no copies.
  SecretWriter w;
  w.mpint_unsigned(magnitude);
  return w.take();
}

}  // namespace postern::net
