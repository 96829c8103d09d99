// ML-DSA-44 against NIST's ACVP known answers (common/mldsa44_acvp.rsp), plus what the vectors do
// not pin: the rounding functions over their whole domain, the hint encoding's rejections, round
// trips with contexts, tampering anywhere, hostile lengths and a context over 255 bytes.
#include "common/mldsa44.h"

#include <gtest/gtest.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/mldsa44_encode.h"
#include "common/mldsa44_poly.h"
#include "common/mldsa44_sample.h"

namespace postern::mldsa44 {
namespace {

using Record = std::map<std::string, std::string>;

// Blank-line separated records of `key = value` lines; `#` lines are comments.
std::vector<Record> acvp_records() {
  const char* root = std::getenv("POSTERN_SOURCE_ROOT");
  std::string path = std::string(root ? root : ".") + "/common/mldsa44_acvp.rsp";
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::vector<Record> records(1);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() && !records.back().empty()) records.emplace_back();
    auto eq = line.find(" = ");
    if (!line.empty() && line[0] != '#' && eq != std::string::npos)
      records.back()[line.substr(0, eq)] = line.substr(eq + 3);
  }
  if (records.back().empty()) records.pop_back();
  return records;
}

std::vector<Record> of_kind(const std::string& kind) {
  std::vector<Record> out;
  for (auto& r : acvp_records())
    if (r["kind"] == kind) out.push_back(r);
  return out;
}

// The group key a case names with `key = NAME`, as hex bytes.
Bytes group_key(const std::string& kind, const std::string& field, const std::string& name) {
  for (auto& r : of_kind(kind))
    if (r["name"] == name) return from_hex(r[field]);
  ADD_FAILURE() << "no " << kind << " named " << name;
  return {};
}

std::string upper_hex(ByteView b) {
  std::string h = hex(b);
  for (auto& c : h) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return h;
}

struct KeyPair {
  Bytes pk = Bytes(kPublicKeySize), sk = Bytes(kSecretKeySize), seed = Bytes(kSeedSize);
  KeyPair() { keygen(pk, sk, seed); }
};

Bytes sign_or_fail(const KeyPair& keys, ByteView message, ByteView context) {
  Bytes sig(kSignatureSize);
  EXPECT_TRUE(sign(sig, keys.sk, message, context));
  return sig;
}

TEST(MlDsa44Acvp, KeyGen) {
  auto records = of_kind("keyGen");
  ASSERT_GE(records.size(), 2u);
  for (auto& r : records) {
    Bytes pk(kPublicKeySize), sk(kSecretKeySize);
    keygen_from_seed(pk, sk, from_hex(r["seed"]));
    EXPECT_EQ(upper_hex(pk), r["pk"]) << r["source"];
    EXPECT_EQ(upper_hex(sk), r["sk"]) << r["source"];
  }
}

TEST(MlDsa44Acvp, SignInternalDeterministic) {
  auto records = of_kind("sigGen");
  ASSERT_GE(records.size(), 2u);
  for (auto& r : records) {
    Bytes sig(kSignatureSize);
    sign_internal(sig, group_key("signingKey", "sk", r["key"]), from_hex(r["message"]),
                  from_hex(r["rnd"]));
    EXPECT_EQ(upper_hex(sig), r["signature"]) << r["source"];
  }
}

// NIST's hedged signatures (rnd unpublished in this revision of the data) verify, and stop
// verifying when the message changes.
TEST(MlDsa44Acvp, HedgedSignaturesVerify) {
  auto records = of_kind("sigGenHedged");
  ASSERT_FALSE(records.empty());
  for (auto& r : records) {
    Bytes pk = group_key("verificationKey", "pk", r["key"]);
    Bytes message = from_hex(r["message"]), sig = from_hex(r["signature"]);
    EXPECT_TRUE(verify_internal(pk, message, sig)) << r["source"];
    message[0] ^= 0x80;
    EXPECT_FALSE(verify_internal(pk, message, sig)) << r["source"];
  }
}

TEST(MlDsa44Acvp, VerifyInternal) {
  auto records = of_kind("sigVer");
  bool saw_true = false, saw_false = false;
  for (auto& r : records) {
    bool expected = r["expected"] == "true";
    EXPECT_EQ(verify_internal(group_key("verificationKey", "pk", r["key"]), from_hex(r["message"]),
                              from_hex(r["signature"])),
              expected)
        << r["source"];
    (expected ? saw_true : saw_false) = true;
  }
  EXPECT_TRUE(saw_true && saw_false) << "the data needs both verdicts";
}

