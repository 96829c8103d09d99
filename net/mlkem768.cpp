// ML-KEM-768 (FIPS 203): K-PKE (§5) and the KEM built on it (§6, §7).
#include "net/mlkem768.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

#include "common/log.h"
#include "common/ossl.h"
#include "net/mlkem768_poly.h"

namespace postern::net::mlkem768 {
namespace {

constexpr size_t kK = 3;
constexpr unsigned kDu = 10;
constexpr unsigned kDv = 4;
constexpr size_t kPolyBytes = 384;                  // ByteEncode_12 of one polynomial
constexpr size_t kPkeSecretSize = kK * kPolyBytes;  // 1152
constexpr size_t kU = kK * 32 * kDu;                // 960: c1
static_assert(kEncapsulationKeySize == kPkeSecretSize + 32);
static_assert(kDecapsulationKeySize == 2 * kPkeSecretSize + 96);
static_assert(kCiphertextSize == kU + 32 * kDv);

using PolyVec = std::array<Poly, kK>;
using Matrix = std::array<PolyVec, kK>;

// Zeroes a secret intermediate when it goes out of scope.
template <typename T>
struct Wiped {
  T value{};
  ~Wiped() { OPENSSL_cleanse(&value, sizeof value); }
};

void require_size(ByteView b, size_t n, const char* what) {
  if (b.size() != n) throw std::invalid_argument(std::string("mlkem768: wrong size of ") + what);
}

// H, G and J of §4.1: one-shot SHA3-256, SHA3-512 or SHAKE256 over the concatenation a || b.
void digest(const EVP_MD* md, ByteView a, ByteView b, MutableByteView out) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  bool xof = (EVP_MD_get_flags(md) & EVP_MD_FLAG_XOF) != 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), a.data(), a.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), b.data(), b.size()) != 1 ||
      (xof ? EVP_DigestFinalXOF(ctx.get(), out.data(), out.size())
           : EVP_DigestFinal_ex(ctx.get(), out.data(), nullptr)) != 1)
    fatal("%s", ossl_error("mlkem768: SHA-3").c_str());
}

// Â[i][j] = SampleNTT(rho || j || i) (Algorithm 13 line 6, Algorithm 14 line 6).
void generate_matrix(Matrix& a, ByteView rho) {
  for (size_t i = 0; i < kK; ++i)
    for (size_t j = 0; j < kK; ++j)
      sample_ntt(a[i][j], rho, static_cast<uint8_t>(j), static_cast<uint8_t>(i));
}

void compress_poly(Poly& f, unsigned d) {
  for (auto& c : f) c = compress(c, d);
}

void decompress_poly(Poly& f, unsigned d) {
  for (auto& c : f) c = decompress(c, d);
}

// Algorithm 13 (K-PKE.KeyGen) from line 2 on, given (rho, sigma) = G(d || k) of line 1:
// ek = ByteEncode12(t̂) || rho, dk_PKE = ByteEncode12(ŝ).
void pke_keygen_expanded(MutableByteView ek, MutableByteView dk_pke, ByteView rho_sigma) {
  ByteView rho = rho_sigma.first(32), sigma = rho_sigma.last(32);

  Matrix a;
  generate_matrix(a, rho);
  Wiped<PolyVec> s, e;
  for (size_t i = 0; i < kK; ++i) {
    sample_cbd2(s.value[i], sigma, static_cast<uint8_t>(i));
    sample_cbd2(e.value[i], sigma, static_cast<uint8_t>(kK + i));
  }
  for (size_t i = 0; i < kK; ++i) {
    ntt(s.value[i]);
    ntt(e.value[i]);
  }
  for (size_t i = 0; i < kK; ++i) {
    Poly t{};
    for (size_t j = 0; j < kK; ++j) multiply_ntts_accumulate(t, a[i][j], s.value[j]);
    add_into(t, e.value[i]);
    byte_encode(ek.subspan(i * kPolyBytes, kPolyBytes), t, 12);
    byte_encode(dk_pke.subspan(i * kPolyBytes, kPolyBytes), s.value[i], 12);
  }
  std::copy(rho.begin(), rho.end(), ek.begin() + kPkeSecretSize);
}

