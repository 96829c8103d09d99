// ssh-mldsa44-ed25519@openssh.com (draft-miller-sshm-mldsa44-ed25519-composite-sigs-00): blobs,
// text forms and fingerprints built here byte by byte from the draft's layout, the refusal of
// every malformed length, private key files, composite signatures (each half checked on its own
// against M' built here from the LAMPS composite draft's constants) and certificates.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "common/mldsa44.h"
#include "common/ssh_cert.h"
#include "common/ssh_cert_builder.h"
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

// ---- with the ML-DSA-44 primitive ---------------------------------------------------------

PrivateKey new_key() {
  auto k = PrivateKey::generate(KeyType::kMlDsa44Ed25519);
  EXPECT_TRUE(k) << (k ? "" : k.error().message);
  return std::move(*k);
}

// The base64 body of an armoured openssh-key-v1 text, decoded.
Bytes container(const std::string& text) {
  std::string b64;
  size_t begin = text.find('\n') + 1, end = text.find("-----END");
  for (char c : text.substr(begin, end - begin))
    if (c != '\n') b64 += c;
  Bytes raw;
  EXPECT_TRUE(base64_decode(b64, raw));
  return raw;
}

std::string armour(ByteView raw) {
  std::string b64 = base64_encode(raw), out = "-----BEGIN OPENSSH PRIVATE KEY-----\n";
  for (size_t i = 0; i < b64.size(); i += 70) out += b64.substr(i, 70) + "\n";
  return out + "-----END OPENSSH PRIVATE KEY-----\n";
}

// An unencrypted container (PROTOCOL.key) around one private record `record` (type name first),
// with the comment "c" and the padding 1, 2, 3, ...
std::string container_with(ByteView public_blob, ByteView record) {
  Writer priv;
  priv.u32(0x01020304).u32(0x01020304).raw(record).string("c");
  for (uint8_t pad = 1; priv.size() % 8; ++pad) priv.u8(pad);
  Writer w;
  w.raw(as_bytes(std::string_view("openssh-key-v1\0", 15))).string("none").string("none");
  w.string("").u32(1).string(public_blob).string(priv.buffer());
  return armour(w.buffer());
}

// The record the draft's private key encoding gives: string type, string (ML-DSA-44 pk ||
// Ed25519 pk), string (ML-DSA-44 seed || Ed25519 seed).
Bytes record(ByteView pk, ByteView seeds) {
  Writer w;
  w.string(kName).string(pk).string(seeds);
  return w.take();
}

// The public fields (pk string) of a key's blob.
Bytes public_fields(const PublicKey& key) {
  Reader r(key.blob());
  r.text();
  ByteView pk = r.string();
  return Bytes(pk.begin(), pk.end());
}

// M' = Prefix || Label || 0 || SHA512(M), from the LAMPS composite draft's constants.
Bytes representative(ByteView m) {
  Bytes out = to_bytes("CompositeAlgorithmSignatures2025COMPSIG-MLDSA44-Ed25519-SHA512");
  out.push_back(0);
  uint8_t digest[64];
  SHA512(m.data(), m.size(), digest);
  out.insert(out.end(), digest, digest + 64);
  return out;
}

TEST(MlDsa44Ed25519Key, PrivateFileRoundTripsAsTheDraftsRecord) {
  PrivateKey key = new_key();
  EXPECT_EQ(key.type(), KeyType::kMlDsa44Ed25519);
  std::string text = key.to_openssh_text("alice@pq");
  auto again = PrivateKey::parse(text);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->public_key(), key.public_key());

  // Inside: magic, cipher and kdf "none", no kdf options, one key, its public blob, then the
  // private section: check values, string type, string pk, string seeds, string comment.
  Bytes raw = container(text);
  Reader r(raw);
  r.raw(15);
  EXPECT_EQ(r.text(), "none");
  EXPECT_EQ(r.text(), "none");
  EXPECT_TRUE(r.string().empty());
  EXPECT_EQ(r.u32(), 1u);
  ByteView pub = r.string();
  EXPECT_EQ(Bytes(pub.begin(), pub.end()), key.public_key().blob());
  Reader priv(r.string());
  EXPECT_EQ(priv.u32(), priv.u32());
  EXPECT_EQ(priv.text(), kName);
  ByteView pk = priv.string(), seeds = priv.string();
  EXPECT_EQ(Bytes(pk.begin(), pk.end()), public_fields(key.public_key()));
  ASSERT_EQ(seeds.size(), 64u);
  EXPECT_EQ(priv.text(), "alice@pq");

  // Both public halves follow from the seeds: the ML-DSA half by KeyGen_internal from xi
  // (FIPS 204 Algorithm 6), the Ed25519 half as RFC 8032 derives it.
  Bytes mldsa_pk(mldsa44::kPublicKeySize), mldsa_sk(mldsa44::kSecretKeySize);
  mldsa44::keygen_from_seed(mldsa_pk, mldsa_sk, seeds.first(32));
  EXPECT_TRUE(std::equal(mldsa_pk.begin(), mldsa_pk.end(), pk.begin()));
  EVP_PKEY* ed = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seeds.data() + 32, 32);
  Bytes ed_pk(32);
  size_t len = 32;
  EVP_PKEY_get_raw_public_key(ed, ed_pk.data(), &len);
  EVP_PKEY_free(ed);
  EXPECT_TRUE(std::equal(ed_pk.begin(), ed_pk.end(), pk.begin() + 1312));

  // A record written here from the same fields loads as the same key.
  auto rebuilt = PrivateKey::parse(container_with(key.public_key().blob(), record(pk, seeds)));
  ASSERT_TRUE(rebuilt) << rebuilt.error().message;
  EXPECT_EQ(rebuilt->public_key(), key.public_key());
}

