// What the EVP-based key exchange methods share: deriving a raw shared secret from our key and the
// peer's, and encoding it as the `mpint K` that enters the exchange hash (RFC 4253 §8).
#pragma once

#include <openssl/evp.h>

#include "common/bytes.h"
#include "common/result.h"

namespace postern::net {

// EVP_PKEY_derive with the peer's key validated by OpenSSL first (on-curve and order checks for
// EC, range checks for DH). The raw secret is returned as OpenSSL produces it.
Result<SecretBytes> evp_derive(EVP_PKEY* own, EVP_PKEY* peer);

// K as an mpint (RFC 4251 §5) from an unsigned big-endian magnitude: u32 length + bytes.
SecretBytes encode_mpint_secret(ByteView magnitude);

}  // namespace postern::net
