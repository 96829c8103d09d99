// sntrup761 from the NTRU Prime round 3 specification. Notation follows it: R = Z[x]/(x^p - x - 1),
// R/q and R/3 its quotients; "small" elements have coefficients in {-1, 0, 1}, "short" ones are
// small with exactly w nonzero coefficients.
//
//   KeyGen:  g small and invertible in R/3; f short; h = g / (3f) in R/q.
//   Encrypt: c = Round(h r) for short r (each coefficient to the nearest multiple of 3).
//   Decrypt: e = 3 f c in R/q lifted to Z and reduced mod 3 equals g r mod 3, so r = e / g in R/3;
//            a result of the wrong weight is replaced by the fixed vector (1,...,1,0,...,0).
//   KEM:     Hash_b(z) = first 32 bytes of SHA-512(b || z);
//            HashConfirm(r, K) = Hash_2(Hash_3(r) || Hash_4(K));
//            HashSession(b, y, z) = Hash_b(Hash_3(y) || z);
//            session key = HashSession(1, r, C) after a successful re-encryption check, otherwise
//            HashSession(0, rho, C) (implicit rejection).
#include "net/sntrup761.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>

#include "common/log.h"
#include "common/ossl.h"

namespace postern::net::sntrup761 {
namespace {

constexpr int kP = 761;
constexpr int kQ = 4591;
constexpr int kW = 286;
constexpr int kQ12 = (kQ - 1) / 2;                  // coefficients of R/q are kept in -kQ12..kQ12
constexpr uint32_t kRoundedModulus = (kQ + 2) / 3;  // 1531 multiples of 3 in that range
constexpr size_t kSmallBytes = (kP + 3) / 4;        // 191: four 2-bit coefficients a byte
constexpr size_t kRoundedBytes = 1007;
constexpr size_t kHashBytes = 32;

// Secret-key layout (specification: KEM secret key).
constexpr size_t kSkF = 0;
constexpr size_t kSkV = kSkF + kSmallBytes;
constexpr size_t kSkPk = kSkV + kSmallBytes;
constexpr size_t kSkRho = kSkPk + kPublicKeySize;
constexpr size_t kSkCache = kSkRho + kSmallBytes;
static_assert(kSkCache + kHashBytes == kSecretKeySize);
static_assert(kRoundedBytes + kHashBytes == kCiphertextSize);

using Fq = int16_t;
using RqPoly = std::array<Fq, kP>;
using SmallPoly = std::array<int8_t, kP>;

template <typename T>
void wipe(T& object) {
  OPENSSL_cleanse(&object, sizeof object);
}

// ---- arithmetic in Z/q and Z/3, branch-free ----

// x mod q in -kQ12..kQ12 for |x| < 9e8. Adding q * 2^18 makes x non-negative and below 2^31;
// floor(y / q) is then exactly (y * ceil(2^44 / q)) >> 44 (the error is below 2^-13 < 1/q).
Fq fq_freeze(int32_t x) {
  constexpr uint64_t kMagic = 3831885438;  // floor(2^44 / 4591) + 1
  uint32_t y = static_cast<uint32_t>(x + kQ * (1 << 18));
  uint32_t quotient = static_cast<uint32_t>((uint64_t{y} * kMagic) >> 44);
  int32_t r = static_cast<int32_t>(y - quotient * kQ);  // 0..q-1
  r -= kQ & ((kQ12 - r) >> 31);                         // above kQ12: subtract q
  return static_cast<Fq>(r);
}

// x mod 3 in {-1, 0, 1} for |x| < 5e8; floor(y / 3) = (y * ceil(2^33 / 3)) >> 33 for y < 2^32.
int8_t f3_freeze(int32_t x) {
  uint32_t y = static_cast<uint32_t>(x + 3 * (1 << 29));
  uint32_t quotient = static_cast<uint32_t>((uint64_t{y} * 0xAAAAAAABull) >> 33);
  int32_t r = static_cast<int32_t>(y - 3 * quotient);  // 0, 1, 2
  r -= 3 & -(r >> 1);                                  // 2 becomes -1
  return static_cast<int8_t>(r);
}

// The same for |x| <= 2, cheaper (the reciprocal's inner loops): subtract 3 from 2, add 3 to -2.
int8_t f3_freeze_small(int32_t x) {
  return static_cast<int8_t>(x - 3 * ((x + 2) >> 2) + 3 * ((2 - x) >> 2));
}

// a^(q-2) = 1/a in Z/q (a != 0); the exponent is public, so square-and-multiply is constant time.
Fq fq_recip(Fq a) {
  int32_t result = 1;
  int32_t base = a;
  for (uint32_t e = kQ - 2; e != 0; e >>= 1) {
    if (e & 1) result = fq_freeze(result * base);
    base = fq_freeze(base * base);
  }
  return static_cast<Fq>(result);
}

// All ones when x != 0 (x in int16 range).
int32_t nonzero_mask(int32_t x) {
  return (x | -x) >> 31;
}

// ---- multiplication in R/q and R/3 (schoolbook, then x^p = x + 1) ----

// The products run over kPadded columns (b zero-padded) so the inner loop's trip count is a
// multiple of the vector width and the compiler vectorises it without a scalar tail.
constexpr int kPadded = 768;
using Product = std::array<int32_t, kP + kPadded>;

// Reduces the schoolbook product (degree <= 2p-2) modulo x^p - x - 1: x^k = x^(k-p+1) + x^(k-p)
// for k >= p; descending k touches only indices below p.
void reduce_mod_xp_x_1(Product& prod) {
  for (int k = 2 * kP - 2; k >= kP; --k) {
    prod[k - kP + 1] += prod[k];
    prod[k - kP] += prod[k];
  }
}

// prod = a * b as polynomials, b small. |a_i b_j| summed over p terms and folded twice stays
// below 6e6.
template <typename T>
void mult_small(Product& prod, const std::array<T, kP>& a, const SmallPoly& b) {
  std::array<int32_t, kPadded> wide{};
  for (int j = 0; j < kP; ++j) wide[j] = b[j];
  prod.fill(0);
  for (int i = 0; i < kP; ++i) {
    int32_t ai = a[i];
    int32_t* row = prod.data() + i;
    for (int j = 0; j < kPadded; ++j) row[j] += ai * wide[j];
  }
  reduce_mod_xp_x_1(prod);
  wipe(wide);
}

// out = a * b in R/q, b small.
void rq_mult_small(RqPoly& out, const RqPoly& a, const SmallPoly& b) {
  Product prod;
  mult_small(prod, a, b);
  for (int i = 0; i < kP; ++i) out[i] = fq_freeze(prod[i]);
  wipe(prod);
}

// out = a * b in R/3.
void r3_mult(SmallPoly& out, const SmallPoly& a, const SmallPoly& b) {
  Product prod;
  mult_small(prod, a, b);
  for (int i = 0; i < kP; ++i) out[i] = f3_freeze(prod[i]);
  wipe(prod);
}

// ---- reciprocals: Bernstein-Yang divsteps ("Fast constant-time gcd computation and modular
// inversion", 2019), a fixed 2p-1 iterations with masks instead of branches ----
//
// Work on reversed polynomials: f = x^p F(1/x) for F = x^p - x - 1 and g = x^(p-1) G(1/x) for the
// input G. Each step keeps x^n f_n = u f + v g and x^n g_n = s f + r g, tracking only the
// coefficients v, r of g (the side that is kept gets multiplied by x). After N = 2p-1 steps,
// gcd(F, G) = 1 exactly when delta = 0, and then f_N is a nonzero constant c. Then v has terms
// x^1..x^p only, and substituting 1/x for x and multiplying by x^(N+p-1) turns c x^N = u f + v g
// into c x^(p-1) = U F + x^(p-1) W G with W = sum_j v_(p-j) x^j: so 1/G = W / c in R. Keeping v
// and r modulo x^kPadded is exact because the final v has degree at most p.
//
// The loops run over kPadded entries (a multiple of the vector width; the arrays have one more,
// always zero) so the compiler vectorises them: entries of f and g past p stay zero, and those of
// v and r past p are never read.
using RecipBuffer3 = std::array<int8_t, kPadded + 1>;
using RecipBufferQ = std::array<Fq, kPadded + 1>;

// out = 1/in in R/3; returns false (out unspecified) when in is not invertible.
bool r3_recip(SmallPoly& out, const SmallPoly& in) {
  RecipBuffer3 f{}, g{}, v{}, r{};
  f[0] = 1;
  f[kP - 1] = -1;
  f[kP] = -1;
  for (int i = 0; i < kP; ++i) g[kP - 1 - i] = in[i];
  r[0] = 1;
  int32_t delta = 1;

  for (int step = 0; step < 2 * kP - 1; ++step) {
    // Swap when delta > 0 and g(0) != 0 (g(0) in {-1, 0, 1}, so g(0)^2 is 1 when nonzero).
    int32_t swap = ((-delta) >> 31) & -int32_t{g[0] * g[0]};
    delta ^= swap & (delta ^ -delta);
    delta += 1;
    int8_t swap8 = static_cast<int8_t>(swap);
    for (int i = 0; i < kPadded; ++i) {
      int8_t t = swap8 & (f[i] ^ g[i]);
      f[i] ^= t;
      g[i] ^= t;
      t = swap8 & (v[i] ^ r[i]);
      v[i] ^= t;
      r[i] ^= t;
    }
    // f(0) is +-1, its own inverse: eliminate g(0) with c = g(0) / f(0), then divide g by x.
    int32_t c = g[0] * f[0];
    for (int i = 0; i < kPadded; ++i) g[i] = f3_freeze_small(g[i + 1] - c * f[i + 1]);
    for (int i = 0; i < kPadded; ++i) r[i] = f3_freeze_small(r[i] - c * v[i]);
    std::memmove(v.data() + 1, v.data(), kPadded - 1);  // v *= x
    v[0] = 0;
  }

  for (int i = 0; i < kP; ++i) out[i] = static_cast<int8_t>(f[0] * v[kP - i]);  // 1/f(0) = f(0)
  bool invertible = delta == 0;
  wipe(f);
  wipe(g);
  wipe(v);
  wipe(r);
  return invertible;
}

// out = 1/(3 in) in R/q. R/q is a field (x^p - x - 1 is irreducible mod q), so this always
// exists for nonzero in. Without normalising f(0): g <- (f(0) g - g(0) f) / x.
void rq_recip3(RqPoly& out, const SmallPoly& in) {
  RecipBufferQ f{}, g{}, v{}, r{};
  f[0] = 1;
  f[kP - 1] = -1;
  f[kP] = -1;
  for (int i = 0; i < kP; ++i) g[kP - 1 - i] = static_cast<Fq>(3 * in[i]);
  r[0] = 1;
  int32_t delta = 1;

  for (int step = 0; step < 2 * kP - 1; ++step) {
    int32_t swap = ((-delta) >> 31) & nonzero_mask(g[0]);
    delta ^= swap & (delta ^ -delta);
    delta += 1;
    Fq swap16 = static_cast<Fq>(swap);
    for (int i = 0; i < kPadded; ++i) {
      Fq t = static_cast<Fq>(swap16 & (f[i] ^ g[i]));
      f[i] = static_cast<Fq>(f[i] ^ t);
      g[i] = static_cast<Fq>(g[i] ^ t);
      t = static_cast<Fq>(swap16 & (v[i] ^ r[i]));
      v[i] = static_cast<Fq>(v[i] ^ t);
      r[i] = static_cast<Fq>(r[i] ^ t);
    }
    int32_t f0 = f[0];
    int32_t g0 = g[0];
    for (int i = 0; i < kPadded; ++i) g[i] = fq_freeze(f0 * g[i + 1] - g0 * f[i + 1]);
    for (int i = 0; i < kPadded; ++i) r[i] = fq_freeze(f0 * r[i] - g0 * v[i]);
    std::memmove(v.data() + 1, v.data(), (kPadded - 1) * sizeof(Fq));  // v *= x
    v[0] = 0;
  }

  int32_t scale = fq_recip(f[0]);
  for (int i = 0; i < kP; ++i) out[i] = fq_freeze(scale * v[kP - i]);
  wipe(f);
  wipe(g);
  wipe(v);
  wipe(r);
}

// ---- encodings ----

// Small_encode: coefficient + 1 in two bits, four to a byte, least significant first; the last
// byte holds the single remaining coefficient.
void small_encode(uint8_t* out, const SmallPoly& a) {
  for (int i = 0; i < kP / 4; ++i) {
    uint32_t x = 0;
    for (int j = 0; j < 4; ++j) x |= static_cast<uint32_t>(a[4 * i + j] + 1) << (2 * j);
    out[i] = static_cast<uint8_t>(x);
  }
  out[kP / 4] = static_cast<uint8_t>(a[kP - 1] + 1);
}

void small_decode(SmallPoly& a, const uint8_t* in) {
  for (int i = 0; i < kP / 4; ++i) {
    uint32_t x = in[i];
    for (int j = 0; j < 4; ++j) a[4 * i + j] = static_cast<int8_t>(((x >> (2 * j)) & 3) - 1);
  }
  a[kP - 1] = static_cast<int8_t>((in[kP / 4] & 3) - 1);
}

// Encode(R, M) of the specification: a mixed-radix encoding merging adjacent pairs (radix
// M[i] * M[i+1]) and emitting low bytes while the radix is at least 2^14, recursively, until one
// value is left, whose bytes follow. R and M are used as scratch. Returns the bytes written.
// Only public values (public keys, ciphertexts) are encoded, so this may branch and divide.
size_t encode(uint8_t* out, uint32_t* R, uint32_t* M, size_t len) {
  size_t pos = 0;
  while (len > 1) {
    size_t half = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
      uint32_t m = M[i] * M[i + 1];
      uint32_t r = R[i] + M[i] * R[i + 1];
      while (m >= 16384) {
        out[pos++] = static_cast<uint8_t>(r);
        r >>= 8;
        m = (m + 255) >> 8;
      }
      R[half] = r;
      M[half] = m;
      ++half;
    }
    if (len & 1) {
      R[half] = R[len - 1];
      M[half] = M[len - 1];
      ++half;
    }
    len = half;
  }
  if (len == 1) {
    uint32_t r = R[0];
    for (uint32_t m = M[0]; m > 1; m = (m + 255) >> 8) {
      out[pos++] = static_cast<uint8_t>(r);
      r >>= 8;
    }
  }
  return pos;
}

// Decode(S, M) of the specification, the inverse of encode: every output R[i] < M[i] whatever the
// input bytes. Returns the bytes consumed. `scratch` holds decode_scratch_words(len) words.
size_t decode(uint32_t* R, const uint8_t* in, const uint32_t* M, size_t len, uint32_t* scratch) {
  if (len == 0) return 0;
  if (len == 1) {
    uint32_t r = 0;
    size_t k = 0;
    for (uint32_t m = M[0]; m > 1; m = (m + 255) >> 8) {
      r |= uint32_t{in[k]} << (8 * k);
      ++k;
    }
    R[0] = r % M[0];
    return k;
  }
  size_t half = (len + 1) / 2;
  uint32_t* M2 = scratch;
  uint32_t* R2 = M2 + half;
  uint32_t* bottom = R2 + half;
  uint32_t* shift = bottom + half;
  size_t k = 0;
  for (size_t i = 0; i + 1 < len; i += 2) {
    uint32_t m = M[i] * M[i + 1];
    uint32_t r = 0;
    uint32_t s = 0;
    while (m >= 16384) {
      r |= uint32_t{in[k++]} << s;
      s += 8;
      m = (m + 255) >> 8;
    }
    bottom[i / 2] = r;
    shift[i / 2] = s;
    M2[i / 2] = m;
  }
  if (len & 1) M2[half - 1] = M[len - 1];
  k += decode(R2, in + k, M2, half, scratch + 4 * half);
  for (size_t i = 0; i + 1 < len; i += 2) {
    uint64_t r = bottom[i / 2] + (uint64_t{R2[i / 2]} << shift[i / 2]);
    R[i] = static_cast<uint32_t>(r % M[i]);
    R[i + 1] = static_cast<uint32_t>((r / M[i]) % M[i + 1]);
  }
  if (len & 1) R[len - 1] = R2[half - 1];
  return k;
}

// decode()'s scratch for `len` values: 4 words per pair at each level of the recursion.
constexpr size_t decode_scratch_words(size_t len) {
  return len <= 1 ? 0 : 4 * ((len + 1) / 2) + decode_scratch_words((len + 1) / 2);
}
using DecodeScratch = std::array<uint32_t, decode_scratch_words(kP)>;

// Rq_encode: coefficient + kQ12 in radix q.
void rq_encode(uint8_t* out, const RqPoly& h) {
  std::array<uint32_t, kP> R, M;
  for (int i = 0; i < kP; ++i) {
    R[i] = static_cast<uint32_t>(h[i] + kQ12);
    M[i] = kQ;
  }
  [[maybe_unused]] size_t n = encode(out, R.data(), M.data(), kP);
}

void rq_decode(RqPoly& h, const uint8_t* in) {
  std::array<uint32_t, kP> R, M;
  DecodeScratch scratch;
  M.fill(kQ);
  decode(R.data(), in, M.data(), kP, scratch.data());
  for (int i = 0; i < kP; ++i) h[i] = static_cast<Fq>(static_cast<int32_t>(R[i]) - kQ12);
}

// Rounded_encode: coefficients are multiples of 3; (c + kQ12) / 3 in radix (q + 2) / 3.
void rounded_encode(uint8_t* out, const RqPoly& c) {
  std::array<uint32_t, kP> R, M;
  for (int i = 0; i < kP; ++i) {
    R[i] = static_cast<uint32_t>((c[i] + kQ12) / 3);
    M[i] = kRoundedModulus;
  }
  [[maybe_unused]] size_t n = encode(out, R.data(), M.data(), kP);
}

void rounded_decode(RqPoly& c, const uint8_t* in) {
  std::array<uint32_t, kP> R, M;
  DecodeScratch scratch;
  M.fill(kRoundedModulus);
  decode(R.data(), in, M.data(), kP, scratch.data());
  for (int i = 0; i < kP; ++i) c[i] = static_cast<Fq>(3 * static_cast<int32_t>(R[i]) - kQ12);
}

// ---- hashing ----

// Hash_b(a || b): the first 32 bytes of SHA-512(prefix || a || b).
void hash_prefix(uint8_t* out, uint8_t prefix, ByteView a, ByteView b = {}) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  uint8_t digest[64];
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha512(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), &prefix, 1) != 1 ||
      EVP_DigestUpdate(ctx.get(), a.data(), a.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), b.data(), b.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, nullptr) != 1) {
    fatal("%s", ossl_error("sntrup761: SHA-512").c_str());
  }
  std::memcpy(out, digest, kHashBytes);
  OPENSSL_cleanse(digest, sizeof digest);
}

