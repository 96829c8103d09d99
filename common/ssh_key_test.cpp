// Interoperability with OpenSSH's ssh-keygen: keys it writes load here with the same blob and
// fingerprint, keys written here load there, and signatures cross in both directions through
// SSHSIG (PROTOCOL.sshsig), which wraps an ordinary SSH signature blob.
#include "common/ssh_key.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/wire.h"

namespace postern {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/postern-keys-XXXXXX";
    m_path = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + m_path + "'").c_str()); }
  const std::string& path() const { return m_path; }
  std::string operator/(const std::string& name) const { return m_path + "/" + name; }

 private:
  std::string m_path;
};

// Runs a shell command; returns its stdout and sets `status` to its exit status.
std::string run(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = pclose(p);
  if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, std::string_view text, mode_t mode = 0600) {
  std::ofstream(path, std::ios::binary) << text;
  chmod(path.c_str(), mode);
}

struct KeygenCase {
  const char* name;
  const char* type;
  int bits;
  KeyType key_type;
  const char* log_name;
  size_t bits_expected;
};

const KeygenCase kCases[] = {
    {"ed25519", "ed25519", 0, KeyType::kEd25519, "ED25519", 256},
    {"ecdsa256", "ecdsa", 256, KeyType::kEcdsaP256, "ECDSA", 256},
    {"ecdsa384", "ecdsa", 384, KeyType::kEcdsaP384, "ECDSA", 384},
    {"ecdsa521", "ecdsa", 521, KeyType::kEcdsaP521, "ECDSA", 521},
    {"rsa2048", "rsa", 2048, KeyType::kRsa, "RSA", 2048},
    {"dsa", "dsa", 1024, KeyType::kDsa, "DSA", 1024},
};

std::string keygen(const TempDir& dir, const KeygenCase& c, const std::string& file,
                   const std::string& extra = "") {
  std::string path = dir / file;
  std::string cmd =
      "ssh-keygen -q -t " + std::string(c.type) + " -N '' -C test-comment " + extra + " -f " + path;
  if (c.bits) cmd += " -b " + std::to_string(c.bits);
  int st = 0;
  run(cmd + " </dev/null 2>&1", &st);
  EXPECT_EQ(st, 0) << cmd;
  return path;
}

// The fingerprint field of `ssh-keygen -lf`: "<bits> SHA256:... comment (TYPE)".
std::string keygen_fingerprint(const std::string& path) {
  std::istringstream ss(run("ssh-keygen -lf " + path + " 2>/dev/null"));
  std::string bits, fp;
  ss >> bits >> fp;
  return fp;
}

// An SSHSIG (PROTOCOL.sshsig) over `message` made with our key, armoured.
std::string make_sshsig(const PrivateKey& key, std::string_view alg, std::string_view message,
                        std::string_view ns) {
  uint8_t md[64];
  unsigned mdlen = 0;
  EVP_Digest(message.data(), message.size(), md, &mdlen, EVP_sha512(), nullptr);
  Writer signed_data;
  signed_data.raw(as_bytes("SSHSIG"))
      .string(ns)
      .string("")
      .string("sha512")
      .string(ByteView(md, mdlen));
  auto sig = key.sign(alg, signed_data.buffer());
  EXPECT_TRUE(sig) << (sig ? "" : sig.error().message);
  Writer w;
  w.raw(as_bytes("SSHSIG"))
      .u32(1)
      .string(ByteView(key.public_key().blob()))
      .string(ns)
      .string("")
      .string("sha512")
      .string(ByteView(*sig));
  std::string b64 = base64_encode(w.buffer());
  std::string out = "-----BEGIN SSH SIGNATURE-----\n";
  for (size_t i = 0; i < b64.size(); i += 76) out += b64.substr(i, 76) + "\n";
  return out + "-----END SSH SIGNATURE-----\n";
}

// Verifies an SSHSIG made by ssh-keygen -Y sign with our PublicKey::verify.
bool verify_sshsig(const PublicKey& key, const std::string& armoured, std::string_view message,
                   std::string* alg) {
  std::string b64;
  std::istringstream ss(armoured);
  for (std::string line; std::getline(ss, line);)
    if (line.rfind("-----", 0) != 0) b64 += line;
  Bytes raw;
  if (!base64_decode(b64, raw)) return false;
  Reader r(raw);
  if (as_string(r.raw(6)) != "SSHSIG" || r.u32() != 1) return false;
  ByteView pub = r.string();
  std::string_view ns = r.text();
  r.string();
  std::string_view hash = r.text();
  ByteView sig = r.string();
  r.expect_done();
  if (Bytes(pub.begin(), pub.end()) != key.blob() || hash != "sha512") return false;
  uint8_t md[64];
  unsigned mdlen = 0;
  EVP_Digest(message.data(), message.size(), md, &mdlen, EVP_sha512(), nullptr);
  Writer signed_data;
  signed_data.raw(as_bytes("SSHSIG"))
      .string(ns)
      .string("")
      .string("sha512")
      .string(ByteView(md, mdlen));
  return key.verify(sig, signed_data.buffer(), alg);
}

