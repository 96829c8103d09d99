#include "net/kex_dh.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>

#include "common/ossl.h"
#include "common/wire.h"

namespace postern::net {
namespace {

// Big-endian arithmetic on magnitudes for building edge-case values.
Bytes add_small(const Bytes& v, int delta) {
  BignumPtr bn(BN_bin2bn(v.data(), int(v.size()), nullptr));
  if (delta >= 0)
    BN_add_word(bn.get(), static_cast<BN_ULONG>(delta));
  else
    BN_sub_word(bn.get(), static_cast<BN_ULONG>(-delta));
  Bytes out(size_t(BN_num_bytes(bn.get())));
  BN_bn2bin(bn.get(), out.data());
  return out;
}

// The contents of an mpint for a non-negative magnitude.
Bytes mpint_contents(const Bytes& magnitude) {
  Writer w;
  w.mpint_unsigned(magnitude);
  Bytes b = w.take();
  return Bytes(b.begin() + 4, b.end());
}

void expect_agreement(KexMethod& client, KexMethod& server) {
  Bytes e = client.client_public();
  ASSERT_FALSE(e.empty());
  EXPECT_EQ(e[0] & 0x80, 0);  // a positive mpint
  auto reply = server.server_respond(e);
  ASSERT_TRUE(reply) << reply.error().message;
  auto k = client.client_finish(reply->server_public);
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(hex(*k), hex(reply->shared_secret));
  // K is an mpint: its length prefix matches and it is positive.
  Reader r(*k);
  ByteView body = r.mpint();
  EXPECT_TRUE(r.done());
  EXPECT_FALSE(body.empty());
}

TEST(KexDh, FixedGroupsAgree) {
  struct Case {
    const char* name;
    const EVP_MD* md;
    size_t bits;
  };
  const Case cases[] = {
      {"diffie-hellman-group14-sha256", EVP_sha256(), 2048},
      {"diffie-hellman-group16-sha512", EVP_sha512(), 4096},
      {"diffie-hellman-group18-sha512", EVP_sha512(), 8192},
      {"diffie-hellman-group14-sha1", EVP_sha1(), 2048},
      {"diffie-hellman-group1-sha1", EVP_sha1(), 1024},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto client = make_fixed_dh_kex(c.name);
    auto server = make_fixed_dh_kex(c.name);
    ASSERT_TRUE(client && server);
    EXPECT_EQ(client->name(), c.name);
    EXPECT_EQ(client->hash(), c.md);
    EXPECT_TRUE(client->public_is_mpint());
    expect_agreement(*client, *server);
    Bytes e = client->client_public();
    EXPECT_LE(e.size(), c.bits / 8 + 1);
  }
}

TEST(KexDh, BuiltinGroupsAreTheRfcPrimes) {
  // RFC 3526 §3/§5/§7 and RFC 2409 §6.2: p = 2^n - 2^(n-64) - 1 + 2^64 * (floor(2^(n-130) pi)
  // + k), so each starts with 64 one bits then C90FDAA2 2168C234 and ends with 64 one bits.
  const std::pair<int, size_t> groups[] = {{1, 1024}, {14, 2048}, {16, 4096}, {18, 8192}};
  for (auto [id, bits] : groups) {
    SCOPED_TRACE(id);
    auto g = builtin_dh_group(id);
    ASSERT_TRUE(g);
    EXPECT_EQ(g->bits(), bits);
    EXPECT_EQ(g->g, Bytes{2});
    std::string h = hex(g->p);
    EXPECT_EQ(h.substr(0, 32), "ffffffffffffffffc90fdaa22168c234");
    EXPECT_EQ(h.substr(h.size() - 16), "ffffffffffffffff");
  }
  // The tail of group 14 (RFC 3526 §3) pins the exact prime.
  EXPECT_EQ(hex(builtin_dh_group(14)->p).substr(512 - 64),
            "3995497cea956ae515d2261898fa051015728e5a8aacaa68ffffffffffffffff");
  EXPECT_FALSE(builtin_dh_group(2));
  EXPECT_FALSE(builtin_dh_group(15));
}

TEST(KexDh, Group14IsASafePrime) {
  auto g = builtin_dh_group(14);
  BignumPtr p(BN_bin2bn(g->p.data(), int(g->p.size()), nullptr));
  BignumPtr q(BN_dup(p.get()));
  BN_rshift1(q.get(), q.get());
  BnCtxPtr ctx(BN_CTX_new());
  EXPECT_EQ(BN_check_prime(p.get(), ctx.get(), nullptr), 1);
  EXPECT_EQ(BN_check_prime(q.get(), ctx.get(), nullptr), 1);
}

TEST(KexDh, RejectsPeerValuesOutOfRange) {
  auto group = builtin_dh_group(14);
  const Bytes& p = group->p;
  auto server = make_fixed_dh_kex("diffie-hellman-group14-sha256");
  ASSERT_TRUE(server);

  EXPECT_FALSE(server->server_respond(Bytes{}));                           // e = 0
  EXPECT_FALSE(server->server_respond(Bytes{0x01}));                       // e = 1
  EXPECT_FALSE(server->server_respond(mpint_contents(add_small(p, -1))));  // e = p-1
  EXPECT_FALSE(server->server_respond(mpint_contents(p)));                 // e = p
  EXPECT_FALSE(server->server_respond(mpint_contents(add_small(p, 1))));   // e = p+1
  EXPECT_FALSE(server->server_respond(Bytes(p.size() + 2, 0x7f)));         // oversized
  EXPECT_FALSE(server->server_respond(Bytes(1024 * 1024, 0x01)));          // very oversized
  EXPECT_FALSE(server->server_respond(Bytes{0x80}));                       // negative
  EXPECT_FALSE(server->server_respond(Bytes{0xff, 0x12}));                 // negative
  EXPECT_FALSE(server->server_respond(Bytes{0x00, 0x05}));                 // not minimal
  EXPECT_FALSE(server->server_respond(Bytes{0x00}));                       // not minimal zero

  // 2 is the smallest value allowed. (p-2 is in range too, but for the RFC 3526 groups
  // OpenSSL knows q = (p-1)/2 and also refuses values outside the order-q subgroup, which p-2
  // is; an honest peer's g^x with g = 2 is always inside it.)
  EXPECT_TRUE(server->server_respond(Bytes{0x02}));
}

TEST(KexDh, RangeEndsForAGroupOfUnknownOrder) {
  // A group from a moduli file: only the range check applies, so p-2 is accepted.
  auto g = builtin_dh_group(14);
  Bytes p = g->p;
  p[p.size() / 2] ^= 0x10;  // not prime, but DH arithmetic does not care for this check
  auto kex = make_dh_kex("diffie-hellman-group-exchange-sha256", EVP_sha256(), p, Bytes{2});
  ASSERT_TRUE(kex);
  EXPECT_TRUE(kex->server_respond(mpint_contents(add_small(p, -2))));
  auto kex2 = make_dh_kex("diffie-hellman-group-exchange-sha256", EVP_sha256(), p, Bytes{2});
  EXPECT_FALSE(kex2->server_respond(mpint_contents(add_small(p, -1))));
  EXPECT_FALSE(kex2->server_respond(Bytes{0x01}));
}

TEST(KexDh, ClientSideValidatesToo) {
  auto client = make_fixed_dh_kex("diffie-hellman-group16-sha512");
  EXPECT_FALSE(client->client_finish(Bytes{0x02}));  // before client_public
  client->client_public();
  EXPECT_FALSE(client->client_finish(Bytes{0x01}));
  EXPECT_FALSE(client->client_finish(Bytes{}));
  EXPECT_FALSE(client->client_finish(mpint_contents(add_small(builtin_dh_group(16)->p, -1))));
}

TEST(KexDh, GroupExchangeGroupsAgree) {
  // A 2048-bit safe prime from a moduli file (generator 5) and a built-in one via make_dh_kex.
  const Bytes p = from_hex(
      "e98f2a209ba9f4c8c1ffb02490e599a99fbe28f6a053e240a4bd5fede80b23fea8a1476e9ef6605a4b4b41cc"
      "74cb945c7e168a91db112424480a85cbf5853234b9b1f60f030d38f678ba80ae1461f716c463d7396151eb5f"
      "037cc88690feef8d16a1b67f56c11874db5aa3d541beff390077c79c86434edbc2b46821d2ae5d2fa4fff1b0"
      "86b07669b09498ea11b0fe26c773f79aca044e085e0ba43bbe1ebe954aa1ec7a465a3232699e54958b1760ab"
      "7a04d9627ec1810970706c96b58bf84999ebed8846d8b384cb945bf782141b1be2b7c0e04d531a2334db41bb"
      "fd1bea428c5fd22f50babdbdfcc5b848f64cba8d039636311f8d844dfffbd77a42a9bfb7");
  for (int round = 0; round < 3; ++round) {
    auto client = make_dh_kex("diffie-hellman-group-exchange-sha256", EVP_sha256(), p, Bytes{5});
    auto server = make_dh_kex("diffie-hellman-group-exchange-sha256", EVP_sha256(), p, Bytes{5});
    ASSERT_TRUE(client && server);
    EXPECT_EQ(client->name(), "diffie-hellman-group-exchange-sha256");
    EXPECT_TRUE(client->public_is_mpint());
    expect_agreement(*client, *server);
  }
  auto g18 = builtin_dh_group(18);
  auto client = make_dh_kex("diffie-hellman-group-exchange-sha1", EVP_sha1(), g18->p, g18->g);
  auto server = make_dh_kex("diffie-hellman-group-exchange-sha1", EVP_sha1(), g18->p, g18->g);
  ASSERT_TRUE(client && server);
  EXPECT_EQ(client->hash(), EVP_sha1());
  expect_agreement(*client, *server);
}

TEST(KexDh, MakeDhKexRejectsBadGroups) {
  auto g14 = builtin_dh_group(14);
  const Bytes& p = g14->p;
  EXPECT_FALSE(make_dh_kex("x", nullptr, p, Bytes{2}));
  EXPECT_FALSE(make_dh_kex("x", EVP_sha256(), p, Bytes{}));                  // g = 0
  EXPECT_FALSE(make_dh_kex("x", EVP_sha256(), p, Bytes{1}));                 // g = 1
  EXPECT_FALSE(make_dh_kex("x", EVP_sha256(), p, add_small(p, -1)));         // g = p-1
  EXPECT_FALSE(make_dh_kex("x", EVP_sha256(), p, p));                        // g = p
  EXPECT_FALSE(make_dh_kex("x", EVP_sha256(), add_small(p, -1), Bytes{2}));  // even
  EXPECT_FALSE(make_dh_kex("x", EVP_sha256(), Bytes(64, 0xff), Bytes{2}));   // 512 bits
  Bytes huge(8192 / 8 + 1, 0xff);
  EXPECT_FALSE(make_dh_kex("x", EVP_sha256(), huge, Bytes{2}));  // > 8192 bits
  EXPECT_FALSE(make_dh_kex("x", EVP_sha256(), Bytes{}, Bytes{2}));
  EXPECT_TRUE(make_dh_kex("x", EVP_sha256(), p, Bytes{2}));
}

TEST(KexDh, ExponentSizes) {
  // At least twice the group's strength (RFC 3526 §8) and never below 512 bits.
  EXPECT_EQ(dh_exponent_bits(1024), 512);
  EXPECT_EQ(dh_exponent_bits(2048), 512);
  EXPECT_EQ(dh_exponent_bits(3072), 512);
  EXPECT_EQ(dh_exponent_bits(4096), 512);
  EXPECT_EQ(dh_exponent_bits(6144), 540);
  EXPECT_EQ(dh_exponent_bits(7680), 540);
  EXPECT_EQ(dh_exponent_bits(8192), 620);
}

TEST(KexDh, UnknownNames) {
  EXPECT_FALSE(make_fixed_dh_kex("diffie-hellman-group15-sha512"));
  EXPECT_FALSE(make_fixed_dh_kex("diffie-hellman-group-exchange-sha256"));
}

}  // namespace
}  // namespace postern::net