// HashConfirm(r, K) = Hash_2(Hash_3(r) || Hash_4(K)); cache is Hash_4(K).
void hash_confirm(uint8_t* out, const uint8_t* r_enc, const uint8_t* cache) {
  uint8_t x[2 * kHashBytes];
  hash_prefix(x, 3, ByteView(r_enc, kSmallBytes));
  std::memcpy(x + kHashBytes, cache, kHashBytes);
  hash_prefix(out, 2, ByteView(x, sizeof x));
  OPENSSL_cleanse(x, sizeof x);
}

// HashSession(b, y, z) = Hash_b(Hash_3(y) || z), z the whole ciphertext.
void hash_session(uint8_t* out, uint8_t b, const uint8_t* y, const uint8_t* ciphertext) {
  uint8_t x[kHashBytes];
  hash_prefix(x, 3, ByteView(y, kSmallBytes));
  hash_prefix(out, b, ByteView(x, sizeof x), ByteView(ciphertext, kCiphertextSize));
  OPENSSL_cleanse(x, sizeof x);
}

// ---- random elements ----

// Small_random: each coefficient from 30 random bits, floor(3 * u / 2^30) - 1.
void small_random(SmallPoly& out, RandomSource& random) {
  std::array<uint32_t, kP> words;
  random.fill_words(words);
  for (int i = 0; i < kP; ++i) {
    uint32_t u = words[i] & 0x3fffffff;
    out[i] = static_cast<int8_t>(((u * 3) >> 30) - 1);
  }
  wipe(words);
}