TEST(MlDsa44Ed25519Key, PrivateRecordsThatDoNotHoldTogetherAreRefused) {
  PrivateKey key = new_key();
  Bytes blob = key.public_key().blob();
  Bytes pk = public_fields(key.public_key());
  Bytes raw = container(key.to_openssh_text());
  Reader r(raw);
  r.raw(15);
  r.text();
  r.text();
  r.string();
  r.u32();
  r.string();
  Reader priv(r.string());
  priv.u32();
  priv.u32();
  priv.text();
  priv.string();
  ByteView seeds_view = priv.string();
  Bytes seeds(seeds_view.begin(), seeds_view.end());

  auto refused = [&](ByteView public_blob, ByteView rec, std::string_view why) {
    auto k = PrivateKey::parse(container_with(public_blob, rec));
    ASSERT_FALSE(k) << why;
    EXPECT_NE(k.error().message.find(why), std::string::npos) << k.error().message;
  };
  for (size_t i : {size_t(0), size_t(40)}) {  // a bit of either seed
    Bytes other = seeds;
    other[i] ^= 1;
    refused(blob, record(pk, other), "does not match its public half");
  }
  Bytes other_pk = pk;
  other_pk[100] ^= 1;
  refused(blob, record(other_pk, seeds), "does not match its public half");
  refused(blob, record(pk, ByteView(seeds).first(63)), "private key lengths");
  refused(blob, record(ByteView(pk).first(1343), seeds), "private key lengths");
  // The container's public blob must be the key's.
  refused(new_key().public_key().blob(), record(pk, seeds), "does not match the private key");
  // Truncated anywhere: an error, never a crash.
  std::string text = container_with(blob, record(pk, seeds));
  Bytes whole = container(text);
  for (size_t cut = 0; cut < whole.size(); cut += 97)
    EXPECT_FALSE(PrivateKey::parse(armour(ByteView(whole).first(cut)))) << cut;
}

TEST(MlDsa44Ed25519Key, SignaturesAreBothHalvesOverTheRepresentative) {
  PrivateKey key = new_key();
  Bytes data = to_bytes("session id and userauth request");
  auto sig = key.sign(kName, data);
  ASSERT_TRUE(sig) << sig.error().message;
  std::string alg;
  EXPECT_TRUE(key.public_key().verify(*sig, data, &alg));
  EXPECT_EQ(alg, kName);

  Reader r(*sig);
  EXPECT_EQ(r.text(), kName);
  ByteView inner = r.string();
  ASSERT_EQ(inner.size(), kSignature);
  Bytes pk = public_fields(key.public_key());
  Bytes m = representative(data);
  // The ML-DSA half verifies on its own with the label as its context, the Ed25519 half (through
  // OpenSSL, not the key code) over M' itself.
  EXPECT_TRUE(mldsa44::verify(ByteView(pk).first(1312), m,
                              as_bytes("COMPSIG-MLDSA44-Ed25519-SHA512"), inner.first(2420)));
  EXPECT_FALSE(mldsa44::verify(ByteView(pk).first(1312), m, {}, inner.first(2420)));
  EVP_PKEY* ed = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pk.data() + 1312, 32);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, ed), 1);
  EXPECT_EQ(EVP_DigestVerify(ctx, inner.data() + 2420, 64, m.data(), m.size()), 1);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(ed);

  // Hedged: two signatures of the same data differ, and both verify.
  auto second = key.sign(kName, data);
  ASSERT_TRUE(second);
  EXPECT_NE(*second, *sig);
  EXPECT_TRUE(key.public_key().verify(*second, data));
}

