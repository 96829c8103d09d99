// Security keys (PROTOCOL.u2f) as public keys, signatures and certificates, made at test time by
// ssh-keygen with OpenSSH's test authenticator (sk-dummy.so from openssh-tests).
#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/sk_provider.h"
#include "common/ssh_cert.h"
#include "common/ssh_key.h"
#include "common/wire.h"

namespace postern {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSkDummy = "/usr/lib/openssh/regress/misc/sk-dummy/sk-dummy.so";

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class SkKeyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (access("/usr/bin/ssh-keygen", X_OK) != 0 || access(kSkDummy, R_OK) != 0) return;
    char tmpl[] = "/tmp/postern-sk-test.XXXXXX";
    s_dir = mkdtemp(tmpl);
    setenv("SSH_SK_PROVIDER", kSkDummy, 1);
    run("ssh-keygen -q -N '' -t ed25519-sk -f " + path("sked"));
    run("ssh-keygen -q -N '' -t ecdsa-sk -f " + path("skec"));
    run("ssh-keygen -q -N '' -t ed25519-sk -O no-touch-required -f " + path("notouch"));
    run("ssh-keygen -q -N '' -t ed25519-sk -O application=ssh:other -f " + path("app"));
    run("ssh-keygen -q -N '' -t ed25519 -f " + path("ca"));
    run("ssh-keygen -q -N '' -t ed25519 -f " + path("plain"));
  }
  static void TearDownTestSuite() {
    if (!s_dir.empty()) fs::remove_all(s_dir);
  }
  void SetUp() override {
    if (s_dir.empty()) GTEST_SKIP() << "ssh-keygen or sk-dummy.so (openssh-tests) missing";
  }
  static std::string path(const std::string& name) { return (s_dir / name).string(); }
  static void run(const std::string& cmd) {
    ASSERT_EQ(std::system((cmd + " </dev/null >/dev/null 2>&1").c_str()), 0) << cmd;
  }
  static PublicKey pub(const std::string& name) {
    auto k = PublicKey::from_openssh_text(read_text(path(name + ".pub")));
    EXPECT_TRUE(k) << (k ? "" : k.error().message);
    if (!k) std::abort();
    return std::move(*k);
  }

  // ssh-keygen -Y sign: returns the SSH signature blob and the data it covers (the SSHSIG
  // signed-data structure, PROTOCOL.sshsig).
  static std::pair<Bytes, Bytes> sshsig(const std::string& key, const std::string& message) {
    std::ofstream(path("msg")) << message;
    fs::remove(path("msg.sig"));
    run("ssh-keygen -Y sign -f " + path(key) + " -n test " + path("msg"));
    std::string armoured = read_text(path("msg.sig")), b64;
    std::istringstream lines(armoured);
    for (std::string line; std::getline(lines, line);)
      if (line.find("-----") == std::string::npos) b64 += line;
    Bytes blob;
    if (!base64_decode(b64, blob)) std::abort();
    Reader r(blob);
    r.raw(6);  // "SSHSIG"
    r.u32();   // version
    r.string();
    std::string ns(r.text()), reserved(r.text()), hash(r.text());
    ByteView sig = r.string();
    uint8_t h[SHA512_DIGEST_LENGTH];
    SHA512(reinterpret_cast<const uint8_t*>(message.data()), message.size(), h);
    if (hash != "sha512") std::abort();
    Writer signed_data;
    signed_data.raw(as_bytes("SSHSIG")).string(ns).string(reserved).string(hash);
    signed_data.string(ByteView(h, sizeof h));
    return {Bytes(sig.begin(), sig.end()), signed_data.take()};
  }

  static fs::path s_dir;
};
fs::path SkKeyTest::s_dir;