// Algorithm 36 written with `%` and `/`, for comparison with the branch-free version.
void decompose_reference(uint32_t r, uint32_t& r1, int32_t& r0) {
  int32_t alpha = 2 * kGamma2;
  int32_t low = static_cast<int32_t>(r % alpha);
  if (low > alpha / 2) low -= alpha;
  if (static_cast<int32_t>(r) - low == static_cast<int32_t>(kQ) - 1) {
    r1 = 0;
    r0 = low - 1;
  } else {
    r1 = (r - low) / alpha;
    r0 = low;
  }
}

TEST(MlDsa44Poly, RoundingMatchesDefinitionsEverywhere) {
  for (uint32_t r = 0; r < kQ; ++r) {
    uint32_t r1, want_r1, p1, p0;
    int32_t r0, want_r0;
    decompose(r, r1, r0);
    decompose_reference(r, want_r1, want_r0);
    ASSERT_EQ(r1, want_r1) << r;
    ASSERT_EQ(r0, want_r0) << r;
    // UseHint (Algorithm 40) moves r1 by one, mod 44, towards r0's sign.
    uint32_t up = want_r0 > 0 ? (want_r1 + 1) % 44 : (want_r1 + 43) % 44;
    ASSERT_EQ(use_hint(1, r), up) << r;
    ASSERT_EQ(use_hint(0, r), want_r1) << r;
    // Power2Round (Algorithm 35): r = r1 2^13 + r0, r0 in (-2^12, 2^12].
    power2round(r, p1, p0);
    int32_t signed_p0 = p0 > kQ / 2 ? static_cast<int32_t>(p0) - static_cast<int32_t>(kQ)
                                    : static_cast<int32_t>(p0);
    ASSERT_TRUE(signed_p0 > -(1 << 12) && signed_p0 <= (1 << 12)) << r;
    ASSERT_EQ(static_cast<int64_t>(p1) * (1 << 13) + signed_p0, static_cast<int64_t>(r)) << r;
  }
}

TEST(MlDsa44Poly, MultiplicationAndNtt) {
  for (uint64_t a = 0; a < kQ; a += 7919)
    for (uint64_t b : {uint64_t{0}, uint64_t{1}, uint64_t{kQ - 1}, a, uint64_t{4193792}})
      ASSERT_EQ(mul_mod_q(static_cast<uint32_t>(a), static_cast<uint32_t>(b)), a * b % kQ);
  EXPECT_EQ(centered_abs(kQ - 5), 5u);
  EXPECT_EQ(centered_abs((kQ - 1) / 2), (kQ - 1) / 2);
  EXPECT_EQ(centered_abs((kQ + 1) / 2), (kQ - 1) / 2);

  // NTT^-1(NTT(f) ∘ NTT(g)) is f g in Z_q[X]/(X^256 + 1): check against the schoolbook product.
  Poly f, g, product{};
  for (size_t i = 0; i < kN; ++i) {
    f[i] = static_cast<uint32_t>((i * 7919 + 13) % kQ);
    g[i] = static_cast<uint32_t>((i * i * 104729 + 5) % kQ);
  }
  for (size_t i = 0; i < kN; ++i)
    for (size_t j = 0; j < kN; ++j) {
      uint32_t t = mul_mod_q(f[i], g[j]);
      size_t k = (i + j) % kN;
      product[k] = i + j < kN ? (product[k] + t) % kQ : (product[k] + kQ - t) % kQ;
    }
  Poly f_hat = f, g_hat = g, h;
  ntt(f_hat);
  ntt(g_hat);
  multiply_ntts(h, f_hat, g_hat);
  inverse_ntt(h);
  EXPECT_EQ(h, product);
  inverse_ntt(f_hat);
  EXPECT_EQ(f_hat, f);
}

// Algorithm 29 as written, with its branches and indexes, against the masked version.
Poly sample_in_ball_reference(ByteView c_tilde) {
  Bytes stream(1024);
  shake256({c_tilde}, stream);
  Poly c{};
  size_t pos = 8;
  for (size_t i = kN - kTau; i < kN; ++i) {
    size_t j;
    do j = stream[pos++];
    while (j > i);
    size_t bit = i + kTau - kN;
    c[i] = c[j];
    c[j] = (stream[bit / 8] >> (bit % 8)) & 1 ? kQ - 1 : 1;
  }
  return c;
}

TEST(MlDsa44Sample, SampleInBallMatchesAlgorithm29) {
  for (int trial = 0; trial < 300; ++trial) {
    uint8_t c_tilde[kCommitmentHashSize];
    ASSERT_EQ(RAND_bytes(c_tilde, sizeof c_tilde), 1);
    Poly c;
    sample_in_ball(c, c_tilde);
    ASSERT_EQ(c, sample_in_ball_reference(c_tilde));
    size_t nonzero = 0;
    for (uint32_t x : c) {
      ASSERT_TRUE(x == 0 || x == 1 || x == kQ - 1) << x;
      nonzero += x != 0;
    }
    ASSERT_EQ(nonzero, kTau);
  }
}

