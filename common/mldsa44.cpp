// ML-DSA-44 (FIPS 204): key generation (Algorithms 1 and 6), signing (2 and 7) and verification
// (3 and 8). The ring arithmetic, encodings and samplers are in mldsa44_poly, mldsa44_encode and
// mldsa44_sample.
#include "common/mldsa44.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <initializer_list>
#include <stdexcept>

#include "common/log.h"
#include "common/mldsa44_declassify.h"
#include "common/mldsa44_encode.h"
#include "common/mldsa44_poly.h"
#include "common/mldsa44_sample.h"
#include "common/ossl.h"

namespace postern::mldsa44 {
namespace {

constexpr size_t kMuSize = 64;

void require_size(size_t got, size_t want, const char* what) {
  if (got != want) throw std::invalid_argument(std::string("mldsa44: wrong size of ") + what);
}

void random_bytes(MutableByteView out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1)
    fatal("%s", ossl_error("mldsa44: RAND_bytes").c_str());
}

// mu = H(tr || M', 64) (Algorithm 7 line 6, Algorithm 8 line 7), M' given as parts.
void message_representative(MutableByteView mu, ByteView tr,
                            std::initializer_list<ByteView> message_parts) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  bool ok = ctx && EVP_DigestInit_ex(ctx.get(), EVP_shake256(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx.get(), tr.data(), tr.size()) == 1;
  for (ByteView p : message_parts) ok = ok && EVP_DigestUpdate(ctx.get(), p.data(), p.size()) == 1;
  if (!ok || EVP_DigestFinalXOF(ctx.get(), mu.data(), mu.size()) != 1)
    fatal("%s", ossl_error("mldsa44: SHAKE256").c_str());
}

template <size_t N>
void ntt_all(std::array<Poly, N>& v) {
  for (auto& p : v) ntt(p);
}

// out = NTT^-1(Σ_j row[j] ∘ v̂[j]): one row of Â ∘ v̂ back in the normal domain.
void row_times_vector(Poly& out, const VecL& row, const VecL& v_hat) {
  out.fill(0);
  for (size_t j = 0; j < kL; ++j) multiply_ntts_accumulate(out, row[j], v_hat[j]);
  inverse_ntt(out);
}

// out = NTT^-1(ĉ ∘ v̂): c times a vector's polynomial, as Algorithm 7 lines 18-19 and 25.
void challenge_times(Poly& out, const Poly& c_hat, const Poly& v_hat) {
  multiply_ntts(out, c_hat, v_hat);
  inverse_ntt(out);
}

// The 1-bit "all below" results of the rejection checks of Algorithm 7 lines 21-28, computed
// over every coefficient before the one branch that accepts or retries.
uint32_t low_bits_below(const Poly& r, uint32_t bound) {
  uint32_t too_large = 0;
  for (uint32_t x : r) {
    uint32_t r1;
    int32_t r0;
    decompose(x, r1, r0);
    int32_t sign = r0 >> 31;
    uint32_t magnitude = static_cast<uint32_t>((r0 ^ sign) - sign);
    too_large |= (bound - 1 - magnitude) >> 31;
  }
  return too_large ^ 1;
}

// Algorithm 7 from line 1 on, with mu's input M' given as the parts whose concatenation it is
// (so Algorithm 2 need not copy the message to prepend its domain separator).
void sign_parts(MutableByteView sigma, ByteView sk, std::initializer_list<ByteView> message_parts,
                ByteView rnd) {
  Wiped<VecL> s1_hat;
  Wiped<VecK> s2_hat, t0_hat;
  SecretKeySeeds seeds = decode_secret_key(sk, s1_hat.value, s2_hat.value, t0_hat.value);
  ntt_all(s1_hat.value);
  ntt_all(s2_hat.value);
  ntt_all(t0_hat.value);
  declassify(seeds.rho.data(), seeds.rho.size());  // rho is also in the public key
  Matrix a;
  expand_a(a, seeds.rho);

  // Lines 6-7: mu, then rho'' = H(K || rnd || mu, 64).
  uint8_t mu[kMuSize];
  message_representative(mu, seeds.tr, message_parts);
  Wiped<uint8_t[64]> rho_prime_prime;
  shake256({seeds.key, rnd, mu}, rho_prime_prime.value);

  // Line 10: the rejection loop. kappa grows by l a round; ExpandMask takes it as 16 bits, so
  // the loop ends long before it could wrap (each round is accepted with probability about 1/4).
  for (uint32_t kappa = 0; kappa + kL <= 0xffff; kappa += kL) {
    Wiped<VecL> y, z;
    expand_mask(y.value, rho_prime_prime.value, static_cast<uint16_t>(kappa));
    Wiped<VecL> y_hat = y;
    ntt_all(y_hat.value);

    // Lines 12-15: w = NTT^-1(Â ∘ NTT(y)), w1 = HighBits(w), c̃ = H(mu || w1Encode(w1), 32).
    Wiped<VecK> w, w1;
    for (size_t i = 0; i < kK; ++i) {
      row_times_vector(w.value[i], a[i], y_hat.value);
      for (size_t n = 0; n < kN; ++n) w1.value[i][n] = high_bits(w.value[i][n]);
    }
    Wiped<uint8_t[kW1EncodedSize]> w1_bytes;
    w1_encode(w1_bytes.value, w1.value);
    Wiped<uint8_t[kCommitmentHashSize]> c_tilde;
    shake256({ByteView(mu), ByteView(w1_bytes.value)}, c_tilde.value);
    Wiped<Poly> c_hat;
    sample_in_ball(c_hat.value, c_tilde.value);
    ntt(c_hat.value);

    // Lines 18-20: z = y + NTT^-1(ĉ ∘ ŝ1); r = w - NTT^-1(ĉ ∘ ŝ2), whose low bits are r0.
    Wiped<Poly> product;
    uint32_t accept = 1;
    for (size_t j = 0; j < kL; ++j) {
      challenge_times(product.value, c_hat.value, s1_hat.value[j]);
      z.value[j] = y.value[j];
      add_into(z.value[j], product.value);
      accept &= static_cast<uint32_t>(infinity_norm_below(z.value[j], kGamma1 - kBeta));
    }
    // Lines 25-28: h = MakeHint(-ct0, w - cs2 + ct0), with ||ct0|| < gamma2 and at most omega
    // ones.
    Wiped<VecK> h;  // published only if accepted
    uint32_t ones = 0;
    for (size_t i = 0; i < kK; ++i) {
      Poly& r = w.value[i];
      challenge_times(product.value, c_hat.value, s2_hat.value[i]);
      subtract_into(r, product.value);
      accept &= low_bits_below(r, kGamma2 - kBeta);
      challenge_times(product.value, c_hat.value, t0_hat.value[i]);
      accept &= static_cast<uint32_t>(infinity_norm_below(product.value, kGamma2));
      for (size_t n = 0; n < kN; ++n) {
        uint32_t ct0 = product.value[n];
        h.value[i][n] = make_hint(subtract_q_if_needed(kQ - ct0), subtract_q_if_needed(r[n] + ct0));
        ones += h.value[i][n];
      }
    }
    accept &= static_cast<uint32_t>(ones <= kOmega);
    // The one branch on secrets FIPS 204 allows (§3.6.3): whether this candidate is accepted.
    // An accepted candidate is published whole, so it is public from here on.
    declassify(&accept, sizeof accept);
    if (accept) {
      declassify(c_tilde.value, sizeof c_tilde.value);
      declassify(&z.value, sizeof z.value);
      declassify(&h.value, sizeof h.value);
      encode_signature(sigma, c_tilde.value, z.value, h.value);
      return;
    }
  }
  fatal("mldsa44: no signature after 16384 rounds");
}

// Algorithm 8 after the size checks, with M' as parts as in sign_parts.
bool verify_parts(ByteView pk, std::initializer_list<ByteView> message_parts, ByteView sigma) {
  ByteView rho, c_tilde;
  VecK t1, h;
  VecL z;
  decode_public_key(pk, rho, t1);
  if (!decode_signature(sigma, c_tilde, z, h)) return false;
  // Line 13's norm check first: it needs nothing computed.
  for (auto& p : z)
    if (!infinity_norm_below(p, kGamma1 - kBeta)) return false;

  Matrix a;
  expand_a(a, rho);
  uint8_t tr[kTrSize];
  shake256({pk}, tr);
  uint8_t mu[kMuSize];
  message_representative(mu, tr, message_parts);
  Poly c_hat;
  sample_in_ball(c_hat, c_tilde);
  ntt(c_hat);

  // Line 9: w'approx = NTT^-1(Â ∘ NTT(z) - NTT(c) ∘ NTT(t1 2^d)); line 10: w1' = UseHint(h, w').
  ntt_all(z);
  VecK w1;
  for (size_t i = 0; i < kK; ++i) {
    Poly w, ct1;
    for (size_t n = 0; n < kN; ++n) ct1[n] = t1[i][n] << kD;  // at most 1023 2^13 = q - 1
    ntt(ct1);
    multiply_ntts(ct1, ct1, c_hat);
    w.fill(0);
    for (size_t j = 0; j < kL; ++j) multiply_ntts_accumulate(w, a[i][j], z[j]);
    subtract_into(w, ct1);
    inverse_ntt(w);
    for (size_t n = 0; n < kN; ++n) w1[i][n] = use_hint(h[i][n], w[n]);
  }
  uint8_t w1_bytes[kW1EncodedSize], c_tilde_again[kCommitmentHashSize];
  w1_encode(w1_bytes, w1);
  shake256({ByteView(mu), ByteView(w1_bytes)}, c_tilde_again);
  return CRYPTO_memcmp(c_tilde.data(), c_tilde_again, kCommitmentHashSize) == 0;
}

}  // namespace

