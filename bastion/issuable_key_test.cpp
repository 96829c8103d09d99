#include "bastion/issuable_key.h"

#include <gtest/gtest.h>

#include "common/ssh_cert.h"
#include "common/wire.h"

namespace postern::bastion {
namespace {

// A DSA public key (ssh-keygen -t dsa); PrivateKey cannot make one.
const char kDsaLine[] =
    "ssh-dss AAAAB3NzaC1kc3MAAACBAN7G8JR63l7bebvEZZEp2KjfBcmPYyby98JxB8sJC+w4+iJL6HT3rL6Xcz1S/"
    "+edfkOLaj07Tepep312JVxzGRm/NYmu8alUKzs5zM3TrXMXz4EF9Se3od43X50QnhTndSn9QeKOYcAI6t4pKXuMaH961T7"
    "SO9bONczCBp5K42U9AAAAFQDcOM5OeYD6RC4mF2F174rGQiuVWwAAAIBAl8MPKbezva+6G7NVRyCo7MOvj+"
    "X31aNqD51tSk"
    "qWekHOXtnPaP4RQmiw/"
    "LEEjE6HNJg9GCXn4JX6SOUwsFkbWj2W7dT7JczZgk+rJz1sP35+Jpk8pejGdkqtcfSqmTfJHpEDX"
    "1MJxa9CoIBZS5vsPRbMaJeP0BxVCP+QYgQ70wAAAIAVsvHkzgRKE9CqkvxsDUrPNX/Wfr5Oh5fznYo4CnjNKC+KaFymKiy"
    "Eo7pC2sO4mPH2QYcOLCF7aCevO9spJdQZ2ctaq5EuqNBNlnSZKJIkjkuVycZ18mOEex5fPQvwbUDwZfmHCMlMA9qfT07kb"
    "F"
    "yqA+P/Y9Y2o2zFDOgG+MVxfQ==";

PrivateKey generate(KeyType type, int bits = 3072) {
  auto k = PrivateKey::generate(type, bits);
  EXPECT_TRUE(k) << k.error().message;
  return std::move(*k);
}

TEST(IssuableKey, PlainModernKeysAreAccepted) {
  for (KeyType t : {KeyType::kEd25519, KeyType::kEcdsaP256, KeyType::kEcdsaP521}) {
    PrivateKey k = generate(t);
    auto ok = check_issuable_key(k.public_key().blob());
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_TRUE(*ok == k.public_key());
  }
  EXPECT_TRUE(check_issuable_key(generate(KeyType::kRsa, 2048).public_key().blob()));
}

TEST(IssuableKey, WeakKeysAreRefusedWithTheReason) {
  auto rsa = check_issuable_key(generate(KeyType::kRsa, 1024).public_key().blob());
  ASSERT_FALSE(rsa);
  EXPECT_EQ(rsa.error().message, "RSA key of 1024 bits is too weak (at least 2048)");
  auto dsa_key = PublicKey::from_openssh_text(kDsaLine);
  ASSERT_TRUE(dsa_key) << dsa_key.error().message;
  auto dsa = check_issuable_key(dsa_key->blob());
  ASSERT_FALSE(dsa);
  EXPECT_NE(dsa.error().message.find("DSA"), std::string::npos);
}

TEST(IssuableKey, ACertificateOrGarbageIsNoKey) {
  // A real certificate blob: the type name alone decides.
  Writer w;
  w.string("ssh-ed25519-cert-v01@openssh.com").string("nonce").string(Bytes(32, 7));
  auto cert = check_issuable_key(w.buffer());
  ASSERT_FALSE(cert);
  EXPECT_NE(cert.error().message.find("certificate"), std::string::npos);
  for (Bytes garbage :
       {Bytes{}, Bytes{0, 0, 0}, Bytes{0xff, 0xff, 0xff, 0xff, 1},
        Bytes{0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9'}}) {
    auto r = check_issuable_key(garbage);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message.rfind("not a public key", 0), 0u) << r.error().message;
  }
}

}  // namespace
}  // namespace postern::bastion
