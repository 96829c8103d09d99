// What the EVP-based key exchange methods share: deriving a raw shared secret from our key and the
// peer's, and encoding it as the `mpint K` that enters the exchange hash (RFC 4253 §8).
#pragma once

#include <openssl/evp.h>

#include <string>

#include "common/bytes.h"
#include "common/result.h"
#include "net/kex_method.h"

namespace postern::net {

// EVP_PKEY_derive with the peer's key validated by OpenSSL first (on-curve and order checks for
// EC, range checks for DH). The raw secret is returned as OpenSSL produces it.
Result<SecretBytes> evp_derive(EVP_PKEY* own, EVP_PKEY* peer);

// K as an mpint (RFC 4251 §5) from an unsigned big-endian magnitude: u32 length + bytes.
SecretBytes encode_mpint_secret(ByteView magnitude);

// The role logic every ephemeral-key method shares; a method supplies key generation, its public
// value's encoding and the agreement with a peer's value.
class EphemeralKexMethod : public KexMethod {
 public:
  Result<KexServerResult> server_respond(ByteView client_public) final {
    if (auto r = ensure_key(); !r) return Unexpected(r.error());
    auto secret = agree(client_public);
    if (!secret) return Unexpected(secret.error());
    return KexServerResult{our_public(), std::move(*secret)};
  }
  Bytes client_public() final {
    if (auto r = ensure_key(); !r) return {};
    return our_public();
  }
  Result<SecretBytes> client_finish(ByteView server_public) final {
    if (!has_key()) return Unexpected(std::string(name()) + ": client_finish before client_public");
    return agree(server_public);
  }

 protected:
  // Generates our ephemeral key unless there is one already.
  virtual Result<void> ensure_key() = 0;
  virtual bool has_key() const = 0;
  virtual Bytes our_public() const = 0;
  // The encoded K from our key and the peer's public value; an invalid value is an error.
  virtual Result<SecretBytes> agree(ByteView peer_public) = 0;
};

}  // namespace postern::net