// Algorithm 16 after K-PKE's seed expansion: dk = dk_PKE || ek || H(ek) || z.
void keygen_finish(MutableByteView ek, MutableByteView dk, ByteView rho_sigma, ByteView z) {
  pke_keygen_expanded(ek, dk.first(kPkeSecretSize), rho_sigma);
  std::copy(ek.begin(), ek.end(), dk.begin() + kPkeSecretSize);
  digest(EVP_sha3_256(), ek, {}, dk.subspan(kPkeSecretSize + kEncapsulationKeySize, 32));
  std::copy(z.begin(), z.end(), dk.end() - 32);
}

// Algorithm 14 (K-PKE.Encrypt) of the 32-byte message m with randomness r.
void pke_encrypt(MutableByteView c, ByteView ek, ByteView m, ByteView r) {
  PolyVec t;
  for (size_t i = 0; i < kK; ++i) byte_decode(t[i], ek.subspan(i * kPolyBytes, kPolyBytes), 12);
  Matrix a;
  generate_matrix(a, ek.subspan(kPkeSecretSize, 32));

  Wiped<PolyVec> y, e1;
  Wiped<Poly> e2, mu, v;
  for (size_t i = 0; i < kK; ++i) {
    sample_cbd2(y.value[i], r, static_cast<uint8_t>(i));
    sample_cbd2(e1.value[i], r, static_cast<uint8_t>(kK + i));
  }
  sample_cbd2(e2.value, r, static_cast<uint8_t>(2 * kK));
  for (auto& p : y.value) ntt(p);

  // u = NTT^-1(Âᵀ ∘ ŷ) + e1: row i of Âᵀ is column i of Â.
  for (size_t i = 0; i < kK; ++i) {
    Wiped<Poly> u;
    for (size_t j = 0; j < kK; ++j) multiply_ntts_accumulate(u.value, a[j][i], y.value[j]);
    inverse_ntt(u.value);
    add_into(u.value, e1.value[i]);
    compress_poly(u.value, kDu);
    byte_encode(c.subspan(i * 32 * kDu, 32 * kDu), u.value, kDu);
  }
  // v = NTT^-1(t̂ᵀ ∘ ŷ) + e2 + Decompress_1(ByteDecode_1(m)).
  for (size_t j = 0; j < kK; ++j) multiply_ntts_accumulate(v.value, t[j], y.value[j]);
  inverse_ntt(v.value);
  add_into(v.value, e2.value);
  byte_decode(mu.value, m, 1);
  decompress_poly(mu.value, 1);
  add_into(v.value, mu.value);
  compress_poly(v.value, kDv);
  byte_encode(c.subspan(kU, 32 * kDv), v.value, kDv);
}

// Algorithm 15 (K-PKE.Decrypt): m = ByteEncode_1(Compress_1(v' - NTT^-1(ŝᵀ ∘ NTT(u')))).
void pke_decrypt(MutableByteView m, ByteView dk_pke, ByteView c) {
  Wiped<Poly> w, u, s;
  for (size_t i = 0; i < kK; ++i) {
    byte_decode(u.value, c.subspan(i * 32 * kDu, 32 * kDu), kDu);
    decompress_poly(u.value, kDu);
    ntt(u.value);
    byte_decode(s.value, dk_pke.subspan(i * kPolyBytes, kPolyBytes), 12);
    multiply_ntts_accumulate(w.value, s.value, u.value);
  }
  inverse_ntt(w.value);
  Wiped<Poly> v;
  byte_decode(v.value, c.subspan(kU, 32 * kDv), kDv);
  decompress_poly(v.value, kDv);
  subtract_into(v.value, w.value);
  compress_poly(v.value, 1);
  byte_encode(m, v.value, 1);
}

// Keeps the compiler from turning the mask arithmetic below back into a branch.
uint8_t value_barrier(uint8_t x) {
  __asm__("" : "+r"(x));
  return x;
}

}  // namespace

bool encapsulation_key_is_valid(ByteView ek) {
  require_size(ek, kEncapsulationKeySize, "encapsulation key");
  for (size_t i = 0; i < kK; ++i)
    if (!byte_decode_12_is_canonical(ek.subspan(i * kPolyBytes, kPolyBytes))) return false;
  return true;
}