TEST_F(SkKeyTest, PublicKeys) {
  PublicKey ed = pub("sked"), ec = pub("skec");
  EXPECT_EQ(ed.type(), KeyType::kSkEd25519);
  EXPECT_EQ(ed.type_name(), "sk-ssh-ed25519@openssh.com");
  EXPECT_EQ(ed.log_name(), "ED25519-SK");
  EXPECT_EQ(ed.sk_application(), "ssh:");
  EXPECT_TRUE(ed.is_security_key());
  EXPECT_EQ(ed.bits(), 256u);
  EXPECT_EQ(ec.type(), KeyType::kSkEcdsaP256);
  EXPECT_EQ(ec.log_name(), "ECDSA-SK");
  EXPECT_EQ(ec.bits(), 256u);
  EXPECT_EQ(pub("app").sk_application(), "ssh:other");
  EXPECT_FALSE(pub("plain").is_security_key());
  EXPECT_EQ(pub("plain").sk_application(), "");
  EXPECT_EQ(ed.signature_algorithms(), std::vector<std::string>{"sk-ssh-ed25519@openssh.com"});
  // The fingerprint is ssh-keygen's.
  FILE* p = popen(("ssh-keygen -l -f " + path("sked.pub")).c_str(), "r");
  char line[512] = {};
  ASSERT_TRUE(fgets(line, sizeof line, p));
  pclose(p);
  EXPECT_NE(std::string(line).find(ed.fingerprint_sha256()), std::string::npos);
  // The private halves live in the authenticator.
  EXPECT_FALSE(PrivateKey::generate(KeyType::kSkEd25519));
}

TEST_F(SkKeyTest, SignaturesVerifyWithFlags) {
  for (const char* name : {"sked", "skec", "app"}) {
    SCOPED_TRACE(name);
    PublicKey k = pub(name);
    auto [sig, data] = sshsig(name, "hello");
    std::string alg;
    EXPECT_TRUE(k.verify(sig, data, &alg));
    EXPECT_EQ(alg, k.type_name());
    SkSignature sk;
    EXPECT_TRUE(k.verify(sig, data, nullptr, &sk));
    EXPECT_TRUE(sk.flags & SkSignature::kUserPresent);
    // Wrong data, tampered flags or counter, another key: all fail.
    Bytes other = data;
    other.back() ^= 1;
    EXPECT_FALSE(k.verify(sig, other));
    Bytes bad = sig;
    bad[bad.size() - 5] ^= 0x04;  // flags
    EXPECT_FALSE(k.verify(bad, data, nullptr, &sk));
    bad = sig;
    bad.back() ^= 1;  // counter
    EXPECT_FALSE(k.verify(bad, data, nullptr, &sk));
    EXPECT_FALSE(pub("plain").verify(sig, data));
  }
}

TEST_F(SkKeyTest, NoTouchSignaturesNeedTheCallersConsent) {
  PublicKey k = pub("notouch");
  auto [sig, data] = sshsig("notouch", "no touch");
  // Without user presence, plain verify refuses; a caller that checks flags sees why.
  EXPECT_FALSE(k.verify(sig, data));
  SkSignature sk;
  EXPECT_TRUE(k.verify(sig, data, nullptr, &sk));
  EXPECT_FALSE(sk.flags & SkSignature::kUserPresent);
}

TEST_F(SkKeyTest, Certificates) {
  for (const auto& [name, type] :
       {std::pair<const char*, const char*>{"sked", "sk-ssh-ed25519-cert-v01@openssh.com"},
        {"skec", "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com"}}) {
    SCOPED_TRACE(name);
    fs::copy_file(path(std::string(name) + ".pub"), path(std::string(name) + "-u.pub"));
    run("ssh-keygen -q -s " + path("ca") + " -I skc -n alice -O no-touch-required " +
        path(std::string(name) + "-u.pub"));
    auto c = Certificate::from_openssh_text(read_text(path(std::string(name) + "-u-cert.pub")));
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->type_name(), type);
    EXPECT_EQ(c->key(), pub(name));
    EXPECT_EQ(c->key().sk_application(), "ssh:");
    EXPECT_TRUE(c->permissions().no_touch_required);
    EXPECT_EQ(c->log_name(), std::string(pub(name).log_name()) + "-CERT");
    EXPECT_EQ(certificate_signature_algorithm(type), pub(name).type_name());
  }
  // A security key as the CA.
  run("ssh-keygen -q -s " + path("sked") + " -I byskca -n alice " + path("plain.pub"));
  auto c = Certificate::from_openssh_text(read_text(path("plain-cert.pub")));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->signature_key(), pub("sked"));
  EXPECT_EQ(c->signature_algorithm(), "sk-ssh-ed25519@openssh.com");
  Bytes tampered = c->blob();
  tampered[tampered.size() / 2] ^= 1;
  EXPECT_FALSE(Certificate::from_blob(tampered));
}