// Algorithm 21's checks: each is what makes a hint's encoding unique.
TEST(MlDsa44Encode, HintUnpackRejectsMalformedEncodings) {
  VecK h{};
  h[0][3] = h[0][200] = h[2][0] = h[3][255] = 1;
  uint8_t packed[kOmega + kK];
  hint_bit_pack(packed, h);
  VecK back;
  ASSERT_TRUE(hint_bit_unpack(packed, back));
  EXPECT_EQ(back, h);

  auto rejects = [&](auto&& corrupt, const char* what) {
    uint8_t bad[kOmega + kK];
    std::copy(std::begin(packed), std::end(packed), bad);
    corrupt(bad);
    VecK out;
    EXPECT_FALSE(hint_bit_unpack(bad, out)) << what;
  };
  rejects([](uint8_t* b) { b[kOmega + 1] = 1; }, "a count below the one before");
  rejects([](uint8_t* b) { b[kOmega + 3] = kOmega + 1; }, "a count past omega");
  rejects([](uint8_t* b) { std::swap(b[0], b[1]); }, "positions out of order");
  rejects([](uint8_t* b) { b[1] = b[0]; }, "a repeated position");
  rejects([](uint8_t* b) { b[kOmega - 1] = 7; }, "a nonzero unused position byte");
}

TEST(MlDsa44, RoundTripWithContexts) {
  KeyPair keys;
  Bytes long_context(kMaxContextSize, 0x5a);
  for (const std::string& message : {std::string(), std::string("x"), std::string(5000, 'm')}) {
    for (ByteView context : {ByteView(), as_bytes("ssh"), ByteView(long_context)}) {
      Bytes sig = sign_or_fail(keys, as_bytes(message), context);
      EXPECT_TRUE(verify(keys.pk, as_bytes(message), context, sig));
    }
  }
}

TEST(MlDsa44, KeygenFromItsSeedIsReproducible) {
  KeyPair keys;
  Bytes pk(kPublicKeySize), sk(kSecretKeySize);
  keygen_from_seed(pk, sk, keys.seed);
  EXPECT_EQ(pk, keys.pk);
  EXPECT_EQ(sk, keys.sk);
  KeyPair other;
  EXPECT_NE(other.seed, keys.seed);
  EXPECT_NE(other.pk, keys.pk);
}

// Hedged signing: the same message signed twice gives two different signatures, both valid.
TEST(MlDsa44, SigningIsHedged) {
  KeyPair keys;
  Bytes a = sign_or_fail(keys, as_bytes("same"), {}), b = sign_or_fail(keys, as_bytes("same"), {});
  EXPECT_NE(a, b);
  EXPECT_TRUE(verify(keys.pk, as_bytes("same"), {}, a));
  EXPECT_TRUE(verify(keys.pk, as_bytes("same"), {}, b));
}

TEST(MlDsa44, FlippedBitAnywhereFails) {
  KeyPair keys;
  Bytes message = to_bytes("message to sign"), context = to_bytes("context");
  Bytes sig = sign_or_fail(keys, message, context);
  ASSERT_TRUE(verify(keys.pk, message, context, sig));
  // Every byte of c̃ and of the hint area, and a spread through z.
  std::vector<size_t> positions;
  for (size_t i = 0; i < kSignatureSize; i += (i < 40 || i >= kSignatureSize - 90) ? 1 : 37)
    positions.push_back(i);
  for (size_t pos : positions) {
    for (uint8_t bit : {0x01, 0x80}) {
      Bytes bad = sig;
      bad[pos] ^= bit;
      EXPECT_FALSE(verify(keys.pk, message, context, bad)) << "signature byte " << pos;
    }
  }
  for (size_t pos = 0; pos < message.size(); ++pos) {
    Bytes bad = message;
    bad[pos] ^= 0x04;
    EXPECT_FALSE(verify(keys.pk, bad, context, sig)) << "message byte " << pos;
  }
  for (size_t pos = 0; pos < context.size(); ++pos) {
    Bytes bad = context;
    bad[pos] ^= 0x10;
    EXPECT_FALSE(verify(keys.pk, message, bad, sig)) << "context byte " << pos;
  }
  EXPECT_FALSE(verify(keys.pk, message, {}, sig)) << "context dropped";
  for (size_t pos = 0; pos < kPublicKeySize; pos += 41) {
    Bytes bad = keys.pk;
    bad[pos] ^= 0x02;
    EXPECT_FALSE(verify(bad, message, context, sig)) << "public key byte " << pos;
  }
}