void keygen_from_seed(MutableByteView pk, MutableByteView sk, ByteView seed) {
  require_size(pk.size(), kPublicKeySize, "public key");
  require_size(sk.size(), kSecretKeySize, "secret key");
  require_size(seed.size(), kSeedSize, "seed");
  // Algorithm 6 line 1: (rho, rho', K) = H(xi || k || l, 128), FIPS 204's domain separation by
  // the parameter set.
  const uint8_t k_and_l[2] = {kK, kL};
  Wiped<uint8_t[128]> expanded;
  shake256({seed, k_and_l}, expanded.value);
  ByteView rho(expanded.value, 32), rho_prime(expanded.value + 32, 64),
      key(expanded.value + 96, 32);
  declassify(expanded.value, 32);  // rho: the first 32 bytes of the public key

  Matrix a;
  expand_a(a, rho);
  Wiped<VecL> s1, s1_hat;
  Wiped<VecK> s2, t0;
  expand_s(s1.value, s2.value, rho_prime);
  s1_hat.value = s1.value;
  ntt_all(s1_hat.value);
  // Lines 5-6: t = NTT^-1(Â ∘ NTT(s1)) + s2, split by Power2Round into t1 (public) and t0.
  VecK t1;
  Wiped<Poly> t;
  for (size_t i = 0; i < kK; ++i) {
    row_times_vector(t.value, a[i], s1_hat.value);
    add_into(t.value, s2.value[i]);
    for (size_t n = 0; n < kN; ++n) power2round(t.value[n], t1[i][n], t0.value[i][n]);
  }
  encode_public_key(pk, rho, t1);
  uint8_t tr[kTrSize];
  shake256({ByteView(pk)}, tr);
  encode_secret_key(sk, rho, key, tr, s1.value, s2.value, t0.value);
}

