#include "common/krl.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/wire.h"

namespace postern {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// KRLs and certificates come from the real ssh-keygen (ssh-keygen -k, -s), one per spec line
// type, so the reader is checked against what OpenSSH writes.
class KrlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (access("/usr/bin/ssh-keygen", X_OK) != 0) return;
    char tmpl[] = "/tmp/postern-krl-test.XXXXXX";
    s_dir = mkdtemp(tmpl);
    for (const char* k : {"ca", "ca2", "k1", "k2", "k3", "k4"}) keygen(k);
  }
  static void TearDownTestSuite() {
    if (!s_dir.empty()) fs::remove_all(s_dir);
  }
  void SetUp() override {
    if (s_dir.empty()) GTEST_SKIP() << "ssh-keygen not installed";
  }

  static void keygen(const std::string& name) {
    std::string cmd = "ssh-keygen -q -N '' -t ed25519 -f " + path(name) + " </dev/null >/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  static std::string path(const std::string& name) { return (s_dir / name).string(); }
  static void run(const std::string& cmd) {
    ASSERT_EQ(std::system((cmd + " </dev/null >/dev/null 2>&1").c_str()), 0) << cmd;
  }

  static PublicKey pub(const std::string& name) {
    auto k = PublicKey::from_openssh_text(read_text(path(name + ".pub")));
    if (!k) std::abort();
    return std::move(*k);
  }
  static std::string pub_text(const std::string& name) { return read_text(path(name + ".pub")); }

  // A certificate for key `user` from `ca` with the given serial and key ID.
  static Certificate cert(const std::string& ca, const std::string& user, uint64_t serial,
                          const std::string& id = "id") {
    static int n = 0;
    std::string copy = path("c" + std::to_string(++n));
    fs::copy_file(path(user + ".pub"), copy + ".pub");
    run("ssh-keygen -q -s " + path(ca) + " -I " + id + " -n u -z " + std::to_string(serial) + " " +
        copy + ".pub");
    auto c = Certificate::from_openssh_text(read_text(copy + "-cert.pub"));
    if (!c) std::abort();
    return std::move(*c);
  }

  // Runs ssh-keygen -k over a spec file and loads the result.
  static RevocationList krl(const std::string& spec, const std::string& args = "-s ca.pub",
                            bool update = false, const std::string& name = "krl") {
    std::ofstream(path("spec")) << spec;
    std::string a = args;
    if (a.find("-s ") != a.npos) a = "-s " + path(a.substr(a.find("-s ") + 3));
    run("ssh-keygen -k " + std::string(update ? "-u " : "") + "-f " + path(name) + " " + a + " " +
        path("spec"));
    auto l = RevocationList::load_file(path(name));
    EXPECT_TRUE(l) << (l ? "" : l.error().message);
    if (!l) std::abort();
    EXPECT_TRUE(l->is_binary());
    return std::move(*l);
  }

  static fs::path s_dir;
};
fs::path KrlTest::s_dir;

TEST_F(KrlTest, SerialList) {
  RevocationList l = krl("serial: 5\nserial: 9\n");
  EXPECT_TRUE(l.is_revoked(cert("ca", "k1", 5)));
  EXPECT_EQ(l.revoked_part(cert("ca", "k1", 9)), RevokedPart::kCertificate);
  EXPECT_FALSE(l.is_revoked(cert("ca", "k1", 6)));
  EXPECT_FALSE(l.is_revoked(cert("ca", "k1", 0)));
  // Serials belong to their CA.
  EXPECT_FALSE(l.is_revoked(cert("ca2", "k1", 5)));
  // The plain key is not revoked by a certificate's serial.
  EXPECT_FALSE(l.is_revoked(pub("k1")));
}

TEST_F(KrlTest, SerialRange) {
  RevocationList l = krl("serial: 100-200\n");
  for (uint64_t s : {100, 150, 200}) EXPECT_TRUE(l.is_revoked(cert("ca", "k1", s))) << s;
  for (uint64_t s : {99, 201}) EXPECT_FALSE(l.is_revoked(cert("ca", "k1", s))) << s;
}

TEST_F(KrlTest, SerialBitmap) {
  // Every other serial in a dense span: ssh-keygen stores this as a bitmap.
  std::string spec;
  for (int s = 1000; s < 1400; s += 2) spec += "serial: " + std::to_string(s) + "\n";
  RevocationList l = krl(spec);
  // Sign many certificates in one ssh-keygen run, serials counting up from 990.
  std::string files;
  for (int i = 0; i < 420; ++i) {
    std::string f = path("bm" + std::to_string(i) + ".pub");
    fs::copy_file(path("k2.pub"), f);
    files += " " + f;
  }
  run("ssh-keygen -q -s " + path("ca") + " -I bm -n u -z +990" + files);
  for (int i = 0; i < 420; ++i) {
    auto c =
        Certificate::from_openssh_text(read_text(path("bm" + std::to_string(i) + "-cert.pub")));
    ASSERT_TRUE(c);
    uint64_t s = c->serial();
    ASSERT_EQ(s, uint64_t(990 + i));
    bool expect = s >= 1000 && s < 1400 && s % 2 == 0;
    EXPECT_EQ(l.is_revoked(*c), expect) << s;
  }
}