// Constant-time sort (Batcher's merge exchange, Knuth TAOCP 5.2.2 Algorithm M): the sequence of
// compared positions depends only on n.
void sort_u32(uint32_t* x, size_t n) {
  if (n < 2) return;
  size_t top = 1;
  while (top < n - top) top += top;  // largest power of two below n
  for (size_t p = top; p > 0; p >>= 1) {
    size_t q = top, r = 0, d = p;
    for (;;) {
      for (size_t i = 0; i + d < n; ++i) {
        if ((i & p) != r) continue;
        uint32_t a = x[i], b = x[i + d];
        uint32_t swap = static_cast<uint32_t>((uint64_t{b} - uint64_t{a}) >> 32);  // b < a
        uint32_t t = swap & (a ^ b);
        x[i] = a ^ t;
        x[i + d] = b ^ t;
      }
      if (q == p) break;
      d = q - p;
      q >>= 1;
      r = p;
    }
  }
}

// Short_random: w random words with low bits 00 or 10 (becoming -1 or 1) and p - w with low
// bits 01 (becoming 0), sorted; the sort by the random high bits shuffles the positions.
void short_random(SmallPoly& out, RandomSource& random) {
  std::array<uint32_t, kP> list;
  random.fill_words(list);
  for (int i = 0; i < kW; ++i) list[i] &= ~uint32_t{1};
  for (int i = kW; i < kP; ++i) list[i] = (list[i] & ~uint32_t{3}) | 1;
  sort_u32(list.data(), kP);
  for (int i = 0; i < kP; ++i) out[i] = static_cast<int8_t>(static_cast<int32_t>(list[i] & 3) - 1);
  wipe(list);
}

