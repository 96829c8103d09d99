// ML-DSA-44's hashing and sampling (FIPS 204 §7.3). OpenSSL 3.0 squeezes a SHAKE only once, so
// each sampler asks for a prefix long enough in all but astronomically rare cases and, when that
// falls short, asks again for a longer prefix of the same stream and starts over.
#include "common/mldsa44_sample.h"

#include <openssl/evp.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "common/log.h"
#include "common/mldsa44_declassify.h"
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

// A sampler's candidate: its value, whether it was accepted, and how many candidates before it
// were rejected (how far left it moves when the rejected ones are squeezed out).
struct Candidate {
  uint32_t value, accepted, shift;
};

// Moves the accepted candidates to the front, in order, without an address or branch that
// depends on which were accepted: an order-preserving compaction network. Round b moves every
// accepted candidate whose shift has bit b set left by 2^b. Taking the bits from the lowest up,
// two accepted candidates never meet (between positions i < j lie at least shift_j - shift_i
// rejected ones, which bounds how much closer the low bits of the shifts can bring them), so
// each round is one masked pass.
void compact_accepted(std::vector<Candidate>& c) {
  const size_t n = c.size();
  for (size_t distance = 1; distance < n; distance *= 2) {
    const uint32_t bit = static_cast<uint32_t>(distance);
    for (size_t i = 0; i < n; ++i) {
      uint32_t stays = 0u - (c[i].accepted & static_cast<uint32_t>((c[i].shift & bit) == 0));
      Candidate from = i + distance < n ? c[i + distance] : Candidate{0, 0, 0};
      uint32_t arrives = 0u - (from.accepted & static_cast<uint32_t>((from.shift & bit) != 0));
      // Exactly one of: a candidate arrives, the one here stays, the slot empties.
      c[i].value = (from.value & arrives) | (c[i].value & stays);
      c[i].shift = (from.shift & arrives) | (c[i].shift & stays);
      c[i].accepted = (from.accepted & arrives) | (c[i].accepted & stays & 1);
    }
  }
}

// Algorithm 31 (RejBoundedPoly) with eta = 2 on the 66-byte seed rho' || index. The
// coefficients are secret: every byte of the prefix is examined, acceptance is arithmetic and
// the rejected candidates are squeezed out by compact_accepted, so which nibbles were rejected
// shows in no branch, address or loop length.
void rej_bounded_poly(Poly& f, ByteView rho_prime, uint16_t index) {
  const uint8_t suffix[2] = {static_cast<uint8_t>(index), static_cast<uint8_t>(index >> 8)};
  // Each byte gives two candidates accepted with probability 15/16: two SHAKE256 blocks give
  // 544 for the 256 needed.
  for (size_t len = 2 * kShake256Rate;; len *= 2) {
    SecretBytes stream(len);
    shake(EVP_shake256(), {rho_prime, suffix}, stream.mutable_view());
    std::vector<Candidate> candidates(2 * len);
    uint32_t rejected = 0;
    for (size_t t = 0; t < candidates.size(); ++t) {
      uint32_t b = (stream[t / 2] >> (4 * (t % 2))) & 0x0f;
      // Algorithm 15 (CoeffFromHalfByte): b < 15 gives 2 - (b mod 5); b mod 5 for b < 16 is
      // b - 5 floor(b 205 / 2^10).
      uint32_t mod5 = b - 5 * ((b * 205) >> 10);
      uint32_t accepted = (b - 15) >> 31;
      candidates[t] = {subtract_q_if_needed(kEta + kQ - mod5), accepted, rejected};
      rejected += accepted ^ 1;
    }
    compact_accepted(candidates);
    // Whether the prefix held 256 acceptable nibbles: it fails with probability below 2^-200.
    bool enough = candidates.size() - rejected >= kN;
    declassify(&enough, sizeof enough);
    if (enough)
      for (size_t i = 0; i < kN; ++i) f[i] = candidates[i].value;
    OPENSSL_cleanse(candidates.data(), candidates.size() * sizeof(Candidate));
    if (enough) return;
  }
}

// All ones when a == b (both below 2^63), else zero, without a comparison the compiler could
// turn into a branch.
uint64_t equal_mask(uint64_t a, uint64_t b) {
  return 0 - (((a ^ b) - 1) >> 63);
}

// Algorithm 29's placements from one prefix of H(c̃); false when the prefix runs out. During
// signing c̃ belongs to a candidate that may yet be rejected, so it is treated as secret: every
// byte of the prefix is examined (acceptance is a mask, not a loop exit) and the writes c_i = c_j,
// c_j = +-1 are masked passes over the whole polynomial, so neither j nor i picks an address.
// The passes run over c held as 256 bytes (0, 1 or 0xff for -1) packed eight to a word.
bool place_signs(Poly& c, ByteView stream) {
  std::array<uint64_t, kN / 8> packed{};
  uint64_t signs = 0;  // the first 8 bytes: h of line 3, bit t for placement t
  for (size_t b = 0; b < 8; ++b) signs |= uint64_t{stream[b]} << (8 * b);
  uint64_t i = kN - kTau;  // the next position to fill (line 4)
  for (size_t pos = 8; pos < stream.size(); ++pos) {
    uint64_t j = stream[pos];
    // Line 6: j is taken when j <= i; after the last placement (i = 256) nothing is.
    uint64_t take = 0 - ((((i - j) >> 63) ^ 1) & ((i - kN) >> 63));
    uint64_t negative = (signs >> ((i + kTau - kN) & 63)) & 1;
    uint64_t sign_byte = 1 | (0xfe * negative);
    unsigned i_shift = static_cast<unsigned>(8 * (i & 7)),
             j_shift = static_cast<unsigned>(8 * (j & 7));
    uint64_t c_j = 0;
    for (uint64_t w = 0; w < packed.size(); ++w) c_j |= packed[w] & equal_mask(w, j >> 3);
    c_j = (c_j >> j_shift) & 0xff;
    for (uint64_t w = 0; w < packed.size(); ++w) {
      uint64_t at_i = equal_mask(w, i >> 3) & (uint64_t{0xff} << i_shift) & take;
      uint64_t at_j = equal_mask(w, j >> 3) & (uint64_t{0xff} << j_shift) & take;
      packed[w] = (packed[w] & ~(at_i | at_j)) | ((c_j << i_shift) & at_i & ~at_j) |
                  ((sign_byte << j_shift) & at_j);
    }
    i += take & 1;
  }
  for (size_t k = 0; k < kN; ++k) {
    uint32_t byte = static_cast<uint32_t>(packed[k / 8] >> (8 * (k % 8))) & 0xff;
    c[k] = (byte & 1) * (1 + (byte >> 7) * (kQ - 2));  // 0, 1 or q - 1
  }
  OPENSSL_cleanse(packed.data(), sizeof packed);
  return i == kN;
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
    SecretBytes stream(len);  // a rejected candidate's c~ stays secret
    shake256({c_tilde}, stream.mutable_view());
    bool placed = place_signs(c, stream);
    declassify(&placed, sizeof placed);
    if (placed) return;
  }
}

}  // namespace postern::mldsa44