TEST_F(KrlTest, KeyIdForOneCaAndForAny) {
  RevocationList l = krl("id: bad-id\n");
  EXPECT_TRUE(l.is_revoked(cert("ca", "k1", 1, "bad-id")));
  EXPECT_FALSE(l.is_revoked(cert("ca", "k1", 1, "good-id")));
  EXPECT_FALSE(l.is_revoked(cert("ca2", "k1", 1, "bad-id")));
}

// A KRL header followed by the given section bytes.
Bytes krl_with(ByteView sections, uint32_t format = 1) {
  Writer w;
  w.raw(as_bytes(std::string_view("SSHKRL\n\0", 8))).u32(format).u64(1).u64(0).u64(0);
  w.string("").string("comment").raw(sections);
  return w.take();
}

Bytes section(uint8_t type, ByteView body) {
  Writer w;
  w.u8(type).string(body);
  return w.take();
}

TEST_F(KrlTest, KeyIdUnderAnyCa) {
  // PROTOCOL.krl §2: an empty CA key applies the section to every CA (ssh-keygen 9.2 cannot
  // write one, so build it).
  Writer ids;
  ids.string("bad-id").string("worse-id");
  Writer cs;
  cs.string("").string("").u8(0x23).string(ids.take());
  auto any = RevocationList::parse(krl_with(section(1, cs.take())));
  ASSERT_TRUE(any) << any.error().message;
  EXPECT_TRUE(any->is_revoked(cert("ca2", "k1", 1, "bad-id")));
  EXPECT_TRUE(any->is_revoked(cert("ca", "k1", 1, "worse-id")));
  EXPECT_FALSE(any->is_revoked(cert("ca2", "k1", 1, "other")));
}

TEST_F(KrlTest, ExplicitKey) {
  RevocationList l = krl("key: " + pub_text("k3"), "");
  EXPECT_TRUE(l.is_revoked(pub("k3")));
  EXPECT_FALSE(l.is_revoked(pub("k4")));
  // A certificate for a revoked key is revoked too.
  EXPECT_EQ(l.revoked_part(cert("ca", "k3", 3)), RevokedPart::kKey);
  EXPECT_FALSE(l.is_revoked(cert("ca", "k4", 3)));
}

TEST_F(KrlTest, Sha1AndSha256Hashes) {
  RevocationList l1 = krl("sha1: " + pub_text("k3"), "", false, "krl-sha1");
  EXPECT_TRUE(l1.is_revoked(pub("k3")));
  EXPECT_FALSE(l1.is_revoked(pub("k4")));
  EXPECT_TRUE(l1.is_revoked(cert("ca", "k3", 1)));
  RevocationList l256 = krl("sha256: " + pub_text("k4"), "", false, "krl-sha256");
  EXPECT_TRUE(l256.is_revoked(pub("k4")));
  EXPECT_FALSE(l256.is_revoked(pub("k3")));
  // "hash:" takes a fingerprint as sshd logs it.
  RevocationList lh = krl("hash: " + pub("k1").fingerprint_sha256() + "\n", "", false, "krl-hash");
  EXPECT_TRUE(lh.is_revoked(pub("k1")));
  EXPECT_FALSE(lh.is_revoked(pub("k2")));
}

TEST_F(KrlTest, PlainPublicKeyFilesAndRevokedCa) {
  run("ssh-keygen -k -f " + path("krl-plain") + " " + path("k2.pub") + " " + path("ca2.pub"));
  auto l = RevocationList::load_file(path("krl-plain"));
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_TRUE(l->is_revoked(pub("k2")));
  EXPECT_FALSE(l->is_revoked(pub("k1")));
  // Every certificate signed by a revoked CA key is revoked.
  EXPECT_EQ(l->revoked_part(cert("ca2", "k1", 7)), RevokedPart::kCaKey);
  EXPECT_FALSE(l->is_revoked(cert("ca", "k1", 7)));
}

TEST_F(KrlTest, UpdateKeepsEarlierEntriesAndHeader) {
  krl("serial: 5\n", "-s ca.pub -z 3", false, "krl-u");
  RevocationList l = krl("id: later\n", "-s ca.pub", true, "krl-u");
  EXPECT_TRUE(l.is_revoked(cert("ca", "k1", 5)));
  EXPECT_TRUE(l.is_revoked(cert("ca", "k1", 6, "later")));
  EXPECT_FALSE(l.is_revoked(cert("ca", "k1", 6)));
  RevocationList v = krl("serial: 1\n", "-s ca.pub -z 42", false, "krl-v");
  EXPECT_EQ(v.krl_version(), 42u);
  EXPECT_GT(v.generated_date(), 1600000000u);
}

