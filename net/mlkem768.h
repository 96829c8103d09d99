// ML-KEM-768, the module-lattice key encapsulation mechanism of FIPS 203 (August 2024), written
// from that standard: k = 3, eta1 = eta2 = 2, du = 10, dv = 4. OpenSSL 3.0 has no ML-KEM; the
// hashes H, G, J, PRF and XOF are SHA3-256, SHA3-512, SHAKE256 and SHAKE128 from EVP.
//
// Secrets (d, z, s, e, m, r and the decrypted message) are handled without secret-dependent
// branches or memory indexes: reductions, Compress and the implicit-rejection select are
// arithmetic. The only data-dependent control flow is SampleNTT's loop length and the
// encapsulation key's modulus check, both of which see only public data.
#pragma once

#include <cstddef>

#include "common/bytes.h"

namespace postern::net::mlkem768 {

constexpr size_t kEncapsulationKeySize = 1184;  // 384k + 32
constexpr size_t kDecapsulationKeySize = 2400;  // 768k + 96
constexpr size_t kCiphertextSize = 1088;        // 32(du k + dv)
constexpr size_t kSharedSecretSize = 32;
constexpr size_t kSeedSize = 32;  // d, z and m

// Each function requires buffers of exactly the sizes above and throws std::invalid_argument
// otherwise (a caller bug: lengths from the wire are checked before these are called).

// ML-KEM.KeyGen (FIPS 203 Algorithm 19) with fresh randomness from RAND_bytes; a failing
// system RNG is not survivable and calls fatal().
void keygen(MutableByteView encapsulation_key, MutableByteView decapsulation_key);

// ML-KEM.Encaps (Algorithm 20). False, with nothing written, when the encapsulation key fails the
// modulus check of §7.2 (a 12-bit coefficient that is not below q): such a key can come only from
// a broken or hostile peer.
[[nodiscard]] bool encapsulate(MutableByteView ciphertext, MutableByteView shared_secret,
                               ByteView encapsulation_key);

// ML-KEM.Decaps (Algorithm 21 with Algorithm 18). Never fails: a ciphertext that does not
// re-encrypt to itself yields the implicit-rejection key J(z || c), which the sender cannot tell
// from a real one.
void decapsulate(MutableByteView shared_secret, ByteView decapsulation_key, ByteView ciphertext);

// §7.2's modulus check alone: ByteEncode12(ByteDecode12(ek)) == ek.
bool encapsulation_key_is_valid(ByteView encapsulation_key);

// The deterministic cores (Algorithms 16 and 17), for the known-answer tests: d and z (and m)
// are what keygen() and encapsulate() draw from the RNG.
void keygen_internal(MutableByteView encapsulation_key, MutableByteView decapsulation_key,
                     ByteView d, ByteView z);
[[nodiscard]] bool encapsulate_internal(MutableByteView ciphertext, MutableByteView shared_secret,
                                        ByteView encapsulation_key, ByteView m);

// keygen_internal from Algorithm 13 line 2 on, with (rho || sigma) given rather than G(d || k).
// Only for replaying NIST's ACVP keyGen data, which the library holds in the 2023 draft's form
// (rho || sigma = G(d), without the k byte); not for production use.
void keygen_from_expanded_seed_for_test(MutableByteView encapsulation_key,
                                        MutableByteView decapsulation_key, ByteView rho_sigma,
                                        ByteView z);

}  // namespace postern::net::mlkem768