class KeygenTest : public ::testing::TestWithParam<KeygenCase> {
 protected:
  TempDir m_dir;
};

TEST_P(KeygenTest, LoadsOpensshFormatAndMatchesPub) {
  const auto& c = GetParam();
  std::string path = keygen(m_dir, c, "key");
  auto priv = PrivateKey::load_file(path);
  ASSERT_TRUE(priv) << priv.error().message;
  auto pub = PublicKey::from_openssh_text(read_file(path + ".pub"));
  ASSERT_TRUE(pub) << pub.error().message;
  EXPECT_EQ(priv->public_key(), *pub);
  EXPECT_EQ(priv->type(), c.key_type);
  EXPECT_EQ(pub->log_name(), c.log_name);
  EXPECT_EQ(pub->bits(), c.bits_expected);
  EXPECT_EQ(pub->fingerprint_sha256(), keygen_fingerprint(path + ".pub"));
  std::string pub_text = read_file(path + ".pub");
  EXPECT_EQ(pub_text.rfind(pub->to_openssh_text() + " test-comment", 0), 0u);
}

TEST_P(KeygenTest, LoadsPemAndPkcs8) {
  const auto& c = GetParam();
  for (const char* format : {"PEM", "PKCS8"}) {
    std::string path = keygen(m_dir, c, std::string("key-") + format, std::string("-m ") + format);
    auto priv = PrivateKey::load_file(path);
    ASSERT_TRUE(priv) << format << ": " << priv.error().message;
    auto pub = PublicKey::from_openssh_text(read_file(path + ".pub"));
    ASSERT_TRUE(pub);
    EXPECT_EQ(priv->public_key(), *pub) << format;
  }
}

TEST_P(KeygenTest, SignVerifyAllAlgorithms) {
  const auto& c = GetParam();
  auto priv = PrivateKey::load_file(keygen(m_dir, c, "key"));
  ASSERT_TRUE(priv);
  const PublicKey& pub = priv->public_key();
  Bytes data = to_bytes("exchange hash stand-in");
  for (const auto& alg : pub.signature_algorithms()) {
    auto sig = priv->sign(alg, data);
    ASSERT_TRUE(sig) << alg << ": " << sig.error().message;
    std::string got;
    EXPECT_TRUE(pub.verify(*sig, data, &got)) << alg;
    EXPECT_EQ(got, alg);
    // Tampered data.
    Bytes other = data;
    other[0] ^= 1;
    EXPECT_FALSE(pub.verify(*sig, other)) << alg;
    // Tampered signature: flip a bit of the last byte (inside the signature itself).
    Bytes bad = *sig;
    bad.back() ^= 0x01;
    EXPECT_FALSE(pub.verify(bad, data)) << alg;
    // Trailing bytes after the signature blob.
    bad = *sig;
    bad.push_back(0);
    EXPECT_FALSE(pub.verify(bad, data)) << alg;
    // Truncated at every length.
    for (size_t n = 0; n < sig->size(); n += 7)
      EXPECT_FALSE(pub.verify(ByteView(sig->data(), n), data)) << alg << " " << n;
  }
}

TEST_P(KeygenTest, VerifiesSshKeygenSignature) {
  const auto& c = GetParam();
  std::string path = keygen(m_dir, c, "key");
  write_file(m_dir / "msg", "signed message\n", 0644);
  int st = 0;
  run("ssh-keygen -Y sign -f " + path + " -n file " + (m_dir / "msg") + " 2>&1", &st);
  ASSERT_EQ(st, 0);
  auto pub = PublicKey::from_openssh_text(read_file(path + ".pub"));
  ASSERT_TRUE(pub);
  std::string armoured = read_file(m_dir / "msg.sig");
  std::string alg;
  EXPECT_TRUE(verify_sshsig(*pub, armoured, "signed message\n", &alg));
  EXPECT_EQ(alg, c.key_type == KeyType::kRsa ? "rsa-sha2-512" : pub->type_name());
  EXPECT_FALSE(verify_sshsig(*pub, armoured, "signed messagE\n", &alg));
}

