#include "net/kex_curve25519.h"

#include <gtest/gtest.h>

#include "common/wire.h"

namespace postern::net {
namespace {

// K as the method encodes it: mpint of the 32 bytes read big-endian (RFC 8731 §3.1).
SecretBytes expected_k(std::string_view raw_hex) {
  SecretWriter w;
  w.mpint_unsigned(from_hex(raw_hex));
  return w.take();
}

// RFC 7748 §5.2, single-iteration vectors: the scalar used as our private key, the
// u-coordinate as the peer's public value. The second u has its top bit set, which X25519
// must ignore (RFC 7748 §5).
TEST(KexCurve25519, Rfc7748ScalarMultVectors) {
  struct Vector {
    const char* scalar;
    const char* u;
    const char* out;
  };
  const Vector vectors[] = {
      {"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
       "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
       "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
      {"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
       "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
       "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
  };
  for (const auto& v : vectors) {
    auto kex = make_curve25519_kex_for_test("curve25519-sha256", from_hex(v.scalar));
    ASSERT_TRUE(kex);
    auto k = kex->client_finish(from_hex(v.u));
    ASSERT_TRUE(k) << k.error().message;
    EXPECT_EQ(hex(*k), hex(expected_k(v.out)));
  }
}

// RFC 7748 §5.2 iterated vectors: k and u start at 9; each step computes X25519(k, u), then
// u = old k and k = the result. The test runs 1 and 1,000 iterations (the 1,000,000 one is
// too slow for a unit test).
TEST(KexCurve25519, Rfc7748IteratedVectors) {
  Bytes k = from_hex("0900000000000000000000000000000000000000000000000000000000000000");
  Bytes u = k;
  for (int i = 1; i <= 1000; ++i) {
    auto kex = make_curve25519_kex_for_test("curve25519-sha256", k);
    ASSERT_TRUE(kex);
    auto enc = kex->client_finish(u);
    ASSERT_TRUE(enc) << enc.error().message;
    // Undo the mpint encoding to get the 32 raw bytes back.
    Reader r(*enc);
    ByteView mag = r.mpint();
    Bytes next(32 - std::min<size_t>(32, mag.size()), 0);
    if (mag.size() == 33) mag = mag.subspan(1);
    next.insert(next.end(), mag.begin(), mag.end());
    ASSERT_EQ(next.size(), 32u);
    u = k;
    k = next;
    if (i == 1) {
      EXPECT_EQ(hex(k), "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
    }
  }
  EXPECT_EQ(hex(k), "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

// RFC 7748 §6.1: Alice's and Bob's keys, through both roles of the method.
TEST(KexCurve25519, Rfc7748DiffieHellmanVector) {
  const Bytes alice_priv =
      from_hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const Bytes bob_priv =
      from_hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  const char* alice_pub = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
  const char* bob_pub = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
  const char* shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

  auto client = make_curve25519_kex_for_test("curve25519-sha256", alice_priv);
  auto server = make_curve25519_kex_for_test("curve25519-sha256@libssh.org", bob_priv);
  ASSERT_TRUE(client && server);
  Bytes q_c = client->client_public();
  EXPECT_EQ(hex(q_c), alice_pub);
  auto reply = server->server_respond(q_c);
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ(hex(reply->server_public), bob_pub);
  EXPECT_EQ(hex(reply->shared_secret), hex(expected_k(shared)));
  auto k = client->client_finish(reply->server_public);
  ASSERT_TRUE(k);
  EXPECT_EQ(hex(*k), hex(reply->shared_secret));
}

TEST(KexCurve25519, RandomKeysAgree) {
  for (auto name : {"curve25519-sha256", "curve25519-sha256@libssh.org"}) {
    auto client = make_curve25519_kex(name);
    auto server = make_curve25519_kex(name);
    ASSERT_TRUE(client && server);
    EXPECT_EQ(client->name(), name);
    EXPECT_EQ(client->hash(), EVP_sha256());
    EXPECT_FALSE(client->public_is_mpint());
    Bytes q_c = client->client_public();
    ASSERT_EQ(q_c.size(), 32u);
    auto reply = server->server_respond(q_c);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->server_public.size(), 32u);
    auto k = client->client_finish(reply->server_public);
    ASSERT_TRUE(k);
    EXPECT_EQ(hex(*k), hex(reply->shared_secret));
    // u32 length + at most 33 bytes (a leading zero when the top bit is set).
    EXPECT_LE(k->size(), 4u + 33u);
  }
}

TEST(KexCurve25519, RejectsBadPeerValues) {
  auto server = make_curve25519_kex("curve25519-sha256");
  ASSERT_TRUE(server);
  EXPECT_FALSE(server->server_respond(Bytes{}));
  EXPECT_FALSE(server->server_respond(Bytes(31, 9)));
  EXPECT_FALSE(server->server_respond(Bytes(33, 9)));
  EXPECT_FALSE(server->server_respond(Bytes(1024 * 1024, 9)));
  // Low-order points give an all-zero output, which RFC 8731 §3 says to refuse: 0 and 1, and
  // p (= 0 mod p) written out unreduced.
  EXPECT_FALSE(server->server_respond(Bytes(32, 0)));
  Bytes one(32, 0);
  one[0] = 1;
  EXPECT_FALSE(server->server_respond(one));
  Bytes p = from_hex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
  EXPECT_FALSE(server->server_respond(p));

  auto client = make_curve25519_kex("curve25519-sha256");
  ASSERT_TRUE(client);
  EXPECT_FALSE(client->client_finish(Bytes(32, 9)));  // before client_public
  client->client_public();
  EXPECT_FALSE(client->client_finish(Bytes(32, 0)));
  EXPECT_FALSE(client->client_finish(Bytes(5, 1)));
}

TEST(KexCurve25519, UnknownNames) {
  EXPECT_FALSE(make_curve25519_kex("curve25519-sha512"));
  EXPECT_FALSE(make_curve25519_kex_for_test("curve25519-sha256", Bytes(31, 1)));
}

}  // namespace
}  // namespace postern::net
