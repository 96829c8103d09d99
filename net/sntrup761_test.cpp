// sntrup761 against the NTRU Prime round 3 known-answer tests (net/sntrup761_kat.rsp), plus
// round trips and implicit rejection.
#include "net/sntrup761.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "common/bytes.h"
#include "common/ossl.h"
#include "net/sntrup761_kat.h"

namespace postern::net::sntrup761 {
namespace {

TEST(Sntrup761, KatFileIsComplete) {
  auto kats = load_kats();
  ASSERT_EQ(kats.size(), 2u);
  for (const auto& k : kats) {
    EXPECT_EQ(k.seed.size(), 48u);
    EXPECT_EQ(k.pk.size(), kPublicKeySize);
    EXPECT_EQ(k.sk.size(), kSecretKeySize);
    EXPECT_EQ(k.ct.size(), kCiphertextSize);
    EXPECT_EQ(k.ss.size(), kSharedSecretSize);
  }
}

// Decapsulation is deterministic: it exercises decoding, R/q and R/3 products, rounding,
// re-encryption, both encodings and the hashes.
TEST(Sntrup761, KatDecapsulate) {
  for (const auto& k : load_kats()) {
    uint8_t ss[kSharedSecretSize];
    decapsulate(ss, k.ct, k.sk);
    EXPECT_EQ(hex(ss), hex(k.ss));
  }
}

// Key generation and encapsulation with NIST's DRBG reproduce the published pk, sk, ct and ss:
// this pins the samplers and the order in which they draw randomness.
TEST(Sntrup761, KatKeypairAndEncapsulate) {
  for (const auto& k : load_kats()) {
    NistDrbg drbg(k.seed);
    Bytes pk(kPublicKeySize), sk(kSecretKeySize), ct(kCiphertextSize), ss(kSharedSecretSize);
    keypair(pk, sk, drbg);
    EXPECT_EQ(hex(pk), hex(k.pk));
    EXPECT_EQ(hex(sk), hex(k.sk));
    encapsulate(ct, ss, pk, drbg);
    EXPECT_EQ(hex(ct), hex(k.ct));
    EXPECT_EQ(hex(ss), hex(k.ss));
  }
}

// The DRBG itself, against the first seed of every NIST PQC KAT file: the generator seeded with
// entropy 00 01 .. 2f yields 061550234D... as its first 48 bytes.
TEST(Sntrup761, NistDrbgFirstSeed) {
  Bytes entropy(48);
  for (int i = 0; i < 48; ++i) entropy[i] = static_cast<uint8_t>(i);
  NistDrbg drbg(entropy);
  Bytes seed(48);
  drbg.fill(seed);
  EXPECT_EQ(hex(seed), hex(load_kats()[0].seed));
  drbg.fill(seed);
  EXPECT_EQ(hex(seed), hex(load_kats()[1].seed));
}

TEST(Sntrup761, RoundTrip) {
  for (int trial = 0; trial < 8; ++trial) {
    Bytes pk(kPublicKeySize), sk(kSecretKeySize), ct(kCiphertextSize);
    uint8_t ss_enc[kSharedSecretSize], ss_dec[kSharedSecretSize];
    keypair(pk, sk);
    for (int i = 0; i < 4; ++i) {
      encapsulate(ct, ss_enc, pk);
      decapsulate(ss_dec, ct, sk);
      EXPECT_EQ(hex(ss_enc), hex(ss_dec));
    }
  }
}

// Implicit rejection: a modified ciphertext decapsulates to Hash_0(Hash_3(rho) || ciphertext),
// computed here independently from the secret key's rho.
Bytes rejection_key(const Bytes& sk, const Bytes& ct) {
  auto sha512 = [](std::initializer_list<ByteView> parts) {
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    EVP_DigestInit_ex(ctx.get(), EVP_sha512(), nullptr);
    for (ByteView p : parts) EVP_DigestUpdate(ctx.get(), p.data(), p.size());
    Bytes out(64);
    EVP_DigestFinal_ex(ctx.get(), out.data(), nullptr);
    out.resize(32);
    return out;
  };
  const uint8_t three = 3, zero = 0;
  ByteView rho(sk.data() + 382 + kPublicKeySize, 191);
  Bytes inner = sha512({ByteView(&three, 1), rho});
  return sha512({ByteView(&zero, 1), inner, ct});
}

TEST(Sntrup761, TamperedCiphertextGivesRejectionKey) {
  Bytes pk(kPublicKeySize), sk(kSecretKeySize), ct(kCiphertextSize);
  uint8_t ss_enc[kSharedSecretSize], ss_dec[kSharedSecretSize];
  keypair(pk, sk);
  encapsulate(ct, ss_enc, pk);
  for (size_t pos : {size_t{0}, size_t{500}, size_t{1006}, size_t{1007}, kCiphertextSize - 1}) {
    Bytes bad = ct;
    bad[pos] ^= 0x01;
    decapsulate(ss_dec, bad, sk);
    EXPECT_NE(hex(ss_dec), hex(ss_enc)) << pos;
    EXPECT_EQ(hex(ss_dec), hex(rejection_key(sk, bad))) << pos;
  }
  // The KAT ciphertext under a different key is rejected too.
  auto kats = load_kats();
  decapsulate(ss_dec, kats[0].ct, sk);
  EXPECT_EQ(hex(ss_dec), hex(rejection_key(sk, kats[0].ct)));
}

// Every byte string of the right length is a usable public key or ciphertext: decoding reduces
// each value into range, and a garbage ciphertext gets the implicit-rejection key.
TEST(Sntrup761, ArbitraryInputsDoNotCrash) {
  Bytes sk = load_kats()[0].sk;
  Bytes ct(kCiphertextSize);
  uint8_t ss[kSharedSecretSize];
  for (int trial = 0; trial < 20; ++trial) {
    Bytes pk(kPublicKeySize), junk(kCiphertextSize);
    if (trial == 0) {
      std::fill(pk.begin(), pk.end(), 0xff);
      std::fill(junk.begin(), junk.end(), 0xff);
    } else {
      system_random().fill(pk);
      system_random().fill(junk);
    }
    encapsulate(ct, ss, pk);
    decapsulate(ss, junk, sk);
    EXPECT_EQ(hex(ss), hex(rejection_key(sk, junk)));
  }
}

TEST(Sntrup761, WrongSizesThrow) {
  Bytes pk(kPublicKeySize), sk(kSecretKeySize), ct(kCiphertextSize), ss(kSharedSecretSize);
  Bytes short_pk(kPublicKeySize - 1), long_ct(kCiphertextSize + 1);
  EXPECT_THROW(encapsulate(ct, ss, short_pk), std::invalid_argument);
  EXPECT_THROW(decapsulate(ss, long_ct, sk), std::invalid_argument);
  EXPECT_THROW(keypair(short_pk, sk), std::invalid_argument);
}

}  // namespace
}  // namespace postern::net::sntrup761
