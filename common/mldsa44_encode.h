// ML-DSA-44's byte encodings (FIPS 204 §7.1-§7.3): bit packing of polynomials, the public key,
// secret key and signature layouts, the hint encoding and w1Encode. Internal to
// common/mldsa44*.cpp and their tests.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/bytes.h"
#include "common/mldsa44_poly.h"

namespace postern::mldsa44 {

constexpr size_t kCommitmentHashSize = 32;  // c̃: lambda / 4
constexpr size_t kTrSize = 64;
constexpr size_t kW1EncodedSize = kK * 32 * 6;  // w1Encode: 6 bits a coefficient (max 43)

// Algorithm 16 (SimpleBitPack) / 18 (SimpleBitUnpack): `bits` bits a coefficient, values below
// 2^bits, into or from 32 bits bytes.
void simple_bit_pack(MutableByteView out, const Poly& f, unsigned bits);
void simple_bit_unpack(Poly& f, ByteView in, unsigned bits);
// Algorithm 17 (BitPack) / 19 (BitUnpack) with b = upper: each coefficient w (mod q, with
// w in [upper - 2^bits + 1, upper]) is stored as upper - w.
void bit_pack(MutableByteView out, const Poly& f, uint32_t upper, unsigned bits);
void bit_unpack(Poly& f, ByteView in, uint32_t upper, unsigned bits);

// Algorithms 22 and 23: pk = rho || SimpleBitPack(t1[i], 10 bits) for each i.
void encode_public_key(MutableByteView pk, ByteView rho, const VecK& t1);
void decode_public_key(ByteView pk, ByteView& rho, VecK& t1);

// Algorithms 24 and 25: sk = rho || K || tr || s1 (3 bits) || s2 (3 bits) || t0 (13 bits).
void encode_secret_key(MutableByteView sk, ByteView rho, ByteView key, ByteView tr, const VecL& s1,
                       const VecK& s2, const VecK& t0);
struct SecretKeySeeds {
  ByteView rho, key, tr;
};
SecretKeySeeds decode_secret_key(ByteView sk, VecL& s1, VecK& s2, VecK& t0);

// Algorithms 26 and 27: sigma = c̃ || z (18 bits, b = gamma1) || HintBitPack(h). h holds 0 or 1
// in each coefficient.
void encode_signature(MutableByteView sigma, ByteView c_tilde, const VecL& z, const VecK& h);
// False when the hint fails Algorithm 21's checks (a malformed signature); c_tilde views sigma.
[[nodiscard]] bool decode_signature(ByteView sigma, ByteView& c_tilde, VecL& z, VecK& h);

// Algorithms 20 and 21 on their own.
void hint_bit_pack(MutableByteView out, const VecK& h);
[[nodiscard]] bool hint_bit_unpack(ByteView in, VecK& h);

// Algorithm 28: w1Encode, 6 bits a coefficient.
void w1_encode(MutableByteView out, const VecK& w1);

}  // namespace postern::mldsa44
