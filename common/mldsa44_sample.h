// ML-DSA-44's hashing and sampling (FIPS 204 §3.7, §7.3): H and G over EVP's SHAKE256 and
// SHAKE128, ExpandA, ExpandS, ExpandMask and SampleInBall. Internal to common/mldsa44*.cpp and
// their tests.
#pragma once

#include <cstdint>
#include <initializer_list>

#include "common/bytes.h"
#include "common/mldsa44_poly.h"

namespace postern::mldsa44 {

// H (SHAKE256) of the concatenation of `parts`, out.size() bytes (§3.7).
void shake256(std::initializer_list<ByteView> parts, MutableByteView out);

// Algorithm 32: Â[r][s] = RejNTTPoly(rho || s || r); rho is 32 bytes.
void expand_a(Matrix& a, ByteView rho);
// Algorithm 33: s1[r] = RejBoundedPoly(rho' || r), s2[r] = RejBoundedPoly(rho' || r + l), the
// index as two little-endian bytes; rho' is 64 bytes.
void expand_s(VecL& s1, VecK& s2, ByteView rho_prime);
// Algorithm 34: y[r] = BitUnpack(H(rho'' || kappa + r, 576), gamma1 - 1, gamma1).
void expand_mask(VecL& y, ByteView rho_prime_prime, uint16_t kappa);
// Algorithm 29: the polynomial with tau coefficients +-1 that c̃ selects.
void sample_in_ball(Poly& c, ByteView c_tilde);

}  // namespace postern::mldsa44
