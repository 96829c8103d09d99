// ML-DSA-44's byte encodings (FIPS 204 §7.1-§7.3).
#include "common/mldsa44_encode.h"

#include <algorithm>
#include <stdexcept>

#include "common/mldsa44.h"

namespace postern::mldsa44 {
namespace {

constexpr unsigned kT1Bits = 10;  // bitlen(q - 1) - d
constexpr unsigned kEtaBits = 3;  // bitlen(2 eta)
constexpr unsigned kT0Bits = kD;
constexpr unsigned kZBits = 18;  // 1 + bitlen(gamma1 - 1)
constexpr unsigned kW1Bits = 6;  // bitlen(43)
constexpr size_t kSeedBytes = 32;

constexpr size_t packed_size(unsigned bits) {
  return 32 * bits;
}
static_assert(kPublicKeySize == kSeedBytes + kK * packed_size(kT1Bits));
static_assert(kSecretKeySize == 2 * kSeedBytes + kTrSize + (kL + kK) * packed_size(kEtaBits) +
                                    kK * packed_size(kT0Bits));
static_assert(kSignatureSize == kCommitmentHashSize + kL * packed_size(kZBits) + kOmega + kK);
static_assert(kW1EncodedSize == kK * packed_size(kW1Bits));

void require_size(size_t got, size_t want, const char* what) {
  if (got != want) throw std::invalid_argument(std::string("mldsa44: wrong size of ") + what);
}

// Consecutive slices of a buffer whose total size was checked first; a MutableByteView one also
// copies bytes in.
template <typename View>
class Slicer {
 public:
  explicit Slicer(View b) : m_rest(b) {}
  View take(size_t n) {
    View out = m_rest.first(n);
    m_rest = m_rest.subspan(n);
    return out;
  }
  void put(ByteView b) {
    auto out = take(b.size());
    std::copy(b.begin(), b.end(), out.begin());
  }