TEST_P(KeygenTest, SshKeygenVerifiesOurSignatures) {
  const auto& c = GetParam();
  auto priv = PrivateKey::load_file(keygen(m_dir, c, "key"));
  ASSERT_TRUE(priv);
  write_file(m_dir / "allowed", "tester@example " + priv->public_key().to_openssh_text() + "\n",
             0644);
  write_file(m_dir / "msg", "our message", 0644);
  for (const auto& alg : priv->public_key().signature_algorithms()) {
    if (alg == "ssh-rsa") continue;  // SSHSIG refuses SHA-1 RSA signatures
    write_file(m_dir / "msg.sig", make_sshsig(*priv, alg, "our message", "file"), 0644);
    int st = 0;
    std::string out =
        run("ssh-keygen -Y verify -f " + (m_dir / "allowed") + " -I tester@example -n file -s " +
                (m_dir / "msg.sig") + " < " + (m_dir / "msg") + " 2>&1",
            &st);
    EXPECT_EQ(st, 0) << alg << ": " << out;
  }
}

INSTANTIATE_TEST_SUITE_P(Types, KeygenTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

class GenerateTest : public ::testing::TestWithParam<KeyType> {
 protected:
  TempDir m_dir;
};

TEST_P(GenerateTest, SshKeygenReadsWhatWeWrite) {
  auto key = PrivateKey::generate(GetParam(), 2048);
  ASSERT_TRUE(key) << key.error().message;
  std::string path = m_dir / "host_key";
  write_file(path, key->to_openssh_text("made-by-postern"));
  int st = 0;
  std::string pub = run("ssh-keygen -y -f " + path + " 2>&1", &st);
  ASSERT_EQ(st, 0) << pub;
  EXPECT_EQ(pub.rfind(key->public_key().to_openssh_text(), 0), 0u) << pub;
  EXPECT_EQ(keygen_fingerprint(path), key->public_key().fingerprint_sha256());
  // And back: our writer's output parses, and signs consistently.
  auto again = PrivateKey::load_file(path);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->public_key(), key->public_key());
  auto sig = again->sign(again->public_key().signature_algorithms()[0], to_bytes("x"));
  ASSERT_TRUE(sig);
  EXPECT_TRUE(key->public_key().verify(*sig, to_bytes("x")));
}

INSTANTIATE_TEST_SUITE_P(Types, GenerateTest,
                         ::testing::Values(KeyType::kEd25519, KeyType::kEcdsaP256,
                                           KeyType::kEcdsaP384, KeyType::kEcdsaP521, KeyType::kRsa,
                                           KeyType::kDsa));

// RFC 4253 §6.6 ssh-dss: a signature is exactly 40 bytes (r || s), and public values that
// make verification meaningless (y or g out of range, a q that is not 160 bits) are refused.
TEST(SshKey, DsaBlobAndSignatureChecks) {
  auto key = PrivateKey::generate(KeyType::kDsa);
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(key->public_key().bits(), 1024u);
  Reader r(key->public_key().blob());
  ASSERT_EQ(r.text(64), "ssh-dss");
  std::vector<Bytes> v;  // p, q, g, y
  for (int i = 0; i < 4; ++i) {
    ByteView m = r.mpint();
    v.emplace_back(m.begin(), m.end());
  }
  auto blob_with = [&](size_t index, Bytes value) {
    Writer w;
    w.string("ssh-dss");
    for (size_t i = 0; i < v.size(); ++i) w.mpint_unsigned(i == index ? value : v[i]);
    return w.take();
  };
  EXPECT_TRUE(PublicKey::from_blob(blob_with(9, {})));
  EXPECT_FALSE(PublicKey::from_blob(blob_with(3, {1})));                       // y = 1
  EXPECT_FALSE(PublicKey::from_blob(blob_with(3, v[0])));                      // y = p
  EXPECT_FALSE(PublicKey::from_blob(blob_with(2, {1})));                       // g = 1
  EXPECT_FALSE(PublicKey::from_blob(blob_with(1, {0x7f, 0xff, 0xff, 0xff})));  // q too small

  Bytes data = to_bytes("exchange hash stand-in");
  auto sig = key->sign("ssh-dss", data);
  ASSERT_TRUE(sig) << sig.error().message;
  EXPECT_TRUE(key->public_key().verify(*sig, data));
  EXPECT_FALSE(key->sign("ssh-rsa", data));
  // The inner signature must be exactly 40 bytes.
  Reader sr(*sig);
  sr.text(64);
  ByteView inner = sr.string();
  ASSERT_EQ(inner.size(), 40u);
  Writer longer;
  Bytes padded{0};
  padded.insert(padded.end(), inner.begin(), inner.end());
  longer.string("ssh-dss").string(ByteView(padded));
  EXPECT_FALSE(key->public_key().verify(longer.buffer(), data));
}