// The bound of Algorithm 8 line 13 (and Algorithm 7 line 23), ||z|| < gamma1 - beta, checked on
// both sides of the boundary and for both signs: the check sees one coefficient among 256.
TEST(MlDsa44Poly, InfinityNormBoundary) {
  const uint32_t bound = kGamma1 - kBeta;
  for (uint32_t value : {bound - 1, kQ - (bound - 1), 0u})
    for (size_t at : {size_t{0}, size_t{137}, kN - 1}) {
      Poly f{};
      f[at] = value;
      EXPECT_TRUE(infinity_norm_below(f, bound)) << value << " at " << at;
    }
  for (uint32_t value : {bound, kQ - bound, kGamma1, kQ - kGamma1, (kQ - 1) / 2})
    for (size_t at : {size_t{0}, size_t{137}, kN - 1}) {
      Poly f{};
      f[at] = value;
      EXPECT_FALSE(infinity_norm_below(f, bound)) << value << " at " << at;
    }
}

// A signature whose z holds a coefficient at or past the bound, however it came about, is
// refused; the encoding carries such values (BitUnpack gives z in [-gamma1 + 1, gamma1]).
TEST(MlDsa44, ZAtTheNormBoundIsRejected) {
  KeyPair keys;
  Bytes message = to_bytes("m");
  Bytes sig = sign_or_fail(keys, message, {});
  for (uint32_t value : {kGamma1 - kBeta, kGamma1, kQ - (kGamma1 - kBeta)}) {
    ByteView c_tilde;
    VecL z;
    VecK h;
    ASSERT_TRUE(decode_signature(sig, c_tilde, z, h));
    Bytes c_copy(c_tilde.begin(), c_tilde.end()), bad(kSignatureSize);
    z[1][17] = value;
    encode_signature(bad, c_copy, z, h);
    VecL z_back;
    ASSERT_TRUE(decode_signature(bad, c_tilde, z_back, h));
    EXPECT_EQ(z_back[1][17], value) << "the encoding carries it";
    EXPECT_FALSE(verify(keys.pk, message, {}, bad)) << value;
  }
}

TEST(MlDsa44, HostileLengthsAreRefused) {
  KeyPair keys;
  Bytes sig = sign_or_fail(keys, as_bytes("m"), {});
  for (size_t n : {size_t{0}, kSignatureSize - 1, kSignatureSize + 1}) {
    Bytes wrong(n, 0);
    std::copy_n(sig.begin(), std::min(n, sig.size()), wrong.begin());
    EXPECT_FALSE(verify(keys.pk, as_bytes("m"), {}, wrong)) << n;
  }
  for (size_t n : {size_t{0}, kPublicKeySize - 1, kPublicKeySize + 1}) {
    Bytes wrong(n, 0);
    std::copy_n(keys.pk.begin(), std::min(n, keys.pk.size()), wrong.begin());
    EXPECT_FALSE(verify(wrong, as_bytes("m"), {}, sig)) << n;
  }
  // Caller bugs throw.
  Bytes short_sk(kSecretKeySize - 1), short_sig(kSignatureSize - 1), short_seed(kSeedSize - 1);
  EXPECT_THROW((void)sign(sig, short_sk, as_bytes("m"), {}), std::invalid_argument);
  EXPECT_THROW((void)sign(short_sig, keys.sk, as_bytes("m"), {}), std::invalid_argument);
  Bytes pk(kPublicKeySize), sk(kSecretKeySize);
  EXPECT_THROW(keygen_from_seed(pk, sk, short_seed), std::invalid_argument);
  EXPECT_THROW(sign_internal(sig, keys.sk, as_bytes("m"), short_seed), std::invalid_argument);
}

TEST(MlDsa44, ContextOver255BytesIsRefused) {
  KeyPair keys;
  Bytes context(kMaxContextSize + 1, 'c');
  Bytes sig(kSignatureSize, 0xaa);
  EXPECT_FALSE(sign(sig, keys.sk, as_bytes("m"), context));
  EXPECT_EQ(sig, Bytes(kSignatureSize, 0xaa)) << "nothing written";
  Bytes good = sign_or_fail(keys, as_bytes("m"), ByteView(context).first(kMaxContextSize));
  EXPECT_FALSE(verify(keys.pk, as_bytes("m"), context, good));
  EXPECT_TRUE(verify(keys.pk, as_bytes("m"), ByteView(context).first(kMaxContextSize), good));
}

// Pure ML-DSA is Sign_internal on M' = 0 || |ctx| || ctx || M (Algorithm 2 line 10): a
// signature made by sign() verifies through verify_internal on that M', and not on M alone.
TEST(MlDsa44, ExternalFormatsTheMessage) {
  KeyPair keys;
  Bytes sig = sign_or_fail(keys, as_bytes("abc"), as_bytes("xy"));
  Bytes formatted = {0, 2, 'x', 'y', 'a', 'b', 'c'};
  EXPECT_TRUE(verify_internal(keys.pk, formatted, sig));
  EXPECT_FALSE(verify_internal(keys.pk, as_bytes("abc"), sig));
}

}  // namespace
}  // namespace postern::mldsa44
