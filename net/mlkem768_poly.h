// The polynomial arithmetic under ML-KEM (FIPS 203 §4.2 and §4.3): Z_q with q = 3329, the NTT,
// Compress/Decompress, ByteEncode/ByteDecode and the two samplers. Internal to net/mlkem768.cpp
// and its tests.
//
// Coefficients are kept canonical, in [0, q), after every operation. Reductions are a Barrett
// multiply and a masked subtraction, never `%` or a branch, so secret coefficients take the same
// time whatever their value.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "common/bytes.h"

namespace postern::net::mlkem768 {

constexpr uint32_t kQ = 3329;
constexpr size_t kN = 256;

using Poly = std::array<uint16_t, kN>;

// a mod q for any 32-bit a.
uint16_t reduce(uint32_t a);

// Compress_d and Decompress_d (§4.2.1, equations 4.7 and 4.8) of one coefficient.
uint16_t compress(uint16_t x, unsigned d);
uint16_t decompress(uint16_t y, unsigned d);

// Algorithms 9 and 10, in place.
void ntt(Poly& f);
void inverse_ntt(Poly& f);
// Algorithm 11: the product of two NTT-domain polynomials, added into `acc`.
void multiply_ntts_accumulate(Poly& acc, const Poly& f, const Poly& g);

void add_into(Poly& acc, const Poly& f);
void subtract_into(Poly& acc, const Poly& f);  // acc -= f

// Algorithm 5 (ByteEncode_d) of 32d bytes; for d < 12 each coefficient is taken mod 2^d.
void byte_encode(MutableByteView out, const Poly& f, unsigned d);
// Algorithm 6 (ByteDecode_d) of 32d bytes; d = 12 reduces mod q, as the standard's m = q does.
void byte_decode(Poly& f, ByteView in, unsigned d);
// Whether the 384 bytes decode to 12-bit values all below q (the modulus check of §7.2).
bool byte_decode_12_is_canonical(ByteView in);

// Algorithm 7: the NTT-domain polynomial SHAKE128(seed || j || i) selects; seed is 32 bytes.
void sample_ntt(Poly& f, ByteView seed, uint8_t j, uint8_t i);
// Algorithm 8 with eta = 2 over PRF_2(s, b) = SHAKE256(s || b, 128).
void sample_cbd2(Poly& f, ByteView s, uint8_t b);

}  // namespace postern::net::mlkem768
