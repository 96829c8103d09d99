#include "net/kex_ecdh.h"

#include <gtest/gtest.h>

namespace postern::net {
namespace {

struct Case {
  const char* name;
  size_t field_bytes;
  const EVP_MD* md;
};

std::vector<Case> cases() {
  return {{"ecdh-sha2-nistp256", 32, EVP_sha256()},
          {"ecdh-sha2-nistp384", 48, EVP_sha384()},
          {"ecdh-sha2-nistp521", 66, EVP_sha512()}};
}

TEST(KexEcdh, BothSidesAgree) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    auto client = make_ecdh_kex(c.name);
    auto server = make_ecdh_kex(c.name);
    ASSERT_TRUE(client && server);
    EXPECT_EQ(client->name(), c.name);
    EXPECT_EQ(client->hash(), c.md);
    EXPECT_FALSE(client->public_is_mpint());
    Bytes q_c = client->client_public();
    ASSERT_EQ(q_c.size(), 1 + 2 * c.field_bytes);
    EXPECT_EQ(q_c[0], 0x04);
    auto reply = server->server_respond(q_c);
    ASSERT_TRUE(reply) << reply.error().message;
    ASSERT_EQ(reply->server_public.size(), 1 + 2 * c.field_bytes);
    auto k = client->client_finish(reply->server_public);
    ASSERT_TRUE(k) << k.error().message;
    EXPECT_EQ(hex(*k), hex(reply->shared_secret));
    EXPECT_LE(k->size(), 4 + c.field_bytes + 1);
  }
}

TEST(KexEcdh, RejectsBadPoints) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    auto peer = make_ecdh_kex(c.name);
    Bytes good = peer->client_public();
    auto server = make_ecdh_kex(c.name);

    EXPECT_FALSE(server->server_respond(Bytes{}));
    EXPECT_FALSE(server->server_respond(Bytes{0x00}));  // the point at infinity
    Bytes shorter(good.begin(), good.end() - 1);
    EXPECT_FALSE(server->server_respond(shorter));
    Bytes longer = good;
    longer.push_back(0);
    EXPECT_FALSE(server->server_respond(longer));
    // Compressed form of the same point: refused (only uncompressed is accepted).
    Bytes compressed(good.begin(), good.begin() + 1 + c.field_bytes);
    compressed[0] = 0x02 | (good.back() & 1);
    EXPECT_FALSE(server->server_respond(compressed));
    // Right length and prefix, not on the curve.
    Bytes off = good;
    off.back() ^= 1;
    EXPECT_FALSE(server->server_respond(off));
    // Coordinates at or above the field prime.
    Bytes big(good.size(), 0xff);
    big[0] = 0x04;
    EXPECT_FALSE(server->server_respond(big));
    Bytes zeros(good.size(), 0);
    zeros[0] = 0x04;
    EXPECT_FALSE(server->server_respond(zeros));
    // A hybrid-form prefix.
    Bytes hybrid = good;
    hybrid[0] = 0x06;
    EXPECT_FALSE(server->server_respond(hybrid));
    // After all that, a good point still works.
    EXPECT_TRUE(server->server_respond(good));
  }
}

TEST(KexEcdh, PointFromAnotherCurveIsRejected) {
  auto p384 = make_ecdh_kex("ecdh-sha2-nistp384");
  Bytes q = p384->client_public();
  auto p256 = make_ecdh_kex("ecdh-sha2-nistp256");
  // Truncated to P-256's length it is (with overwhelming probability) not a P-256 point.
  Bytes cut(q.begin(), q.begin() + 65);
  EXPECT_FALSE(p256->server_respond(cut));
  EXPECT_FALSE(p256->server_respond(q));
}

TEST(KexEcdh, ClientFinishNeedsClientPublic) {
  auto client = make_ecdh_kex("ecdh-sha2-nistp256");
  auto other = make_ecdh_kex("ecdh-sha2-nistp256");
  EXPECT_FALSE(client->client_finish(other->client_public()));
}

TEST(KexEcdh, UnknownNames) {
  EXPECT_FALSE(make_ecdh_kex("ecdh-sha2-nistp224"));
  EXPECT_FALSE(make_ecdh_kex("ecdh-sha2-1.3.132.0.10"));
}

}  // namespace
}  // namespace postern::net