 private:
  View m_rest;
};

}  // namespace

void simple_bit_pack(MutableByteView out, const Poly& f, unsigned bits) {
  require_size(out.size(), packed_size(bits), "a packed polynomial");
  const uint32_t mask = (1u << bits) - 1;
  uint64_t held_bits = 0;
  unsigned held = 0;
  size_t o = 0;
  for (uint32_t c : f) {
    held_bits |= uint64_t{c & mask} << held;
    held += bits;
    for (; held >= 8; held -= 8, held_bits >>= 8) out[o++] = static_cast<uint8_t>(held_bits);
  }
}

void simple_bit_unpack(Poly& f, ByteView in, unsigned bits) {
  require_size(in.size(), packed_size(bits), "a packed polynomial");
  const uint32_t mask = (1u << bits) - 1;
  uint64_t held_bits = 0;
  unsigned held = 0;
  size_t o = 0;
  for (auto& c : f) {
    for (; held < bits; held += 8) held_bits |= uint64_t{in[o++]} << held;
    c = static_cast<uint32_t>(held_bits) & mask;
    held_bits >>= bits;
    held -= bits;
  }
}

void bit_pack(MutableByteView out, const Poly& f, uint32_t upper, unsigned bits) {
  Wiped<Poly> shifted;
  for (size_t i = 0; i < kN; ++i) shifted.value[i] = subtract_q_if_needed(upper + kQ - f[i]);
  simple_bit_pack(out, shifted.value, bits);
}

void bit_unpack(Poly& f, ByteView in, uint32_t upper, unsigned bits) {
  simple_bit_unpack(f, in, bits);
  // upper - v with v < 2^bits <= q: upper + q - v is below 2q.
  for (auto& c : f) c = subtract_q_if_needed(upper + kQ - c);
}

void encode_public_key(MutableByteView pk, ByteView rho, const VecK& t1) {
  require_size(pk.size(), kPublicKeySize, "public key");
  Slicer<MutableByteView> out(pk);
  out.put(rho);
  for (auto& p : t1) simple_bit_pack(out.take(packed_size(kT1Bits)), p, kT1Bits);
}

void decode_public_key(ByteView pk, ByteView& rho, VecK& t1) {
  require_size(pk.size(), kPublicKeySize, "public key");
  Slicer<ByteView> in(pk);
  rho = in.take(kSeedBytes);
  for (auto& p : t1) simple_bit_unpack(p, in.take(packed_size(kT1Bits)), kT1Bits);
}

void encode_secret_key(MutableByteView sk, ByteView rho, ByteView key, ByteView tr, const VecL& s1,
                       const VecK& s2, const VecK& t0) {
  require_size(sk.size(), kSecretKeySize, "secret key");
  Slicer<MutableByteView> out(sk);
  out.put(rho);
  out.put(key);
  out.put(tr);
  for (auto& p : s1) bit_pack(out.take(packed_size(kEtaBits)), p, kEta, kEtaBits);
  for (auto& p : s2) bit_pack(out.take(packed_size(kEtaBits)), p, kEta, kEtaBits);
  for (auto& p : t0) bit_pack(out.take(packed_size(kT0Bits)), p, 1u << (kD - 1), kT0Bits);
}

SecretKeySeeds decode_secret_key(ByteView sk, VecL& s1, VecK& s2, VecK& t0) {
  require_size(sk.size(), kSecretKeySize, "secret key");
  Slicer<ByteView> in(sk);
  SecretKeySeeds seeds;
  seeds.rho = in.take(kSeedBytes);
  seeds.key = in.take(kSeedBytes);
  seeds.tr = in.take(kTrSize);
  for (auto& p : s1) bit_unpack(p, in.take(packed_size(kEtaBits)), kEta, kEtaBits);
  for (auto& p : s2) bit_unpack(p, in.take(packed_size(kEtaBits)), kEta, kEtaBits);
  for (auto& p : t0) bit_unpack(p, in.take(packed_size(kT0Bits)), 1u << (kD - 1), kT0Bits);
  return seeds;
}

void hint_bit_pack(MutableByteView out, const VecK& h) {
  require_size(out.size(), kOmega + kK, "hint");
  std::fill(out.begin(), out.end(), 0);
  // The hint is computed from secrets but published whole: its positions are public once the
  // signature is, and a rejected one (more than omega ones) is never packed.
  size_t index = 0;
  for (size_t i = 0; i < kK; ++i) {
    for (size_t j = 0; j < kN; ++j) {
      if (h[i][j] != 0 && index < kOmega) out[index++] = static_cast<uint8_t>(j);
    }
    out[kOmega + i] = static_cast<uint8_t>(index);
  }
}

bool hint_bit_unpack(ByteView in, VecK& h) {
  require_size(in.size(), kOmega + kK, "hint");
  for (auto& p : h) p.fill(0);
  size_t index = 0;
  for (size_t i = 0; i < kK; ++i) {
    size_t end = in[kOmega + i];
    // Algorithm 21 line 4: the running counts never decrease and never pass omega.
    if (end < index || end > kOmega) return false;
    size_t first = index;
    for (; index < end; ++index) {
      // Line 8: positions within one polynomial strictly increase, so each hint has one
      // encoding (strong unforgeability).
      if (index > first && in[index - 1] >= in[index]) return false;
      h[i][in[index]] = 1;
    }
  }
  // Lines 13-15: the unused position bytes must be zero.
  for (size_t i = index; i < kOmega; ++i)
    if (in[i] != 0) return false;
  return true;
}

void encode_signature(MutableByteView sigma, ByteView c_tilde, const VecL& z, const VecK& h) {
  require_size(sigma.size(), kSignatureSize, "signature");
  require_size(c_tilde.size(), kCommitmentHashSize, "c~");
  Slicer<MutableByteView> out(sigma);
  out.put(c_tilde);
  for (auto& p : z) bit_pack(out.take(packed_size(kZBits)), p, kGamma1, kZBits);
  hint_bit_pack(out.take(kOmega + kK), h);
}

bool decode_signature(ByteView sigma, ByteView& c_tilde, VecL& z, VecK& h) {
  require_size(sigma.size(), kSignatureSize, "signature");
  Slicer<ByteView> in(sigma);
  c_tilde = in.take(kCommitmentHashSize);
  for (auto& p : z) bit_unpack(p, in.take(packed_size(kZBits)), kGamma1, kZBits);
  return hint_bit_unpack(in.take(kOmega + kK), h);
}

void w1_encode(MutableByteView out, const VecK& w1) {
  require_size(out.size(), kW1EncodedSize, "w1");
  for (size_t i = 0; i < kK; ++i)
    simple_bit_pack(out.subspan(i * packed_size(kW1Bits), packed_size(kW1Bits)), w1[i], kW1Bits);
}

}  // namespace postern::mldsa44
