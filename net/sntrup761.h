// Streamlined NTRU Prime sntrup761 (p = 761, q = 4591, w = 286), the key encapsulation mechanism
// of the NTRU Prime round 3 submission to NIST ("NTRU Prime: round 3", 2020-10-07), written from
// that specification. OpenSSL 3.0 has no post-quantum KEM; SHA-512 comes from EVP.
//
// Byte formats are the specification's: public key Rq_encode(h); secret key Small_encode(f) ||
// Small_encode(1/g in R/3) || public key || rho || Hash_4(public key); ciphertext
// Rounded_encode(Round(h*r)) || HashConfirm(r, public key).
//
// Secrets (f, 1/g, r, rho) are handled without secret-dependent branches or memory indexes. The
// one exception is key generation's retry when a random g is not invertible in R/3: that leaks
// only how many g were rejected, which are discarded and independent of the key kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/bytes.h"

namespace postern::net::sntrup761 {

constexpr size_t kPublicKeySize = 1158;
constexpr size_t kSecretKeySize = 1763;
constexpr size_t kCiphertextSize = 1039;
constexpr size_t kSharedSecretSize = 32;

// Where key generation and encapsulation get their randomness. The specification draws it as a
// stream of randombytes() calls (32-bit words for the samplers, 191 bytes for rho); the known-
// answer tests substitute NIST's deterministic DRBG, so the calls are made in that order.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual void fill(MutableByteView out) = 0;
  // Little-endian 32-bit words, one fill() of 4 bytes each as the specification's samplers draw
  // them (NIST's DRBG gives different bytes for one large request than for many small ones). A
  // source without that property overrides this to draw all the words at once.
  virtual void fill_words(std::span<uint32_t> out);
};

// RAND_bytes. A failing system RNG is not survivable: it calls fatal().
RandomSource& system_random();

// Each function requires buffers of exactly the sizes above and throws std::invalid_argument
// otherwise (a caller bug: lengths from the wire are checked before these are called).
void keypair(MutableByteView public_key, MutableByteView secret_key,
             RandomSource& random = system_random());
// Any kPublicKeySize bytes are accepted: every byte string decodes to some element of R/q.
void encapsulate(MutableByteView ciphertext, MutableByteView shared_secret, ByteView public_key,
                 RandomSource& random = system_random());
// Never fails: a ciphertext that does not re-encrypt to itself yields the implicit-rejection key
// Hash_0(Hash_3(rho) || ciphertext), indistinguishable from a real one to whoever sent it.
void decapsulate(MutableByteView shared_secret, ByteView ciphertext, ByteView secret_key);

}  // namespace postern::net::sntrup761