// ---- the KEM ----

// Ciphertext for r: Rounded_encode(Round(h r)) || HashConfirm(r, K).
void encrypt_and_confirm(uint8_t* ciphertext, const RqPoly& h, const SmallPoly& r,
                         const uint8_t* r_enc, const uint8_t* cache) {
  RqPoly c;
  rq_mult_small(c, h, r);
  for (int i = 0; i < kP; ++i) c[i] = static_cast<Fq>(c[i] - f3_freeze(c[i]));  // Round
  rounded_encode(ciphertext, c);
  hash_confirm(ciphertext + kRoundedBytes, r_enc, cache);
  wipe(c);
}

void require_size(ByteView b, size_t n, const char* what) {
  if (b.size() != n) throw std::invalid_argument(std::string("sntrup761: bad ") + what + " size");
}

uint32_t load_le32(const uint8_t* b) {
  return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
}

// RAND_bytes output does not depend on how it is requested, so the words come in one call.
class SystemRandom final : public RandomSource {
 public:
  void fill(MutableByteView out) override {
    if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
      fatal("%s", ossl_error("sntrup761: RAND_bytes").c_str());
    }
  }
  void fill_words(std::span<uint32_t> out) override {
    std::array<uint8_t, 4 * kP> bytes;
    for (size_t done = 0; done < out.size(); done += kP) {
      size_t n = std::min<size_t>(kP, out.size() - done);
      fill(MutableByteView(bytes.data(), 4 * n));
      for (size_t i = 0; i < n; ++i) out[done + i] = load_le32(bytes.data() + 4 * i);
    }
    wipe(bytes);
  }
};

}  // namespace

