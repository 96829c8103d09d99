// ML-DSA-44's hashing and sampling (FIPS 204 §7.3). OpenSSL 3.0 squeezes a SHAKE only once, so
// each sampler asks for a prefix long enough in all but astronomically rare cases and, when that
// falls short, asks again for a longer prefix of the same stream and starts over.
#include "common/mldsa44_sample.h"

#include <openssl/evp.h>

#include <algorithm>
#include <stdexcept>

#include "common/log.h"
#include "common/mldsa44_encode.h"
#include "common/ossl.h"

namespace postern::mldsa44 {
namespace {

constexpr size_t kShake128Rate = 168;
constexpr size_t kShake256Rate = 136;

void shake(const EVP_MD* md, std::initializer_list<ByteView> parts, MutableByteView out) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  bool ok = ctx && EVP_DigestInit_ex(ctx.get(), md, nullptr) == 1;
  for (ByteView p : parts) ok = ok && EVP_DigestUpdate(ctx.get(), p.data(), p.size()) == 1;
  if (!ok || EVP_DigestFinalXOF(ctx.get(), out.data(), out.size()) != 1)
    fatal("%s", ossl_error("mldsa44: SHAKE").c_str());
}

// Algorithm 30 (RejNTTPoly) on the 34-byte seed rho || s || r. Â is public, so plain branches.
void rej_ntt_poly(Poly& f, ByteView rho, uint8_t s, uint8_t r) {
  const uint8_t suffix[2] = {s, r};
  // 256 coefficients need about 257 three-byte candidates (each accepted with probability
  // q / 2^23); five SHAKE128 blocks give 280.
  for (size_t len = 5 * kShake128Rate;; len *= 2) {
    Bytes stream(len);
    shake(EVP_shake128(), {rho, suffix}, stream);
    size_t count = 0;
    for (size_t pos = 0; pos + 3 <= len && count < kN; pos += 3) {
      // Algorithm 14 (CoeffFromThreeBytes): the top bit of the third byte is dropped.
      uint32_t z =
          stream[pos] | uint32_t{stream[pos + 1]} << 8 | (uint32_t{stream[pos + 2]} & 0x7f) << 16;
      if (z < kQ) f[count++] = z;
    }
    if (count == kN) return;
  }
}

// Algorithm 31 (RejBoundedPoly) with eta = 2 on the 66-byte seed rho' || index. The
// coefficients are secret: each candidate is written unconditionally and the count advances by
// the acceptance bit, so which nibbles were rejected does not show in branches or addresses.
void rej_bounded_poly(Poly& f, ByteView rho_prime, uint16_t index) {
  const uint8_t suffix[2] = {static_cast<uint8_t>(index), static_cast<uint8_t>(index >> 8)};
  // Each byte gives two candidates accepted with probability 15/16: two SHAKE256 blocks give
  // 544 for the 256 needed.
  for (size_t len = 2 * kShake256Rate;; len *= 2) {
    SecretBytes stream(len);
    shake(EVP_shake256(), {rho_prime, suffix}, stream.mutable_view());
    Wiped<std::array<uint32_t, kN + 2>> out;
    size_t count = 0;
    for (size_t pos = 0; pos < len && count < kN; ++pos) {
      for (uint32_t b : {uint32_t{stream[pos]} & 0x0f, uint32_t{stream[pos]} >> 4}) {
        // Algorithm 15 (CoeffFromHalfByte): b < 15 gives 2 - (b mod 5); b mod 5 for b < 16 is
        // b - 5 floor(b 205 / 2^10).
        uint32_t mod5 = b - 5 * ((b * 205) >> 10);
        out.value[count] = subtract_q_if_needed(kEta + kQ - mod5);
        uint32_t accepted = (b - 15) >> 31;
        count += accepted & static_cast<uint32_t>(count < kN);
      }
    }
    if (count >= kN) {
      std::copy(out.value.begin(), out.value.begin() + kN, f.begin());
      return;
    }
  }
}

// sample_in_ball's tau placements from one prefix of H(c̃); false when the prefix runs out.
bool place_signs(Poly& c, ByteView stream) {
  c.fill(0);
  size_t pos = 8;  // the first 8 bytes are the 64 sign bits
  for (uint32_t i = kN - kTau; i < kN; ++i) {
    uint32_t j;
    do {
      if (pos == stream.size()) return false;
      j = stream[pos++];
    } while (j > i);
    uint32_t bit = i + kTau - kN;
    uint32_t negative = (stream[bit / 8] >> (bit % 8)) & 1;
    uint32_t sign_value = 1 + negative * (kQ - 2);  // (-1)^h mod q
    // c_i = c_j; c_j = sign, by a pass over every coefficient so that j (which, during signing,
    // comes from a not yet published c̃) picks no address.
    uint32_t c_j = 0;
    for (uint32_t k = 0; k < kN; ++k) c_j |= c[k] & (0u - (((k ^ j) - 1) >> 31));
    c[i] = c_j;
    for (uint32_t k = 0; k < kN; ++k) {
      uint32_t at_j = 0u - (((k ^ j) - 1) >> 31);
      c[k] = (c[k] & ~at_j) | (sign_value & at_j);
    }
  }
  return true;
}

}  // namespace

void shake256(std::initializer_list<ByteView> parts, MutableByteView out) {
  shake(EVP_shake256(), parts, out);
}

void expand_a(Matrix& a, ByteView rho) {
  if (rho.size() != 32) throw std::invalid_argument("mldsa44: ExpandA seed size");
  for (size_t r = 0; r < kK; ++r)
    for (size_t s = 0; s < kL; ++s)
      rej_ntt_poly(a[r][s], rho, static_cast<uint8_t>(s), static_cast<uint8_t>(r));
}

void expand_s(VecL& s1, VecK& s2, ByteView rho_prime) {
  if (rho_prime.size() != 64) throw std::invalid_argument("mldsa44: ExpandS seed size");
  for (size_t r = 0; r < kL; ++r) rej_bounded_poly(s1[r], rho_prime, static_cast<uint16_t>(r));
  for (size_t r = 0; r < kK; ++r) rej_bounded_poly(s2[r], rho_prime, static_cast<uint16_t>(r + kL));
}

void expand_mask(VecL& y, ByteView rho_prime_prime, uint16_t kappa) {
  if (rho_prime_prime.size() != 64) throw std::invalid_argument("mldsa44: ExpandMask seed size");
  Wiped<std::array<uint8_t, 32 * 18>> v;
  for (size_t r = 0; r < kL; ++r) {
    uint16_t index = static_cast<uint16_t>(kappa + r);
    const uint8_t suffix[2] = {static_cast<uint8_t>(index), static_cast<uint8_t>(index >> 8)};
    shake256({rho_prime_prime, suffix}, v.value);
    bit_unpack(y[r], v.value, kGamma1, 18);
  }
}

void sample_in_ball(Poly& c, ByteView c_tilde) {
  // tau = 39 placements take about 42 bytes after the 8 sign bytes: one block nearly always.
  for (size_t len = kShake256Rate;; len *= 2) {
    Bytes stream(len);
    shake256({c_tilde}, stream);
    if (place_signs(c, stream)) return;
  }
}

}  // namespace postern::mldsa44
