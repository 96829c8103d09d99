// ML-DSA's ring arithmetic and rounding (FIPS 204 §7.4, §7.5), without secret-dependent branches
// or indexes.
#include "common/mldsa44_poly.h"

namespace postern::mldsa44 {
namespace {

// Montgomery multiplication with R = 2^32: mont_reduce(a) = a R^-1 mod q for a < q 2^32.
// -q^-1 mod 2^32 by Newton's iteration (each step doubles the correct low bits; q q = 1 mod 8).
constexpr uint32_t inverse_mod_2_32(uint32_t x) {
  uint32_t inv = x;
  for (int i = 0; i < 5; ++i) inv *= 2 - x * inv;
  return inv;
}
constexpr uint32_t kNegQInverse = 0u - inverse_mod_2_32(kQ);
static_assert(kQ * (0u - kNegQInverse) == 1u);

constexpr uint32_t pow_mod_q(uint64_t base, unsigned e) {
  uint64_t r = 1;
  for (base %= kQ; e; e >>= 1, base = base * base % kQ)
    if (e & 1) r = r * base % kQ;
  return static_cast<uint32_t>(r);
}
constexpr uint32_t kRModQ = static_cast<uint32_t>((uint64_t{1} << 32) % kQ);
constexpr uint32_t kR2ModQ = static_cast<uint32_t>(uint64_t{kRModQ} * kRModQ % kQ);
// The Montgomery form c R mod q of a constant c: mont_reduce(x c_R) = x c.
constexpr uint32_t to_montgomery(uint32_t c) {
  return static_cast<uint32_t>(uint64_t{c} * kRModQ % kQ);
}

// BitRev8 (§7.5): the 8-bit reversal that orders the NTT's twiddle factors.
constexpr unsigned bit_rev8(unsigned i) {
  unsigned r = 0;
  for (unsigned b = 0; b < 8; ++b) r |= ((i >> b) & 1u) << (7 - b);
  return r;
}

// zeta = 1753 is the primitive 512th root of unity mod q (§7.5); kZetas[m] = zeta^BitRev8(m),
// held in Montgomery form.
constexpr uint32_t kZeta = 1753;
constexpr std::array<uint32_t, kN> make_zetas() {
  std::array<uint32_t, kN> t{};
  for (unsigned m = 0; m < kN; ++m) t[m] = to_montgomery(pow_mod_q(kZeta, bit_rev8(m)));
  return t;
}
constexpr auto kZetas = make_zetas();
static_assert(pow_mod_q(kZeta, 256) == kQ - 1);

// 256^-1 mod q, the scaling at the end of NTT^-1 (Algorithm 42 line 21).
constexpr uint32_t kInverse256 = 8347681;
static_assert(uint64_t{256} * kInverse256 % kQ == 1);
constexpr uint32_t kInverse256Montgomery = to_montgomery(kInverse256);

uint32_t mont_reduce(uint64_t a) {
  uint32_t t = static_cast<uint32_t>(a) * kNegQInverse;
  return subtract_q_if_needed(static_cast<uint32_t>((a + uint64_t{t} * kQ) >> 32));
}

// x c for a constant c_R in Montgomery form.
uint32_t mul_montgomery(uint32_t x, uint32_t c_montgomery) {
  return mont_reduce(uint64_t{x} * c_montgomery);
}

uint32_t add(uint32_t a, uint32_t b) {
  return subtract_q_if_needed(a + b);
}
uint32_t sub(uint32_t a, uint32_t b) {
  return subtract_q_if_needed(a + kQ - b);
}

// 1 when the signed value a is negative, else 0.
uint32_t is_negative(int32_t a) {
  return static_cast<uint32_t>(a) >> 31;
}

}  // namespace

uint32_t mul_mod_q(uint32_t a, uint32_t b) {
  return mont_reduce(uint64_t{mont_reduce(uint64_t{a} * b)} * kR2ModQ);
}

uint32_t centered_abs(uint32_t x) {
  uint32_t above_half = 0u - (((kQ - 1) / 2 - x) >> 31);  // all ones when x > (q - 1) / 2
  return (x & ~above_half) | ((kQ - x) & above_half);
}

void ntt(Poly& f) {
  unsigned m = 0;
  for (size_t len = 128; len >= 1; len /= 2) {
    for (size_t start = 0; start < kN; start += 2 * len) {
      uint32_t zeta = kZetas[++m];
      for (size_t j = start; j < start + len; ++j) {
        uint32_t t = mul_montgomery(f[j + len], zeta);
        f[j + len] = sub(f[j], t);
        f[j] = add(f[j], t);
      }
    }
  }
}

void inverse_ntt(Poly& f) {
  unsigned m = kN;
  for (size_t len = 1; len < kN; len *= 2) {
    for (size_t start = 0; start < kN; start += 2 * len) {
      uint32_t zeta = kZetas[--m];
      for (size_t j = start; j < start + len; ++j) {
        uint32_t t = f[j];
        f[j] = add(t, f[j + len]);
        // (-zeta)(t - f[j + len]) of Algorithm 42 lines 13-14.
        f[j + len] = mul_montgomery(sub(f[j + len], t), zeta);
      }
    }
  }
  for (auto& c : f) c = mul_montgomery(c, kInverse256Montgomery);
}

void multiply_ntts(Poly& out, const Poly& f, const Poly& g) {
  for (size_t i = 0; i < kN; ++i) out[i] = mul_mod_q(f[i], g[i]);
}

void multiply_ntts_accumulate(Poly& acc, const Poly& f, const Poly& g) {
  for (size_t i = 0; i < kN; ++i) acc[i] = add(acc[i], mul_mod_q(f[i], g[i]));
}

void add_into(Poly& acc, const Poly& f) {
  for (size_t i = 0; i < kN; ++i) acc[i] = add(acc[i], f[i]);
}

void subtract_into(Poly& acc, const Poly& f) {
  for (size_t i = 0; i < kN; ++i) acc[i] = sub(acc[i], f[i]);
}

void negate(Poly& f) {
  for (auto& c : f) c = sub(0, c);
}

bool infinity_norm_below(const Poly& f, uint32_t bound) {
  uint32_t too_large = 0;
  for (uint32_t c : f) too_large |= (bound - 1 - centered_abs(c)) >> 31;
  return too_large == 0;
}

void power2round(uint32_t r, uint32_t& r1, uint32_t& r0) {
  // r1 = floor((r + 2^(d-1) - 1) / 2^d) leaves r - r1 2^d in (-2^(d-1), 2^(d-1)].
  r1 = (r + (1u << (kD - 1)) - 1) >> kD;
  r0 = subtract_q_if_needed(r + kQ - (r1 << kD));
}

void decompose(uint32_t r, uint32_t& r1, int32_t& r0) {
  // r1 = floor((r + gamma2 - 1) / (2 gamma2)), leaving r0 in (-gamma2, gamma2]. 2 gamma2 is
  // 2^11 93; the division by 93 of a value below 2^13 is the multiply-shift by ceil(2^19 / 93),
  // exact because 2^13 (93 ceil(2^19 / 93) - 2^19) < 2^19.
  r1 = (((r + kGamma2 - 1) >> 11) * 5638) >> 19;
  r0 = static_cast<int32_t>(r) - static_cast<int32_t>(r1 * 2 * kGamma2);
  // Algorithm 36 lines 3-5: r - r0 = q - 1 (r1 = 44) becomes r1 = 0, r0 = r0 - 1.
  uint32_t wraps = is_negative(43 - static_cast<int32_t>(r1));
  r1 -= 44 * wraps;
  r0 -= static_cast<int32_t>(wraps);
}

uint32_t high_bits(uint32_t r) {
  uint32_t r1;
  int32_t r0;
  decompose(r, r1, r0);
  return r1;
}

uint32_t make_hint(uint32_t z, uint32_t r) {
  uint32_t differ = high_bits(r) ^ high_bits(add(r, z));
  return (differ | (0u - differ)) >> 31;
}

uint32_t use_hint(uint32_t h, uint32_t r) {
  uint32_t r1;
  int32_t r0;
  decompose(r, r1, r0);
  // h = 1: r1 + 1 when r0 > 0, r1 - 1 = r1 + 43 otherwise, mod m = (q - 1) / (2 gamma2) = 44.
  uint32_t r0_positive = is_negative(-r0);
  uint32_t v = r1 + h * (43 - 42 * r0_positive);
  return v - 44 * is_negative(43 - static_cast<int32_t>(v));
}

}  // namespace postern::mldsa44