void keygen_internal(MutableByteView ek, MutableByteView dk, ByteView d, ByteView z) {
  require_size(ek, kEncapsulationKeySize, "encapsulation key");
  require_size(dk, kDecapsulationKeySize, "decapsulation key");
  require_size(d, kSeedSize, "d");
  require_size(z, kSeedSize, "z");
  // Algorithm 13 line 1: (rho, sigma) = G(d || k), k as one byte (FIPS 203's domain separation,
  // absent from the 2023 draft).
  Wiped<uint8_t[64]> rho_sigma;
  const uint8_t k_byte[1] = {kK};
  digest(EVP_sha3_512(), d, k_byte, rho_sigma.value);
  keygen_finish(ek, dk, rho_sigma.value, z);
}

void keygen_from_expanded_seed_for_test(MutableByteView ek, MutableByteView dk, ByteView rho_sigma,
                                        ByteView z) {
  require_size(ek, kEncapsulationKeySize, "encapsulation key");
  require_size(dk, kDecapsulationKeySize, "decapsulation key");
  require_size(rho_sigma, 64, "rho || sigma");
  require_size(z, kSeedSize, "z");
  keygen_finish(ek, dk, rho_sigma, z);
}

bool encapsulate_internal(MutableByteView c, MutableByteView k, ByteView ek, ByteView m) {
  require_size(c, kCiphertextSize, "ciphertext");
  require_size(k, kSharedSecretSize, "shared secret");
  require_size(m, kSeedSize, "m");
  if (!encapsulation_key_is_valid(ek)) return false;
  // Algorithm 17: (K, r) = G(m || H(ek)); c = K-PKE.Encrypt(ek, m, r).
  uint8_t ek_hash[32];
  digest(EVP_sha3_256(), ek, {}, ek_hash);
  Wiped<uint8_t[64]> k_r;
  digest(EVP_sha3_512(), m, ek_hash, k_r.value);
  pke_encrypt(c, ek, m, ByteView(k_r.value + 32, 32));
  std::copy(k_r.value, k_r.value + 32, k.begin());
  return true;
}

void keygen(MutableByteView ek, MutableByteView dk) {
  Wiped<uint8_t[64]> seeds;
  if (RAND_bytes(seeds.value, sizeof seeds.value) != 1)
    fatal("%s", ossl_error("mlkem768: RAND_bytes").c_str());
  keygen_internal(ek, dk, ByteView(seeds.value, 32), ByteView(seeds.value + 32, 32));
}

bool encapsulate(MutableByteView c, MutableByteView k, ByteView ek) {
  Wiped<uint8_t[32]> m;
  if (RAND_bytes(m.value, sizeof m.value) != 1)
    fatal("%s", ossl_error("mlkem768: RAND_bytes").c_str());
  return encapsulate_internal(c, k, ek, m.value);
}

void decapsulate(MutableByteView k, ByteView dk, ByteView c) {
  require_size(k, kSharedSecretSize, "shared secret");
  require_size(dk, kDecapsulationKeySize, "decapsulation key");
  require_size(c, kCiphertextSize, "ciphertext");
  // Algorithm 18: dk = dk_PKE || ek_PKE || h || z.
  ByteView dk_pke = dk.first(kPkeSecretSize);
  ByteView ek = dk.subspan(kPkeSecretSize, kEncapsulationKeySize);
  ByteView h = dk.subspan(kPkeSecretSize + kEncapsulationKeySize, 32);
  ByteView z = dk.last(32);

  Wiped<uint8_t[32]> m;
  pke_decrypt(m.value, dk_pke, c);
  Wiped<uint8_t[64]> k_r;
  digest(EVP_sha3_512(), m.value, h, k_r.value);
  Wiped<uint8_t[32]> k_reject;
  digest(EVP_shake256(), z, c, k_reject.value);
  Wiped<uint8_t[kCiphertextSize]> c_again;
  pke_encrypt(c_again.value, ek, m.value, ByteView(k_r.value + 32, 32));

  // Line 9: if c != c', K' = K̄. Compared and selected with masks (a cmov), so the timing does
  // not tell a forger whether the ciphertext was accepted.
  uint8_t differ = 0;
  for (size_t i = 0; i < kCiphertextSize; ++i) differ |= c[i] ^ c_again.value[i];
  // 0xff when every byte matched, else 0x00.
  uint8_t keep = value_barrier(static_cast<uint8_t>((uint32_t{differ} - 1) >> 8));
  for (size_t i = 0; i < kSharedSecretSize; ++i)
    k[i] = static_cast<uint8_t>((k_r.value[i] & keep) | (k_reject.value[i] & ~keep));
}

}  // namespace postern::net::mlkem768