// PROTOCOL.u2f "SSH U2F private key format": the key file names the credential; signing goes
// through the provider, and the client's check (verify) accepts what it returns.
TEST_F(SkKeyTest, PrivateKeysSignThroughTheProvider) {
  for (const char* name : {"sked", "skec", "app"}) {
    SCOPED_TRACE(name);
    auto k = PrivateKey::load_file(path(name));
    ASSERT_TRUE(k) << k.error().message;
    ASSERT_NE(k->security_key(), nullptr);
    EXPECT_EQ(k->public_key(), pub(name));
    EXPECT_EQ(k->security_key()->application, pub(name).sk_application());
    EXPECT_EQ(k->security_key()->flags & 0x01, 0x01);  // user presence required
    EXPECT_FALSE(k->security_key()->key_handle.empty());
    std::string alg(k->public_key().type_name());
    Bytes data(as_bytes(std::string_view("exchange hash")).begin(),
               as_bytes(std::string_view("exchange hash")).end());
    EXPECT_FALSE(k->sign(alg, data));  // no provider configured
    k->set_security_key_provider(kSkDummy);
    auto sig = k->sign(alg, data);
    ASSERT_TRUE(sig) << sig.error().message;
    SkSignature sk;
    EXPECT_TRUE(k->public_key().verify(*sig, data, nullptr, &sk));
    EXPECT_TRUE(sk.flags & SkSignature::kUserPresent);
    EXPECT_FALSE(k->sign("ssh-ed25519", data));
    // The record round-trips.
    auto again = PrivateKey::parse(k->to_openssh_text("c"));
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(again->public_key(), k->public_key());
    EXPECT_EQ(again->security_key()->key_handle, k->security_key()->key_handle);
  }
}

TEST_F(SkKeyTest, ProviderPathsAreChecked) {
  EXPECT_FALSE(check_sk_provider_path("sk-dummy.so"));
  EXPECT_FALSE(check_sk_provider_path(path("missing.so")));
  EXPECT_TRUE(check_sk_provider_path(kSkDummy));
  fs::copy_file(kSkDummy, path("p.so"), fs::copy_options::overwrite_existing);
  fs::permissions(path("p.so"), fs::perms(0755));
  EXPECT_TRUE(check_sk_provider_path(path("p.so")));
  fs::permissions(path("p.so"), fs::perms(0757));
  EXPECT_FALSE(check_sk_provider_path(path("p.so")));
  fs::permissions(path("p.so"), fs::perms(0775));
  EXPECT_FALSE(check_sk_provider_path(path("p.so")));
  auto k = PrivateKey::load_file(path("sked"));
  ASSERT_TRUE(k);
  k->set_security_key_provider(path("p.so"));
  EXPECT_FALSE(k->sign("sk-ssh-ed25519@openssh.com", Bytes(4, 1)));
  // Not a provider at all.
  k->set_security_key_provider("/bin/true");
  EXPECT_FALSE(k->sign("sk-ssh-ed25519@openssh.com", Bytes(4, 1)));
}

