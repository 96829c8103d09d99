// ML-KEM's ring arithmetic, encodings and samplers (FIPS 203 §4), without secret-dependent
// branches or indexes.
#include "net/mlkem768_poly.h"

#include <openssl/evp.h>

#include <stdexcept>

#include "common/log.h"
#include "common/ossl.h"

namespace postern::net::mlkem768 {
namespace {

// BitRev7 (§4.3): the 7-bit reversal that orders the NTT's twiddle factors.
constexpr unsigned bit_rev7(unsigned i) {
  unsigned r = 0;
  for (unsigned b = 0; b < 7; ++b) r |= ((i >> b) & 1u) << (6 - b);
  return r;
}

constexpr uint32_t pow_mod_q(uint32_t base, unsigned e) {
  uint32_t r = 1;
  for (unsigned i = 0; i < e; ++i) r = (r * base) % kQ;
  return r;
}

// zeta = 17 is the primitive 256th root of unity mod q (§4.3). kZetas[i] = zeta^BitRev7(i) for
// the NTT's butterflies; kGammas[i] = zeta^(2 BitRev7(i) + 1) for BaseCaseMultiply (Appendix A).
constexpr std::array<uint16_t, 128> make_zetas(bool gamma) {
  std::array<uint16_t, 128> t{};
  for (unsigned i = 0; i < 128; ++i)
    t[i] = static_cast<uint16_t>(pow_mod_q(17, gamma ? 2 * bit_rev7(i) + 1 : bit_rev7(i)));
  return t;
}
constexpr auto kZetas = make_zetas(false);
constexpr auto kGammas = make_zetas(true);

// 128^-1 mod q, the scaling at the end of NTT^-1 (Algorithm 10, line 14).
constexpr uint32_t kInverse128 = 3303;
static_assert((128 * kInverse128) % kQ == 1);

// floor(2^32 / q): Barrett's estimate of a / q is then low by at most 1 for any 32-bit a.
constexpr uint64_t kBarrett = (uint64_t{1} << 32) / kQ;
// ceil(2^35 / q): exact division by q of every Compress numerator (< 2^23), since the
// multiplier's excess times 2^23 stays below 2^35.
constexpr uint64_t kCompressMul = ((uint64_t{1} << 35) + kQ - 1) / kQ;

// x - q when x >= q, for x < 2q, by a mask rather than a branch.
uint16_t subtract_q_if_needed(uint32_t x) {
  int32_t s = static_cast<int32_t>(x) - static_cast<int32_t>(kQ);
  s += (s >> 31) & static_cast<int32_t>(kQ);
  return static_cast<uint16_t>(s);
}

uint16_t mul(uint32_t a, uint32_t b) {
  return reduce(a * b);
}
uint16_t add(uint32_t a, uint32_t b) {
  return subtract_q_if_needed(a + b);
}
uint16_t sub(uint32_t a, uint32_t b) {
  return subtract_q_if_needed(a + kQ - b);
}

void hash_fail(const char* what) {
  fatal("%s", ossl_error(what).c_str());
}

// SHAKE over seed || suffix, out.size() bytes. OpenSSL 3.0 squeezes once, so the caller asks for
// all the output it needs up front.
void shake(const EVP_MD* md, ByteView seed, ByteView suffix, MutableByteView out) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), seed.data(), seed.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), suffix.data(), suffix.size()) != 1 ||
      EVP_DigestFinalXOF(ctx.get(), out.data(), out.size()) != 1)
    hash_fail("mlkem768: SHAKE");
}

}  // namespace

uint16_t reduce(uint32_t a) {
  uint32_t estimate = static_cast<uint32_t>((uint64_t{a} * kBarrett) >> 32);
  return subtract_q_if_needed(a - estimate * kQ);
}

// Compress_d(x) = round(2^d x / q) mod 2^d. q is odd, so round(n / q) = floor((n + (q-1)/2) / q).
uint16_t compress(uint16_t x, unsigned d) {
  uint64_t numerator = (uint64_t{x} << d) + (kQ - 1) / 2;
  uint64_t quotient = (numerator * kCompressMul) >> 35;
  return static_cast<uint16_t>(quotient & ((1u << d) - 1));
}

// Decompress_d(y) = round(q y / 2^d), with ties (y q + 2^(d-1) exactly divisible) rounding up.
uint16_t decompress(uint16_t y, unsigned d) {
  return static_cast<uint16_t>((uint32_t{y} * kQ + (1u << (d - 1))) >> d);
}

void ntt(Poly& f) {
  unsigned i = 1;
  for (size_t len = 128; len >= 2; len /= 2) {
    for (size_t start = 0; start < kN; start += 2 * len) {
      uint32_t zeta = kZetas[i++];
      for (size_t j = start; j < start + len; ++j) {
        uint16_t t = mul(zeta, f[j + len]);
        f[j + len] = sub(f[j], t);
        f[j] = add(f[j], t);
      }
    }
  }
}

void inverse_ntt(Poly& f) {
  unsigned i = 127;
  for (size_t len = 2; len <= 128; len *= 2) {
    for (size_t start = 0; start < kN; start += 2 * len) {
      uint32_t zeta = kZetas[i--];
      for (size_t j = start; j < start + len; ++j) {
        uint16_t t = f[j];
        f[j] = add(t, f[j + len]);
        f[j + len] = mul(zeta, sub(f[j + len], t));
      }
    }
  }
  for (auto& c : f) c = mul(c, kInverse128);
}