// PEM written by OpenSSL itself (ssh-keygen writes Ed25519 keys in its own format even with
// -m PEM): PKCS#8 Ed25519, SEC1 EC, PKCS#1 RSA. ssh-keygen -y tells what the public key is.
TEST(SshKey, LoadsOpensslPem) {
  TempDir dir;
  const char* commands[] = {
      "openssl genpkey -algorithm ed25519 -out OUT",
      "openssl ecparam -name secp384r1 -genkey -noout -out OUT",
      "openssl ecparam -name prime256v1 -genkey -noout -conv_form compressed -out OUT",
      "openssl genrsa -traditional -out OUT 2048",
      "openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:1024 -out OUT",
  };
  int i = 0;
  for (const char* cmd : commands) {
    std::string path = dir / ("k" + std::to_string(i++));
    int st = 0;
    std::string command = cmd;
    command.replace(command.find("OUT"), 3, path);
    run(command + " 2>&1", &st);
    ASSERT_EQ(st, 0) << cmd;
    chmod(path.c_str(), 0600);
    auto key = PrivateKey::load_file(path);
    ASSERT_TRUE(key) << cmd << ": " << key.error().message;
    if (key->type() == KeyType::kEd25519) {
      // OpenSSH 9.2 cannot read PKCS#8 Ed25519: compare with the raw key OpenSSL prints.
      std::string raw = run("openssl pkey -in " + path +
                            " -pubout -outform DER | tail -c 32 | od -An -tx1 | tr -d ' \\n'");
      const Bytes& blob = key->public_key().blob();
      EXPECT_EQ(hex(ByteView(blob).last(32)), raw);
      continue;
    }
    std::string pub = run("ssh-keygen -y -f " + path + " 2>&1", &st);
    ASSERT_EQ(st, 0) << pub;
    EXPECT_EQ(pub.rfind(key->public_key().to_openssh_text(), 0), 0u) << cmd << "\n" << pub;
    auto sig = key->sign(key->public_key().signature_algorithms()[0], to_bytes("m"));
    ASSERT_TRUE(sig);
    EXPECT_TRUE(key->public_key().verify(*sig, to_bytes("m")));
  }
}

TEST(SshKey, AlgorithmMustFitKeyType) {
  auto ed = PrivateKey::generate(KeyType::kEd25519);
  auto ec = PrivateKey::generate(KeyType::kEcdsaP256);
  auto ec384 = PrivateKey::generate(KeyType::kEcdsaP384);
  auto rsa = PrivateKey::generate(KeyType::kRsa, 1024);
  ASSERT_TRUE(ed && ec && ec384 && rsa);
  Bytes data = to_bytes("data");
  EXPECT_FALSE(ed->sign("rsa-sha2-256", data));
  EXPECT_FALSE(rsa->sign("ssh-ed25519", data));
  EXPECT_FALSE(ec->sign("ecdsa-sha2-nistp384", data));

  // A valid ECDSA P-256 signature presented under the P-384 name to a P-384 key fails, and a
  // valid signature relabelled with another algorithm name fails.
  auto sig = ec->sign("ecdsa-sha2-nistp256", data);
  ASSERT_TRUE(sig);
  EXPECT_FALSE(ec384->public_key().verify(*sig, data));
  auto rsa_sig = rsa->sign("rsa-sha2-256", data);
  ASSERT_TRUE(rsa_sig);
  Reader r(*rsa_sig);
  r.text();
  ByteView raw = r.string();
  Writer relabelled;
  relabelled.string("rsa-sha2-512").string(raw);
  std::string alg;
  EXPECT_FALSE(rsa->public_key().verify(relabelled.buffer(), data, &alg));
  EXPECT_EQ(alg, "rsa-sha2-512");
  Writer as_ed;
  as_ed.string("ssh-ed25519").string(raw);
  EXPECT_FALSE(rsa->public_key().verify(as_ed.buffer(), data));
  // An Ed25519 signature shown to an RSA key.
  auto ed_sig = ed->sign("ssh-ed25519", data);
  ASSERT_TRUE(ed_sig);
  EXPECT_FALSE(rsa->public_key().verify(*ed_sig, data));
  EXPECT_FALSE(ec->public_key().verify(*ed_sig, data));
}

