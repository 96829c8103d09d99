// sntrup761x25519-sha512 end to end: both roles against each other, and both roles against a
// vector assembled from published values (sntrup761 KAT entry 0 and the RFC 7748 §6.1 X25519
// keys), so the wire layout and K's construction are pinned, not just self-consistent.
#include "net/kex_sntrup761x25519.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "common/bytes.h"
#include "common/ossl.h"
#include "net/sntrup761_kat.h"

namespace postern::net {
namespace {

// RFC 7748 §6.1.
const char kAlicePrivate[] = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
const char kAlicePublic[] = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
const char kBobPrivate[] = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
const char kBobPublic[] = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
const char kX25519Shared[] = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

Bytes concat(ByteView a, ByteView b) {
  Bytes out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

// string K: u32 64 || SHA-512(sntrup761 shared key || X25519 shared key).
std::string expected_k(ByteView post_quantum, ByteView classical) {
  Bytes input = concat(post_quantum, classical);
  Bytes digest(64);
  EVP_Digest(input.data(), input.size(), digest.data(), nullptr, EVP_sha512(), nullptr);
  return "00000040" + hex(digest);
}

TEST(KexSntrup761X25519, NamesAndHash) {
  auto kex = make_sntrup761x25519_kex();
  ASSERT_TRUE(kex);
  EXPECT_EQ(kex->name(), "sntrup761x25519-sha512@openssh.com");
  EXPECT_EQ(kex->hash(), EVP_sha512());
  EXPECT_FALSE(kex->public_is_mpint());
  auto rfc = make_sntrup761x25519_kex("sntrup761x25519-sha512");
  ASSERT_TRUE(rfc);
  EXPECT_EQ(rfc->name(), "sntrup761x25519-sha512");
  EXPECT_FALSE(make_sntrup761x25519_kex("curve25519-sha256"));
}

TEST(KexSntrup761X25519, ClientAndServerAgree) {
  for (int trial = 0; trial < 3; ++trial) {
    auto client = make_sntrup761x25519_kex();
    auto server = make_sntrup761x25519_kex();
    Bytes q_c = client->client_public();
    ASSERT_EQ(q_c.size(), 1190u);
    auto reply = server->server_respond(q_c);
    ASSERT_TRUE(reply) << reply.error().message;
    EXPECT_EQ(reply->server_public.size(), 1071u);
    ASSERT_EQ(reply->shared_secret.size(), 68u);
    EXPECT_EQ(hex(reply->shared_secret.view().first(4)), "00000040");
    auto k = client->client_finish(reply->server_public);
    ASSERT_TRUE(k) << k.error().message;
    EXPECT_EQ(hex(*k), hex(reply->shared_secret));
  }
}

TEST(KexSntrup761X25519, ServerMatchesPublishedValues) {
  auto kat = sntrup761::load_kats()[0];
  sntrup761::NistDrbg drbg(kat.seed);
  // The KAT's encapsulation randomness follows its key generation's in the DRBG stream.
  Bytes pk(sntrup761::kPublicKeySize), sk(sntrup761::kSecretKeySize);
  sntrup761::keypair(pk, sk, drbg);
  auto server = make_sntrup761x25519_kex_for_test(drbg, from_hex(kBobPrivate));
  ASSERT_TRUE(server);
  auto reply = server->server_respond(concat(kat.pk, from_hex(kAlicePublic)));
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ(hex(reply->server_public), hex(kat.ct) + kBobPublic);
  EXPECT_EQ(hex(reply->shared_secret), expected_k(kat.ss, from_hex(kX25519Shared)));
}

TEST(KexSntrup761X25519, ClientMatchesPublishedValues) {
  auto kat = sntrup761::load_kats()[0];
  sntrup761::NistDrbg drbg(kat.seed);
  auto client = make_sntrup761x25519_kex_for_test(drbg, from_hex(kAlicePrivate));
  ASSERT_TRUE(client);
  Bytes q_c = client->client_public();
  EXPECT_EQ(hex(q_c), hex(kat.pk) + kAlicePublic);
  auto k = client->client_finish(concat(kat.ct, from_hex(kBobPublic)));
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(hex(*k), expected_k(kat.ss, from_hex(kX25519Shared)));
}

TEST(KexSntrup761X25519, WrongLengthsAreErrors) {
  auto client = make_sntrup761x25519_kex();
  auto server = make_sntrup761x25519_kex();
  Bytes q_c = client->client_public();
  for (size_t n : {size_t{0}, size_t{32}, size_t{1158}, size_t{1189}, size_t{1191}}) {
    Bytes bad(q_c.begin(), q_c.begin() + std::min(n, q_c.size()));
    bad.resize(n, 0x42);
    EXPECT_FALSE(server->server_respond(bad)) << n;
  }
  auto reply = server->server_respond(q_c);
  ASSERT_TRUE(reply);
  Bytes short_reply(reply->server_public.begin(), reply->server_public.end() - 1);
  EXPECT_FALSE(client->client_finish(short_reply));
  EXPECT_FALSE(make_sntrup761x25519_kex()->client_finish(reply->server_public));
}

// An X25519 public value of low order (here u = 0) gives the all-zero secret: refused.
TEST(KexSntrup761X25519, LowOrderX25519PointRefused) {
  auto client = make_sntrup761x25519_kex();
  auto server = make_sntrup761x25519_kex();
  Bytes q_c = client->client_public();
  std::fill(q_c.end() - 32, q_c.end(), 0);
  EXPECT_FALSE(server->server_respond(q_c));
}

// A tampered ciphertext is not detected by the KEM (implicit rejection): the keys just differ,
// and the exchange hash signature check fails later.
TEST(KexSntrup761X25519, TamperedCiphertextGivesDifferentKey) {
  auto client = make_sntrup761x25519_kex();
  auto server = make_sntrup761x25519_kex();
  auto reply = server->server_respond(client->client_public());
  ASSERT_TRUE(reply);
  Bytes tampered = reply->server_public;
  tampered[100] ^= 0x80;
  auto k = client->client_finish(tampered);
  ASSERT_TRUE(k);
  EXPECT_NE(hex(*k), hex(reply->shared_secret));
}

}  // namespace
}  // namespace postern::net