TEST(MlDsa44Ed25519Key, AnyChangeOrAForeignHalfFails) {
  PrivateKey key = new_key(), other = new_key();
  Bytes data = to_bytes("exchange hash");
  Bytes sig = *key.sign(kName, data);
  const size_t inner = 4 + kName.size() + 4;  // where the composite signature starts
  for (size_t at : {inner, inner + 1000, inner + 2419, inner + 2420, inner + 2483}) {
    Bytes bad = sig;
    bad[at] ^= 0x01;
    EXPECT_FALSE(key.public_key().verify(bad, data)) << at;
  }
  EXPECT_FALSE(key.public_key().verify(sig, to_bytes("exchange hasH")));
  EXPECT_FALSE(other.public_key().verify(sig, data));
  // One half from another signature of the same data by the same key: each half must verify
  // for the pair, and a foreign ML-DSA or Ed25519 half of another key fails.
  Bytes foreign = *other.sign(kName, data);
  Bytes mixed = sig;
  std::copy(foreign.begin() + inner, foreign.begin() + inner + 2420, mixed.begin() + inner);
  EXPECT_FALSE(key.public_key().verify(mixed, data));
  mixed = sig;
  std::copy(foreign.begin() + inner + 2420, foreign.end(), mixed.begin() + inner + 2420);
  EXPECT_FALSE(key.public_key().verify(mixed, data));
  // The composite is no Ed25519 key: an ssh-ed25519 signature by its classical half is refused.
  EXPECT_FALSE(key.sign("ssh-ed25519", data));
}

// Certificates of this type (PROTOCOL.certkeys: the key's fields after the nonce), and this type
// as a CA signing certificates of other types.
TEST(MlDsa44Ed25519Cert, CertifiedAndCertifying) {
  PrivateKey pq = new_key(), pq_ca = new_key();
  PrivateKey ed = *PrivateKey::generate(KeyType::kEd25519);
  PrivateKey ed_ca = *PrivateKey::generate(KeyType::kEd25519);
  CertificateFields f;
  f.type = CertType::kUser;
  f.key_id = "alice-pq";
  f.principals = {"alice"};
  f.valid_after = 0;
  f.valid_before = ~uint64_t(0);
  struct Case {
    const PrivateKey& key;
    const PrivateKey& ca;
  };
  for (const Case& c : {Case{pq, ed_ca}, Case{pq, pq_ca}, Case{ed, pq_ca}}) {
    auto cert = build_certificate(c.key.public_key(), f, c.ca);
    ASSERT_TRUE(cert) << cert.error().message;
    EXPECT_EQ(cert->key(), c.key.public_key());
    EXPECT_EQ(cert->signature_key(), c.ca.public_key());
    EXPECT_EQ(cert->signature_algorithm(), c.ca.public_key().signature_algorithms().front());
    bool pq_cert = c.key.type() == KeyType::kMlDsa44Ed25519;
    EXPECT_EQ(cert->type_name(), pq_cert ? "ssh-mldsa44-ed25519-cert-v01@openssh.com"
                                         : "ssh-ed25519-cert-v01@openssh.com");
    if (pq_cert) {
      EXPECT_EQ(cert->log_name(), "MLDSA44-ED25519-CERT");
      EXPECT_EQ(cert->algorithms(),
                std::vector<std::string>{"ssh-mldsa44-ed25519-cert-v01@openssh.com"});
    }
    auto text = Certificate::from_openssh_text(cert->to_openssh_text());
    ASSERT_TRUE(text) << text.error().message;
    EXPECT_EQ(text->blob(), cert->blob());

    // CASignatureAlgorithms decides which CA types are trusted.
    std::vector<std::string> ed_only{"ssh-ed25519"}, pq_only{std::string(kName)};
    CertCheck check;
    check.now = 1;
    check.principal = "alice";
    check.ca_signature_algorithms = &ed_only;
    bool pq_ca_signed = c.ca.type() == KeyType::kMlDsa44Ed25519;
    EXPECT_EQ(check_certificate(*cert, check).ok(), !pq_ca_signed);
    check.ca_signature_algorithms = &pq_only;
    EXPECT_EQ(check_certificate(*cert, check).ok(), pq_ca_signed);

    // A changed byte in the CA's signature fails the parse.
    Bytes bad = cert->blob();
    bad[bad.size() - 10] ^= 1;
    EXPECT_FALSE(Certificate::from_blob(bad));
  }
}

}  // namespace
}  // namespace postern