TEST(SshKey, BadBlobsAreErrors) {
  auto ec = PrivateKey::generate(KeyType::kEcdsaP256);
  auto ed = PrivateKey::generate(KeyType::kEd25519);
  auto rsa = PrivateKey::generate(KeyType::kRsa, 1024);
  ASSERT_TRUE(ec && ed && rsa);
  for (const PrivateKey* k : {&*ec, &*ed, &*rsa}) {
    const Bytes& blob = k->public_key().blob();
    EXPECT_TRUE(PublicKey::from_blob(blob));
    for (size_t n = 0; n < blob.size(); ++n)
      EXPECT_FALSE(PublicKey::from_blob(ByteView(blob.data(), n))) << n;
    Bytes trailing = blob;
    trailing.push_back(0);
    EXPECT_FALSE(PublicKey::from_blob(trailing));
  }
  Writer unknown;
  unknown.string("ssh-dss").string("x");
  EXPECT_FALSE(PublicKey::from_blob(unknown.buffer()));
  EXPECT_FALSE(PublicKey::from_blob(Bytes{}));
  Bytes huge{0xff, 0xff, 0xff, 0xff};
  EXPECT_FALSE(PublicKey::from_blob(huge));

  // Point not on the curve: change the last byte of y.
  Bytes off_curve = ec->public_key().blob();
  off_curve.back() ^= 1;
  auto bad = PublicKey::from_blob(off_curve);
  ASSERT_FALSE(bad);
  // A compressed point, and a curve name that disagrees with the type.
  Reader r(ec->public_key().blob());
  r.text();
  r.text();
  ByteView point = r.string();
  Writer compressed;
  compressed.string("ecdsa-sha2-nistp256").string("nistp256").string(point.first(33));
  EXPECT_FALSE(PublicKey::from_blob(compressed.buffer()));
  Writer mismatch;
  mismatch.string("ecdsa-sha2-nistp256").string("nistp384").string(point);
  EXPECT_FALSE(PublicKey::from_blob(mismatch.buffer()));
  Writer zeros;
  zeros.string("ecdsa-sha2-nistp256").string("nistp256").string(Bytes(65, 0));
  EXPECT_FALSE(PublicKey::from_blob(zeros.buffer()));

  // Ed25519 of the wrong length.
  Writer short_ed;
  short_ed.string("ssh-ed25519").string(Bytes(31, 1));
  EXPECT_FALSE(PublicKey::from_blob(short_ed.buffer()));

  // RSA below 1024 bits is refused at parse.
  Bytes n512(64, 0xc5);
  n512.back() |= 1;
  Writer small;
  small.string("ssh-rsa").mpint_unsigned(Bytes{1, 0, 1}).mpint_unsigned(n512);
  auto small_key = PublicKey::from_blob(small.buffer());
  ASSERT_FALSE(small_key);
  EXPECT_NE(small_key.error().message.find("too small"), std::string::npos);
  // A negative mpint.
  Writer negative;
  negative.string("ssh-rsa").mpint_unsigned(Bytes{1, 0, 1}).u32(129).u8(0x80).raw(Bytes(128, 1));
  EXPECT_FALSE(PublicKey::from_blob(negative.buffer()));
}

TEST(SshKey, OpensshTextParsing) {
  auto ed = PrivateKey::generate(KeyType::kEd25519);
  ASSERT_TRUE(ed);
  std::string text = ed->public_key().to_openssh_text();
  EXPECT_TRUE(PublicKey::from_openssh_text(text));
  EXPECT_TRUE(PublicKey::from_openssh_text(text + " a comment with spaces\n"));
  EXPECT_TRUE(PublicKey::from_openssh_text("  " + text + "\t"));
  EXPECT_FALSE(PublicKey::from_openssh_text("ssh-rsa" + text.substr(11)));  // type mismatch
  EXPECT_FALSE(PublicKey::from_openssh_text("ssh-ed25519"));
  EXPECT_FALSE(PublicKey::from_openssh_text("ssh-ed25519 !!!!"));
  EXPECT_FALSE(PublicKey::from_openssh_text(""));
}