// Algorithm 12 (BaseCaseMultiply) for each of the 128 degree-one factors X^2 - gamma_i.
void multiply_ntts_accumulate(Poly& acc, const Poly& f, const Poly& g) {
  for (size_t i = 0; i < 128; ++i) {
    uint32_t a0 = f[2 * i], a1 = f[2 * i + 1], b0 = g[2 * i], b1 = g[2 * i + 1];
    uint32_t c0 = a0 * b0 + uint32_t{mul(a1, b1)} * kGammas[i];
    uint32_t c1 = a0 * b1 + a1 * b0;
    acc[2 * i] = reduce(acc[2 * i] + c0);
    acc[2 * i + 1] = reduce(acc[2 * i + 1] + c1);
  }
}

void add_into(Poly& acc, const Poly& f) {
  for (size_t i = 0; i < kN; ++i) acc[i] = add(acc[i], f[i]);
}

void subtract_into(Poly& acc, const Poly& f) {
  for (size_t i = 0; i < kN; ++i) acc[i] = sub(acc[i], f[i]);
}

void byte_encode(MutableByteView out, const Poly& f, unsigned d) {
  if (out.size() != 32 * d) throw std::invalid_argument("mlkem768: ByteEncode size");
  const uint32_t mask = (1u << d) - 1;
  uint64_t bits = 0;
  unsigned held = 0;
  size_t o = 0;
  for (size_t i = 0; i < kN; ++i) {
    bits |= uint64_t{f[i] & mask} << held;
    held += d;
    while (held >= 8) {
      out[o++] = static_cast<uint8_t>(bits);
      bits >>= 8;
      held -= 8;
    }
  }
}

void byte_decode(Poly& f, ByteView in, unsigned d) {
  if (in.size() != 32 * d) throw std::invalid_argument("mlkem768: ByteDecode size");
  const uint32_t mask = (1u << d) - 1;
  uint64_t bits = 0;
  unsigned held = 0;
  size_t o = 0;
  for (size_t i = 0; i < kN; ++i) {
    while (held < d) {
      bits |= uint64_t{in[o++]} << held;
      held += 8;
    }
    uint32_t value = static_cast<uint32_t>(bits) & mask;
    bits >>= d;
    held -= d;
    // A 12-bit value is below 2q, so one conditional subtraction is the reduction mod q.
    f[i] = d == 12 ? subtract_q_if_needed(value) : static_cast<uint16_t>(value);
  }
}

bool byte_decode_12_is_canonical(ByteView in) {
  if (in.size() != 384) throw std::invalid_argument("mlkem768: ByteDecode size");
  // Public data (an encapsulation key): an early answer leaks nothing.
  for (size_t i = 0; i < 384; i += 3) {
    uint32_t lo = in[i] | (uint32_t{in[i + 1]} & 0x0f) << 8;
    uint32_t hi = (in[i + 1] >> 4) | uint32_t{in[i + 2]} << 4;
    if (lo >= kQ || hi >= kQ) return false;
  }
  return true;
}

void sample_ntt(Poly& f, ByteView seed, uint8_t j, uint8_t i) {
  if (seed.size() != 32) throw std::invalid_argument("mlkem768: SampleNTT seed size");
  const uint8_t suffix[2] = {j, i};
  // 256 coefficients need about 315 candidates (each accepted with probability q/4096); four
  // SHAKE128 blocks give 448. In the rare case they fall short, squeeze a longer prefix of the
  // same stream and start over: the seed is public, so the retry reveals nothing.
  for (size_t len = 4 * 168;; len *= 2) {
    Bytes stream(len);
    shake(EVP_shake128(), seed, suffix, stream);
    // Each candidate is written unconditionally and the count advances by the comparison's
    // result, so acceptance is arithmetic; the spare slots absorb the last two writes.
    std::array<uint16_t, kN + 2> out{};
    size_t count = 0;
    for (size_t pos = 0; pos + 3 <= len && count < kN; pos += 3) {
      uint32_t d1 = stream[pos] | (uint32_t{stream[pos + 1]} & 0x0f) << 8;
      uint32_t d2 = (stream[pos + 1] >> 4) | uint32_t{stream[pos + 2]} << 4;
      out[count] = static_cast<uint16_t>(d1);
      count += (d1 - kQ) >> 31;  // 1 exactly when d1 < q
      out[count] = static_cast<uint16_t>(d2);
      count += ((d2 - kQ) >> 31) & static_cast<uint32_t>(count < kN);
    }
    if (count >= kN) {
      std::copy(out.begin(), out.begin() + kN, f.begin());
      return;
    }
  }
}

void sample_cbd2(Poly& f, ByteView s, uint8_t b) {
  if (s.size() != 32) throw std::invalid_argument("mlkem768: PRF seed size");
  uint8_t stream[128];
  const uint8_t suffix[1] = {b};
  shake(EVP_shake256(), s, suffix, stream);
  // Algorithm 8, eta = 2: coefficient i is (b[4i] + b[4i+1]) - (b[4i+2] + b[4i+3]) mod q.
  for (size_t i = 0; i < kN; ++i) {
    uint32_t nibble = (stream[i / 2] >> (4 * (i & 1))) & 0x0f;
    uint32_t x = (nibble & 1) + ((nibble >> 1) & 1);
    uint32_t y = ((nibble >> 2) & 1) + ((nibble >> 3) & 1);
    f[i] = subtract_q_if_needed(x + kQ - y);
  }
  OPENSSL_cleanse(stream, sizeof stream);
}

}  // namespace postern::net::mlkem768