void RandomSource::fill_words(std::span<uint32_t> out) {
  uint8_t b[4];
  for (uint32_t& word : out) {
    fill(b);
    word = load_le32(b);
  }
  OPENSSL_cleanse(b, sizeof b);
}

RandomSource& system_random() {
  static SystemRandom random;
  return random;
}

void keypair(MutableByteView public_key, MutableByteView secret_key, RandomSource& random) {
  require_size(public_key, kPublicKeySize, "public key");
  require_size(secret_key, kSecretKeySize, "secret key");
  SmallPoly g, v, f;
  // Rejection sampling: only the number of rejected g leaks, and they are thrown away.
  do {
    small_random(g, random);
  } while (!r3_recip(v, g));
  short_random(f, random);
  RqPoly f3_inverse, h;
  rq_recip3(f3_inverse, f);
  rq_mult_small(h, f3_inverse, g);
  rq_encode(public_key.data(), h);

  uint8_t* sk = secret_key.data();
  small_encode(sk + kSkF, f);
  small_encode(sk + kSkV, v);
  std::memcpy(sk + kSkPk, public_key.data(), kPublicKeySize);
  random.fill(secret_key.subspan(kSkRho, kSmallBytes));
  hash_prefix(sk + kSkCache, 4, ByteView(public_key.data(), kPublicKeySize));
  wipe(g);
  wipe(v);
  wipe(f);
  wipe(f3_inverse);
}

