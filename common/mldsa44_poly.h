// The ring arithmetic under ML-DSA-44 (FIPS 204 §7.5 and §7.4): Z_q with q = 8380417, the NTT,
// and the rounding functions Power2Round, Decompose, MakeHint and UseHint. Internal to
// common/mldsa44*.cpp and their tests.
//
// Coefficients are kept canonical, in [0, q), after every operation; a signed value v (a secret
// coefficient, z, t0) is held as v mod q. Reductions are Montgomery multiplications and masked
// subtractions, never `%`, `/` or a branch, so secret coefficients take the same time whatever
// their value.
#pragma once

#include <openssl/crypto.h>

#include <array>
#include <cstddef>
#include <cstdint>

namespace postern::mldsa44 {

constexpr uint32_t kQ = 8380417;
constexpr size_t kN = 256;
constexpr size_t kK = 4;  // rows of A
constexpr size_t kL = 4;  // columns of A
constexpr uint32_t kEta = 2;
constexpr uint32_t kTau = 39;
constexpr uint32_t kBeta = kTau * kEta;  // 78
constexpr uint32_t kGamma1 = 1u << 17;
constexpr uint32_t kGamma2 = (kQ - 1) / 88;  // 95232
constexpr size_t kOmega = 80;
constexpr unsigned kD = 13;  // bits dropped from t

using Poly = std::array<uint32_t, kN>;
using VecL = std::array<Poly, kL>;
using VecK = std::array<Poly, kK>;
using Matrix = std::array<VecL, kK>;  // Â[r][s], r < k, s < l

// Zeroes a secret intermediate when it goes out of scope.
template <typename T>
struct Wiped {
  T value{};
  ~Wiped() { OPENSSL_cleanse(&value, sizeof value); }
};

// x - q when x >= q, for x < 2q, by a mask rather than a branch. Inline: every reduction ends
// here.
inline uint32_t subtract_q_if_needed(uint32_t x) {
  uint32_t s = x - kQ;
  return s + ((0u - (s >> 31)) & kQ);
}
// a * b mod q for canonical a and b.
uint32_t mul_mod_q(uint32_t a, uint32_t b);
// The centred representative's absolute value |x mod± q| for canonical x.
uint32_t centered_abs(uint32_t x);

// Algorithms 41 and 42, in place.
void ntt(Poly& f);
void inverse_ntt(Poly& f);
// Coordinate-wise product of two NTT-domain polynomials (Algorithm 45), added into `acc`.
void multiply_ntts_accumulate(Poly& acc, const Poly& f, const Poly& g);
void multiply_ntts(Poly& out, const Poly& f, const Poly& g);

void add_into(Poly& acc, const Poly& f);
void subtract_into(Poly& acc, const Poly& f);  // acc -= f
void negate(Poly& f);

// Whether every coefficient has |x mod± q| < bound: no early exit, so the time is the same
// whichever coefficient (if any) is too large.
bool infinity_norm_below(const Poly& f, uint32_t bound);

// Algorithm 35: r = r1 2^d + r0 with r0 in (-2^(d-1), 2^(d-1)]; r0 is returned mod q.
void power2round(uint32_t r, uint32_t& r1, uint32_t& r0);
// Algorithm 36: r = r1 (2 gamma2) + r0 with r0 in [-gamma2, gamma2] and r1 in [0, 44), the
// q - 1 corner case folded into r1 = 0; r0 is returned as a signed value.
void decompose(uint32_t r, uint32_t& r1, int32_t& r0);
uint32_t high_bits(uint32_t r);
// Algorithm 39: 1 when adding z changes r's high bits.
uint32_t make_hint(uint32_t z, uint32_t r);
// Algorithm 40: r's high bits moved one step (mod 44) in the direction of r0 when h = 1.
uint32_t use_hint(uint32_t h, uint32_t r);

}  // namespace postern::mldsa44