TEST_F(KrlTest, TextList) {
  Certificate c = cert("ca2", "k4", 1);
  std::string text = "# revoked keys\n\n" + pub_text("k1") + "not a key line\n" + "  " +
                     c.to_openssh_text() + " a certificate\n" + pub_text("ca");
  std::ofstream(path("revoked.txt")) << text;
  auto l = RevocationList::load_file(path("revoked.txt"));
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_FALSE(l->is_binary());
  EXPECT_TRUE(l->is_revoked(pub("k1")));
  EXPECT_FALSE(l->is_revoked(pub("k2")));
  EXPECT_TRUE(l->is_revoked(pub("k4")));  // listed as a certificate
  EXPECT_EQ(l->revoked_part(cert("ca2", "k1", 2)), RevokedPart::kKey);
  EXPECT_EQ(l->revoked_part(cert("ca", "k2", 2)), RevokedPart::kCaKey);
  EXPECT_FALSE(l->is_revoked(cert("ca2", "k2", 2)));
  // An empty file revokes nothing.
  auto empty = RevocationList::parse({});
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->is_revoked(pub("k1")));
}

TEST_F(KrlTest, MissingFileIsAnError) {
  auto l = RevocationList::load_file(path("does-not-exist"));
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message.find("does-not-exist"), std::string::npos);
}

TEST(KrlMalformed, HeaderAndSections) {
  EXPECT_TRUE(RevocationList::parse(krl_with({})));
  EXPECT_FALSE(RevocationList::parse(krl_with({}, 2)));           // unknown format version
  EXPECT_FALSE(RevocationList::parse(krl_with(section(9, {}))));  // unknown section
  EXPECT_FALSE(RevocationList::parse(krl_with(section(2, {}))));  // explicit keys: none
  Bytes bad_hash = section(5, Writer().string("short").take());
  EXPECT_FALSE(RevocationList::parse(krl_with(bad_hash)));
  // A critical extension that is not understood makes the KRL unusable; a non-critical one is
  // ignored.
  Writer crit;
  crit.string("x@example.com").boolean(true).string("");
  EXPECT_FALSE(RevocationList::parse(krl_with(section(255, crit.take()))));
  Writer opt;
  opt.string("x@example.com").boolean(false).string("");
  EXPECT_TRUE(RevocationList::parse(krl_with(section(255, opt.take()))));
  // Inverted serial range inside a certificate section for any CA.
  Writer range;
  range.u64(9).u64(5);
  Writer cs;
  cs.string("").string("").u8(0x21).string(range.take());
  EXPECT_FALSE(RevocationList::parse(krl_with(section(1, cs.take()))));
  // Trailing garbage inside a section.
  Writer r2;
  r2.u64(1).u64(2).u8(0);
  Writer cs2;
  cs2.string("").string("").u8(0x21).string(r2.take());
  EXPECT_FALSE(RevocationList::parse(krl_with(section(1, cs2.take()))));
}

TEST_F(KrlTest, TruncatedAndCorruptedKrlsNeverCrash) {
  krl("serial: 5\nserial: 10-20\nid: x\n", "-s ca.pub", false, "krl-fuzz");
  std::string data = read_text(path("krl-fuzz"));
  krl("key: " + pub_text("k1") + "sha1: " + pub_text("k2") + "sha256: " + pub_text("k3"), "", false,
      "krl-fuzz2");
  data += read_text(path("krl-fuzz2")).substr(8 + 4 + 8 + 8 + 8 + 4 + 4);  // sections only
  Bytes bytes = to_bytes(data);
  ASSERT_TRUE(RevocationList::parse(bytes));
  for (size_t n = 8; n < bytes.size(); ++n) (void)RevocationList::parse(ByteView(bytes).first(n));
  for (size_t i = 8; i < bytes.size(); ++i) {
    Bytes bad = bytes;
    bad[i] ^= 0xff;
    (void)RevocationList::parse(bad);
  }
}

TEST_F(KrlTest, SignatureSection) {
  auto signer = PrivateKey::generate(KeyType::kEd25519);
  ASSERT_TRUE(signer);
  Writer w;
  w.raw(krl_with(section(2, Writer().string(ByteView(pub("k1").blob())).take())));
  w.u8(4).string(ByteView(signer->public_key().blob()));
  Bytes signed_part = w.buffer();
  auto sig = signer->sign("ssh-ed25519", signed_part);
  ASSERT_TRUE(sig);
  w.string(ByteView(*sig));
  Bytes good = w.take();
  auto l = RevocationList::parse(good);
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_TRUE(l->is_revoked(pub("k1")));

  Bytes tampered = good;
  tampered[tampered.size() - 1] ^= 1;
  EXPECT_FALSE(RevocationList::parse(tampered));
  Bytes after = good;
  Bytes extra = section(255, Writer().string("x").boolean(false).string("").take());
  after.insert(after.end(), extra.begin(), extra.end());
  EXPECT_FALSE(RevocationList::parse(after));
}

}  // namespace
}  // namespace postern