void encapsulate(MutableByteView ciphertext, MutableByteView shared_secret, ByteView public_key,
                 RandomSource& random) {
  require_size(ciphertext, kCiphertextSize, "ciphertext");
  require_size(shared_secret, kSharedSecretSize, "shared secret");
  require_size(public_key, kPublicKeySize, "public key");
  RqPoly h;
  rq_decode(h, public_key.data());
  SmallPoly r;
  short_random(r, random);
  uint8_t r_enc[kSmallBytes];
  small_encode(r_enc, r);
  uint8_t cache[kHashBytes];
  hash_prefix(cache, 4, public_key);
  encrypt_and_confirm(ciphertext.data(), h, r, r_enc, cache);
  hash_session(shared_secret.data(), 1, r_enc, ciphertext.data());
  wipe(r);
  OPENSSL_cleanse(r_enc, sizeof r_enc);
}

void decapsulate(MutableByteView shared_secret, ByteView ciphertext, ByteView secret_key) {
  require_size(shared_secret, kSharedSecretSize, "shared secret");
  require_size(ciphertext, kCiphertextSize, "ciphertext");
  require_size(secret_key, kSecretKeySize, "secret key");
  const uint8_t* sk = secret_key.data();
  SmallPoly f, v;
  small_decode(f, sk + kSkF);
  small_decode(v, sk + kSkV);

  // Decrypt: e = 3 f c in R/q, reduced mod 3, times 1/g in R/3.
  RqPoly c, fc;
  rounded_decode(c, ciphertext.data());
  rq_mult_small(fc, c, f);
  SmallPoly e, r;
  for (int i = 0; i < kP; ++i) e[i] = f3_freeze(fq_freeze(3 * fc[i]));
  r3_mult(r, e, v);

  // Weight check without branching: a wrong weight selects (1,...,1,0,...,0).
  int32_t weight = 0;
  for (int i = 0; i < kP; ++i) weight += r[i] & 1;
  int8_t bad = static_cast<int8_t>(nonzero_mask(weight - kW));
  for (int i = 0; i < kP; ++i) {
    int8_t fallback = i < kW ? 1 : 0;
    r[i] = static_cast<int8_t>(r[i] ^ (bad & (r[i] ^ fallback)));
  }

  // Re-encrypt and compare the whole ciphertext in constant time.
  uint8_t r_enc[kSmallBytes];
  small_encode(r_enc, r);
  RqPoly h;
  rq_decode(h, sk + kSkPk);
  uint8_t expected[kCiphertextSize];
  encrypt_and_confirm(expected, h, r, r_enc, sk + kSkCache);
  uint32_t diff = 0;
  for (size_t i = 0; i < kCiphertextSize; ++i) diff |= uint32_t{expected[i]} ^ ciphertext[i];
  // ok is 0xff when the ciphertexts agree, else 0.
  uint8_t ok = static_cast<uint8_t>((diff - 1) >> 8);
  const uint8_t* rho = sk + kSkRho;
  for (size_t i = 0; i < kSmallBytes; ++i) {
    r_enc[i] = static_cast<uint8_t>((r_enc[i] & ok) | (rho[i] & ~ok));
  }
  hash_session(shared_secret.data(), ok & 1, r_enc, ciphertext.data());

  wipe(f);
  wipe(v);
  wipe(fc);
  wipe(e);
  wipe(r);
  OPENSSL_cleanse(r_enc, sizeof r_enc);
  OPENSSL_cleanse(expected, sizeof expected);
}

}  // namespace postern::net::sntrup761
