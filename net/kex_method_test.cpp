#include "net/kex_method.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace postern::net {
namespace {

TEST(KexMethod, DefaultOrderIsOpenSsh92) {
  // As `sshd -T` prints it for Debian 12's OpenSSH 9.2p1 (and the config model's default).
  std::vector<std::string> expected = {
      "sntrup761x25519-sha512",
      "sntrup761x25519-sha512@openssh.com",
      "curve25519-sha256",
      "curve25519-sha256@libssh.org",
      "ecdh-sha2-nistp256",
      "ecdh-sha2-nistp384",
      "ecdh-sha2-nistp521",
      "diffie-hellman-group-exchange-sha256",
      "diffie-hellman-group16-sha512",
      "diffie-hellman-group18-sha512",
      "diffie-hellman-group14-sha256",
  };
  auto defaults = default_kex_methods();
  EXPECT_EQ(defaults, expected);
  auto supported = supported_kex_methods();
  auto full_defaults = default_kex_methods();
  ASSERT_GE(supported.size(), full_defaults.size());
  EXPECT_TRUE(std::equal(full_defaults.begin(), full_defaults.end(), supported.begin()));
  for (auto legacy :
       {"mlkem768x25519-sha256", "mlkem768nistp256-sha256", "diffie-hellman-group14-sha1",
        "diffie-hellman-group-exchange-sha1", "diffie-hellman-group1-sha1"}) {
    EXPECT_NE(std::find(supported.begin(), supported.end(), legacy), supported.end()) << legacy;
    EXPECT_EQ(std::find(defaults.begin(), defaults.end(), legacy), defaults.end()) << legacy;
  }
}

// Every supported name is either made by make_kex_method or is a group exchange, and every
// made method completes an exchange with itself.
TEST(KexMethod, EverySupportedMethodWorks) {
  for (const auto& name : supported_kex_methods()) {
    SCOPED_TRACE(name);
    if (is_group_exchange(name)) {
      EXPECT_FALSE(make_kex_method(name));
      EXPECT_TRUE(group_exchange_hash(name));
      continue;
    }
    EXPECT_FALSE(group_exchange_hash(name));
    auto client = make_kex_method(name);
    auto server = make_kex_method(name);
    ASSERT_TRUE(client && server);
    EXPECT_EQ(client->name(), name);
    ASSERT_TRUE(client->hash());
    Bytes q_c = client->client_public();
    ASSERT_FALSE(q_c.empty());
    auto reply = server->server_respond(q_c);
    ASSERT_TRUE(reply) << reply.error().message;
    auto k = client->client_finish(reply->server_public);
    ASSERT_TRUE(k) << k.error().message;
    EXPECT_EQ(hex(*k), hex(reply->shared_secret));
    // Garbage is an error, not a crash.
    EXPECT_FALSE(make_kex_method(name)->server_respond(Bytes{0x01}));
    EXPECT_FALSE(make_kex_method(name)->server_respond(Bytes(70000, 0x7f)));
  }
}

TEST(KexMethod, GroupExchangeHashes) {
  EXPECT_TRUE(is_group_exchange("diffie-hellman-group-exchange-sha256"));
  EXPECT_TRUE(is_group_exchange("diffie-hellman-group-exchange-sha1"));
  EXPECT_FALSE(is_group_exchange("diffie-hellman-group14-sha256"));
  EXPECT_EQ(group_exchange_hash("diffie-hellman-group-exchange-sha256"), EVP_sha256());
  EXPECT_EQ(group_exchange_hash("diffie-hellman-group-exchange-sha1"), EVP_sha1());
}

TEST(KexMethod, UnknownNames) {
  EXPECT_FALSE(make_kex_method(""));
  EXPECT_FALSE(make_kex_method("none"));
  EXPECT_FALSE(make_kex_method("ext-info-s"));
  EXPECT_FALSE(make_kex_method("kex-strict-s-v00@openssh.com"));
  EXPECT_FALSE(make_kex_method("curve25519-sha256 "));
}

}  // namespace
}  // namespace postern::net
