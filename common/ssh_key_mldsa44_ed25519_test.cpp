// ssh-mldsa44-ed25519@openssh.com (draft-miller-sshm-mldsa44-ed25519-composite-sigs-00): blobs,
// text forms and fingerprints built here byte by byte from the draft's layout, and the refusal
// of every malformed length.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "common/ssh_key.h"
#include "common/wire.h"

namespace postern {
namespace {

constexpr std::string_view kName = "ssh-mldsa44-ed25519@openssh.com";
constexpr size_t kMlDsaPublic = 1312, kEd25519Public = 32;
constexpr size_t kSignature = 2420 + 64;

Bytes ed25519_public() {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  Bytes pk(kEd25519Public);
  size_t len = pk.size();
  EVP_PKEY_get_raw_public_key(k, pk.data(), &len);
  EVP_PKEY_free(k);
  return pk;
}

// string name, string (ML-DSA-44 pk || Ed25519 pk), with `mldsa_len` bytes of ML-DSA key.
Bytes blob(size_t mldsa_len = kMlDsaPublic, std::string_view name = kName) {
  Bytes fields(mldsa_len);
  for (size_t i = 0; i < fields.size(); ++i) fields[i] = uint8_t(i * 7 + 1);
  Bytes ed = ed25519_public();
  fields.insert(fields.end(), ed.begin(), ed.end());
  Writer w;
  w.string(name).string(ByteView(fields));
  return w.take();
}

std::string sha256_fingerprint(ByteView b) {
  uint8_t md[32];
  unsigned len = 0;
  EVP_Digest(b.data(), b.size(), md, &len, EVP_sha256(), nullptr);
  return "SHA256:" + base64_encode(ByteView(md, len), false);
}

TEST(MlDsa44Ed25519Key, PublicBlobRoundTripsWithItsNameBitsAndFingerprint) {
  Bytes b = blob();
  auto key = PublicKey::from_blob(b);
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(key->type(), KeyType::kMlDsa44Ed25519);
  EXPECT_EQ(key->type_name(), kName);
  EXPECT_EQ(key->log_name(), "MLDSA44-ED25519");
  EXPECT_EQ(key->bits(), 256u);
  EXPECT_EQ(key->blob(), b);
  EXPECT_EQ(key->fingerprint_sha256(), sha256_fingerprint(b));
  EXPECT_EQ(key->signature_algorithms(), std::vector<std::string>{std::string(kName)});
  EXPECT_FALSE(key->is_security_key());

  std::string line = std::string(kName) + " " + base64_encode(b) + " alice@pq";
  EXPECT_EQ(key->to_openssh_text(), line.substr(0, line.rfind(' ')));
  auto again = PublicKey::from_openssh_text(line);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, *key);
}

TEST(MlDsa44Ed25519Key, WrongLengthsAndTrailingBytesAreRefused) {
  for (size_t len : {size_t(0), kMlDsaPublic - 1, kMlDsaPublic + 1, 2 * kMlDsaPublic}) {
    auto key = PublicKey::from_blob(blob(len));
    ASSERT_FALSE(key) << len;
    EXPECT_NE(key.error().message.find("public key length"), std::string::npos)
        << key.error().message;
  }
  Bytes trailing = blob();
  trailing.push_back(0);
  EXPECT_FALSE(PublicKey::from_blob(trailing));
  Bytes truncated = blob();
  truncated.resize(truncated.size() - 1);
  EXPECT_FALSE(PublicKey::from_blob(truncated));
  // A length field that claims more than the blob holds.
  Bytes lying = blob();
  lying[4 + kName.size()] = 0x7f;
  EXPECT_FALSE(PublicKey::from_blob(lying));
}

TEST(MlDsa44Ed25519Key, TextWhoseNameDisagreesWithTheBlobIsRefused) {
  auto key = PublicKey::from_openssh_text("ssh-ed25519 " + base64_encode(blob()));
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().message.find("does not match"), std::string::npos);
}

// Signature blobs that cannot be a composite signature fail before any arithmetic: a wrong
// length of either half, a wrong algorithm name, trailing bytes.
TEST(MlDsa44Ed25519Key, MalformedSignaturesNeverVerify) {
  auto key = PublicKey::from_blob(blob());
  ASSERT_TRUE(key);
  Bytes data = to_bytes("data");
  auto sig_blob = [](std::string_view alg, size_t len) {
    Writer w;
    w.string(alg).string(Bytes(len, 0x5a));
    return w.take();
  };
  std::string alg;
  for (size_t len : {size_t(0), size_t(64), size_t(2420), kSignature - 1, kSignature + 1,
                     size_t(2 * kSignature)}) {
    EXPECT_FALSE(key->verify(sig_blob(kName, len), data, &alg)) << len;
  }
  EXPECT_EQ(alg, kName);
  EXPECT_FALSE(key->verify(sig_blob("ssh-ed25519", 64), data, &alg));
  EXPECT_FALSE(key->verify(sig_blob(kName, kSignature), data));
  Bytes trailing = sig_blob(kName, kSignature);
  trailing.push_back(1);
  EXPECT_FALSE(key->verify(trailing, data));
  EXPECT_FALSE(key->verify(Bytes{0, 0, 0}, data));
}

}  // namespace
}  // namespace postern
