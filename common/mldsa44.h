// ML-DSA-44, the module-lattice digital signature algorithm of FIPS 204 (August 2024), written
// from that standard: q = 8380417, (k, l) = (4, 4), eta = 2, tau = 39, gamma1 = 2^17,
// gamma2 = (q - 1) / 88, omega = 80, lambda = 128. OpenSSL 3.0 has no ML-DSA; H and G (SHAKE256,
// SHAKE128) come from EVP.
//
// Signing is the hedged variant (§3.4: rnd is 32 fresh random bytes) and handles the secret key
// without secret-dependent branches or memory indexes; the rejection loop's iteration count is
// the only timing that depends on secrets, as FIPS 204 §3.6.3 allows. Verification sees only
// public data.
//
// The SSH key type ssh-mldsa44-ed25519@openssh.com stores a key as its 32-byte seed xi and
// expands it with keygen_from_seed; this file knows nothing of SSH.
#pragma once

#include <cstddef>

#include "common/bytes.h"

namespace postern::mldsa44 {

constexpr size_t kSeedSize = 32;          // xi (FIPS 204 Algorithm 1 line 1)
constexpr size_t kPublicKeySize = 1312;   // 32 + 32 k (bitlen(q - 1) - d)
constexpr size_t kSecretKeySize = 2560;   // 32 + 32 + 64 + 32 ((k + l) bitlen(2 eta) + d k)
constexpr size_t kSignatureSize = 2420;   // lambda / 4 + 32 l (1 + bitlen(gamma1 - 1)) + omega + k
constexpr size_t kRandomizerSize = 32;    // rnd
constexpr size_t kMaxContextSize = 255;   // ctx (Algorithm 2 line 1)

// Every function requires buffers of exactly the sizes above and throws std::invalid_argument
// otherwise (a caller bug: lengths from the wire are checked before these are called).

// ML-DSA.KeyGen_internal (Algorithm 6) from the seed xi. Deterministic: the same seed gives the
// same key pair, which is what lets a key file hold only xi.
void keygen_from_seed(MutableByteView public_key, MutableByteView secret_key, ByteView seed);

// ML-DSA.KeyGen (Algorithm 1): a fresh seed from RAND_bytes (written to `seed`), then
// keygen_from_seed. A failing system RNG is not survivable and calls fatal().
void keygen(MutableByteView public_key, MutableByteView secret_key, MutableByteView seed);

// ML-DSA.Sign (Algorithm 2), pure ML-DSA with a context string of at most 255 bytes (false,
// with nothing written, when it is longer). Hedged: rnd from RAND_bytes.
[[nodiscard]] bool sign(MutableByteView signature, ByteView secret_key, ByteView message,
                        ByteView context);

// ML-DSA.Verify (Algorithm 3). False for a wrong-length key or signature too (they come from
// the wire), for a context over 255 bytes, and for any signature that does not verify.
[[nodiscard]] bool verify(ByteView public_key, ByteView message, ByteView context,
                          ByteView signature);

// The internal functions (Algorithms 7 and 8) on the already-formatted message M', with rnd
// given: NIST's ACVP signature vectors are stated for these.
void sign_internal(MutableByteView signature, ByteView secret_key, ByteView formatted_message,
                   ByteView rnd);
[[nodiscard]] bool verify_internal(ByteView public_key, ByteView formatted_message,
                                   ByteView signature);

}  // namespace postern::mldsa44