// An unencrypted openssh-key-v1 container (PROTOCOL.key) around one private record.
std::string container(ByteView pub_blob, ByteView record) {
  Writer priv;
  priv.u32(7).u32(7).raw(record).string("comment");
  for (uint8_t pad = 1; priv.buffer().size() % 8; ++pad) priv.u8(pad);
  Writer w;
  w.raw(as_bytes(std::string_view("openssh-key-v1\0", 15)));
  w.string("none").string("none").string("").u32(1).string(pub_blob).string(priv.buffer());
  return "-----BEGIN OPENSSH PRIVATE KEY-----\n" + base64_encode(w.buffer()) +
         "\n-----END OPENSSH PRIVATE KEY-----\n";
}

TEST(SkPrivateRecords, GoodBadAndTruncated) {
  Writer pubw;
  Bytes pk(32, 0);
  pk[0] = 9;  // any 32 bytes are an Ed25519 public key to OpenSSL
  pubw.string("sk-ssh-ed25519@openssh.com").string(ByteView(pk)).string("ssh:");
  Bytes pub_blob = pubw.take();
  auto record = [&](ByteView blob, uint8_t flags, ByteView handle, ByteView reserved) {
    Writer r;
    r.raw(blob).u8(flags).string(handle).string(reserved);
    return r.take();
  };
  Bytes handle(40, 0xab);
  Bytes good = record(pub_blob, 0x05, handle, {});
  auto k = PrivateKey::parse(container(pub_blob, good));
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(k->type(), KeyType::kSkEd25519);
  EXPECT_EQ(k->security_key()->flags, 0x05);
  EXPECT_EQ(k->security_key()->key_handle, handle);
  EXPECT_EQ(k->security_key()->application, "ssh:");

  // Every truncation of the record fails, none crashes.
  for (size_t n = 0; n < good.size(); ++n)
    EXPECT_FALSE(PrivateKey::parse(container(pub_blob, ByteView(good).first(n)))) << n;
  // An empty key handle names no credential.
  EXPECT_FALSE(PrivateKey::parse(container(pub_blob, record(pub_blob, 1, {}, {}))));
  // The container's public key must be the record's.
  Bytes other_pk = pk;
  other_pk[1] = 1;
  Writer otherw;
  otherw.string("sk-ssh-ed25519@openssh.com").string(ByteView(other_pk)).string("ssh:");
  EXPECT_FALSE(PrivateKey::parse(container(otherw.buffer(), good)));
  // An application with a NUL cannot reach the provider as a C string.
  Writer nulw;
  nulw.string("sk-ssh-ed25519@openssh.com").string(ByteView(pk));
  nulw.string(std::string_view("ssh:\0x", 6));
  Bytes nul_blob = nulw.take();
  EXPECT_FALSE(PrivateKey::parse(container(nul_blob, record(nul_blob, 1, handle, {}))));
  // An oversized key handle is refused before it is copied.
  EXPECT_FALSE(PrivateKey::parse(container(pub_blob, record(pub_blob, 1, Bytes(2000, 1), {}))));
  // A bad ECDSA point in an sk-ecdsa record.
  Writer ecw;
  ecw.string("sk-ecdsa-sha2-nistp256@openssh.com").string("nistp256");
  ecw.string(ByteView(Bytes(65, 4))).string("ssh:");
  Bytes ec_blob = ecw.take();
  EXPECT_FALSE(PrivateKey::parse(container(ec_blob, record(ec_blob, 1, handle, {}))));
}

TEST(SkKeyBlobs, MalformedAreErrors) {
  Writer w;
  w.string("sk-ssh-ed25519@openssh.com").string(ByteView(Bytes(32, 1)));
  EXPECT_FALSE(PublicKey::from_blob(w.buffer()));  // no application
  Writer w2;
  w2.string("sk-ssh-ed25519@openssh.com").string(ByteView(Bytes(31, 1))).string("ssh:");
  EXPECT_FALSE(PublicKey::from_blob(w2.buffer()));
  Writer w3;
  w3.string("sk-ecdsa-sha2-nistp256@openssh.com").string("nistp384").string(ByteView(Bytes(65, 4)));
  w3.string("ssh:");
  EXPECT_FALSE(PublicKey::from_blob(w3.buffer()));
}

}  // namespace
}  // namespace postern