TEST(SshKey, ReadFieldsRebuildsTheBlob) {
  // Certificates embed a key's fields after other data: read_fields must consume exactly those
  // fields and make the same key as the plain blob.
  auto dsa = PrivateKey::generate(KeyType::kDsa);
  auto ec = PrivateKey::generate(KeyType::kEcdsaP384);
  auto ed = PrivateKey::generate(KeyType::kEd25519);
  ASSERT_TRUE(dsa && ec && ed);
  for (const PrivateKey* k : {&*dsa, &*ec, &*ed}) {
    const Bytes& blob = k->public_key().blob();
    Reader plain(blob);
    std::string type(plain.text());
    Writer embedded;
    embedded.string("before").raw(plain.rest()).u32(7);
    Reader r(embedded.buffer());
    r.string();
    auto key = PublicKey::read_fields(type, r);
    ASSERT_TRUE(key) << key.error().message;
    EXPECT_EQ(*key, k->public_key());
    EXPECT_EQ(r.u32(), 7u);
    EXPECT_TRUE(r.done());
  }
  // A Reader views its bytes: they must outlive it (ASan found a temporary here).
  const Bytes empty, short_string{0, 0, 0, 9, 1};
  Reader none(empty);
  EXPECT_FALSE(PublicKey::read_fields("ssh-foo", none));
  Reader truncated(short_string);
  EXPECT_THROW((void)PublicKey::read_fields("ssh-ed25519", truncated), ProtocolError);
}

TEST(SshKey, SplitOpensshPublicText) {
  auto t = split_openssh_public_text("  ssh-ed25519 AAAA  comment here\n", 100);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->type, "ssh-ed25519");
  EXPECT_EQ(t->blob, (Bytes{0, 0, 0}));
  EXPECT_FALSE(split_openssh_public_text("ssh-ed25519", 100));
  EXPECT_FALSE(split_openssh_public_text("ssh-ed25519 AAAA", 3));
  EXPECT_FALSE(split_openssh_public_text("ssh-ed25519 A!AA", 100));
}

TEST(SshKey, EncryptedKeysGiveAClearError) {
  TempDir dir;
  int st = 0;
  run("ssh-keygen -q -t ed25519 -N secretpw -f " + (dir / "enc") + " 2>&1", &st);
  ASSERT_EQ(st, 0);
  auto key = PrivateKey::load_file(dir / "enc");
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().message.find("encrypted"), std::string::npos) << key.error().message;
  EXPECT_NE(key.error().message.find(dir / "enc"), std::string::npos);

  run("ssh-keygen -q -t ecdsa -m PEM -N secretpw -f " + (dir / "encpem") + " 2>&1", &st);
  ASSERT_EQ(st, 0);
  key = PrivateKey::load_file(dir / "encpem");
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().message.find("encrypted"), std::string::npos) << key.error().message;
}

TEST(SshKey, CorruptPrivateKeysAreErrors) {
  auto key = PrivateKey::generate(KeyType::kEd25519);
  ASSERT_TRUE(key);
  std::string text = key->to_openssh_text("c");
  EXPECT_TRUE(PrivateKey::parse(text));
  EXPECT_FALSE(PrivateKey::load_file("/nonexistent/key"));
  EXPECT_FALSE(PrivateKey::parse(""));
  EXPECT_FALSE(PrivateKey::parse("garbage"));
  // Decode, damage each byte in turn, re-encode: never a crash, never a wrong key.
  size_t begin = text.find('\n') + 1, end = text.find("-----END");
  std::string b64;
  for (char ch : text.substr(begin, end - begin))
    if (ch != '\n') b64 += ch;
  Bytes raw;
  ASSERT_TRUE(base64_decode(b64, raw));
  for (size_t i = 0; i < raw.size(); ++i) {
    Bytes damaged = raw;
    damaged[i] ^= 0x5a;
    std::string t = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + base64_encode(damaged) +
                    "\n-----END OPENSSH PRIVATE KEY-----\n";
    auto k = PrivateKey::parse(t);
    if (k) {
      EXPECT_EQ(k->public_key(), key->public_key()) << i;
    }
  }
  // Truncations.
  for (size_t n = 0; n < raw.size(); n += 5) {
    std::string t = "-----BEGIN OPENSSH PRIVATE KEY-----\n" +
                    base64_encode(ByteView(raw.data(), n)) +
                    "\n-----END OPENSSH PRIVATE KEY-----\n";
    EXPECT_FALSE(PrivateKey::parse(t)) << n;
  }
}

}  // namespace
}  // namespace postern