void keygen(MutableByteView pk, MutableByteView sk, MutableByteView seed) {
  require_size(seed.size(), kSeedSize, "seed");
  random_bytes(seed);
  keygen_from_seed(pk, sk, seed);
}

void sign_internal(MutableByteView sigma, ByteView sk, ByteView formatted_message, ByteView rnd) {
  require_size(sigma.size(), kSignatureSize, "signature");
  require_size(sk.size(), kSecretKeySize, "secret key");
  require_size(rnd.size(), kRandomizerSize, "rnd");
  sign_parts(sigma, sk, {formatted_message}, rnd);
}

bool verify_internal(ByteView pk, ByteView formatted_message, ByteView sigma) {
  require_size(pk.size(), kPublicKeySize, "public key");
  require_size(sigma.size(), kSignatureSize, "signature");
  return verify_parts(pk, {formatted_message}, sigma);
}

bool sign(MutableByteView sigma, ByteView sk, ByteView message, ByteView context) {
  require_size(sigma.size(), kSignatureSize, "signature");
  require_size(sk.size(), kSecretKeySize, "secret key");
  // Algorithm 2 lines 1-3: a context over 255 bytes is an error.
  if (context.size() > kMaxContextSize) return false;
  Wiped<uint8_t[kRandomizerSize]> rnd;
  random_bytes(rnd.value);
  // Line 10: M' = IntegerToBytes(0, 1) || IntegerToBytes(|ctx|, 1) || ctx || M.
  const uint8_t prefix[2] = {0, static_cast<uint8_t>(context.size())};
  sign_parts(sigma, sk, {prefix, context, message}, rnd.value);
  return true;
}

bool verify(ByteView pk, ByteView message, ByteView context, ByteView sigma) {
  // Algorithm 3 lines 1-3, and lengths from the wire: a refusal, not a caller bug.
  if (pk.size() != kPublicKeySize || sigma.size() != kSignatureSize ||
      context.size() > kMaxContextSize)
    return false;
  const uint8_t prefix[2] = {0, static_cast<uint8_t>(context.size())};
  return verify_parts(pk, {prefix, context, message}, sigma);
}

}  // namespace postern::mldsa44
