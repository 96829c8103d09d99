#include "bastion/cert_issuer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "common/ssh_cert.h"
#include "common/wire.h"

namespace postern::bastion {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kNow = 1893456000;  // 2030-01-01T00:00:00Z

Bytes encoded_string(std::string_view s) {
  Writer w;
  w.string(s);
  return w.take();
}

class CertIssuerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/postern-cert-issuer.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    m_dir = tmpl;
  }
  void TearDown() override { fs::remove_all(m_dir); }

  static const PrivateKey& key(KeyType type) {
    static std::map<KeyType, PrivateKey> keys;
    auto it = keys.find(type);
    if (it == keys.end()) {
      auto k = PrivateKey::generate(type, 2048);
      if (!k) std::abort();
      it = keys.emplace(type, std::move(*k)).first;
    }
    return it->second;
  }

  static CertTemplate github_like() {
    CertTemplate t;
    t.name = "test";
    t.type = "openssh";
    t.key_id = "%P@postern from %R serial %S";
    t.extensions = {"permit-pty", "login@%H=%P", "permit-agent-forwarding"};
    return t;
  }

  static CertRequest request() {
    CertRequest r;
    r.target_host = "web1";
    r.client_address = "10.0.0.1";
    r.bastion_user = "alice";
    r.target_user = "root";
    r.session_id = "s-1234";
    r.now = kNow;
    r.validity = 300;
    return r;
  }

  static Certificate issue(const PrivateKey& ca, const CertTemplate& t, const PublicKey& k,
                           uint64_t serial = 42) {
    auto blob = issue_certificate(ca, t, k, request(), serial);
    EXPECT_TRUE(blob) << (blob ? "" : blob.error().message);
    if (!blob) std::abort();
    auto cert = Certificate::from_blob(*blob);
    EXPECT_TRUE(cert) << (cert ? "" : cert.error().message);
    if (!cert) std::abort();
    return std::move(*cert);
  }

  // Runs `ssh-keygen -L` on the certificate written as a -cert.pub file and returns its output.
  std::string keygen_listing(const Certificate& cert) {
    fs::path file = m_dir / "id-cert.pub";
    std::ofstream(file) << cert.to_openssh_text() << " comment\n";
    std::string cmd = "ssh-keygen -L -f " + file.string() + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return "";
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    EXPECT_EQ(pclose(p), 0) << out;
    return out;
  }

  fs::path m_dir;
};

TEST_F(CertIssuerTest, EveryCaTypeCertifiesEd25519AndEcdsaKeys) {
  struct Case {
    KeyType ca;
    const char* signature_algorithm;
  };
  for (const Case& c :
       {Case{KeyType::kEd25519, "ssh-ed25519"}, Case{KeyType::kEcdsaP384, "ecdsa-sha2-nistp384"},
        Case{KeyType::kRsa, "rsa-sha2-512"}}) {
    for (KeyType user : {KeyType::kEd25519, KeyType::kEcdsaP256, KeyType::kEcdsaP521}) {
      const PublicKey& k = key(user).public_key();
      Certificate cert = issue(key(c.ca), github_like(), k);
      SCOPED_TRACE(std::string(k.type_name()) + " by " + c.signature_algorithm);
      EXPECT_EQ(cert.key(), k);
      EXPECT_EQ(cert.signature_key(), key(c.ca).public_key());
      EXPECT_EQ(cert.signature_algorithm(), c.signature_algorithm);
      EXPECT_EQ(cert.cert_type(), CertType::kUser);
      EXPECT_EQ(cert.serial(), 42u);
      EXPECT_EQ(cert.key_id(), "alice@postern from 10.0.0.1 serial 42 session s-1234");
      EXPECT_EQ(cert.principals(), std::vector<std::string>{"root"});
      EXPECT_EQ(cert.valid_after(), kNow - 60);
      EXPECT_EQ(cert.valid_before(), kNow + 300);
      EXPECT_EQ(cert.nonce().size(), 32u);
      EXPECT_TRUE(cert.critical_options().empty());
      // Sorted by name, as PROTOCOL.certkeys requires; name=value data is an encoded string.
      ASSERT_EQ(cert.extensions().size(), 3u);
      EXPECT_EQ(cert.extensions()[0], (CertOption{"login@web1", encoded_string("alice")}));
      EXPECT_EQ(cert.extensions()[1], (CertOption{"permit-agent-forwarding", {}}));
      EXPECT_EQ(cert.extensions()[2], (CertOption{"permit-pty", {}}));
      EXPECT_TRUE(cert.permissions().permit_pty);
      EXPECT_FALSE(cert.permissions().permit_port_forwarding);
      CertCheck check;
      check.now = kNow;
      check.principal = "root";
      EXPECT_TRUE(check_certificate(cert, check).ok()) << check_certificate(cert, check).message;
    }
  }
}

TEST_F(CertIssuerTest, CertifiesRsaKeysAndSignsWithTheTemplatesRsaAlgorithm) {
  CertTemplate t = github_like();
  Certificate cert = issue(key(KeyType::kRsa), t, key(KeyType::kRsa).public_key());
  EXPECT_EQ(cert.type_name(), "ssh-rsa-cert-v01@openssh.com");
  EXPECT_EQ(cert.signature_algorithm(), "rsa-sha2-512");
  t.rsa_signature_types = {"rsa-sha2-256", "rsa-sha2-512"};
  EXPECT_EQ(issue(key(KeyType::kRsa), t, key(KeyType::kEd25519).public_key()).signature_algorithm(),
            "rsa-sha2-256");
  // Only an RSA CA reads rsa_signature_types.
  EXPECT_EQ(issue(key(KeyType::kEd25519), t, key(KeyType::kRsa).public_key()).signature_algorithm(),
            "ssh-ed25519");
  t.rsa_signature_types = {"rsa-sha1-please"};
  auto bad =
      issue_certificate(key(KeyType::kRsa), t, key(KeyType::kEd25519).public_key(), request(), 1);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("rsa-sha1-please"), std::string::npos);
}

TEST_F(CertIssuerTest, SshKeygenReadsTheCertificate) {
  if (access("/usr/bin/ssh-keygen", X_OK) != 0) GTEST_SKIP() << "ssh-keygen not installed";
  Certificate cert =
      issue(key(KeyType::kRsa), github_like(), key(KeyType::kEcdsaP256).public_key(), 77);
  std::string out = keygen_listing(cert);
  EXPECT_NE(out.find("Type: ecdsa-sha2-nistp256-cert-v01@openssh.com user certificate"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("Signing CA: RSA " + key(KeyType::kRsa).public_key().fingerprint_sha256() +
                     " (using rsa-sha2-512)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("Key ID: \"alice@postern from 10.0.0.1 serial 77 session s-1234\""),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("Serial: 77"), std::string::npos) << out;
  EXPECT_NE(out.find("Principals: \n                root\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Critical Options: (none)"), std::string::npos) << out;
  // ssh-keygen shows a name=value extension's data as the encoded string "alice".
  EXPECT_NE(out.find("login@web1 UNKNOWN OPTION: 00000005616c696365 (len 9)"), std::string::npos)
      << out;
  EXPECT_NE(out.find("                permit-pty"), std::string::npos) << out;
}

TEST_F(CertIssuerTest, PrincipalsFromTheTemplateAndKeyIdWithoutSession) {
  CertTemplate t = github_like();
  t.principals = {"%P", "ops-%H"};
  CertRequest r = request();
  r.session_id.clear();
  auto blob =
      issue_certificate(key(KeyType::kEd25519), t, key(KeyType::kEd25519).public_key(), r, 9);
  ASSERT_TRUE(blob) << blob.error().message;
  auto cert = Certificate::from_blob(*blob);
  ASSERT_TRUE(cert) << cert.error().message;
  EXPECT_EQ(cert->principals(), (std::vector<std::string>{"alice", "ops-web1"}));
  EXPECT_EQ(cert->key_id(), "alice@postern from 10.0.0.1 serial 9");
}

TEST_F(CertIssuerTest, RefusesWhatWouldMakeABadCertificate) {
  const PrivateKey& ca = key(KeyType::kEd25519);
  const PublicKey& k = key(KeyType::kEd25519).public_key();
  CertTemplate t = github_like();
  t.extensions = {"permit-pty", "permit-pty"};
  auto dup = issue_certificate(ca, t, k, request(), 1);
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message.find("permit-pty"), std::string::npos) << dup.error().message;

  t = github_like();
  t.extensions = {"login@%Q=x"};
  auto token = issue_certificate(ca, t, k, request(), 1);
  ASSERT_FALSE(token);
  EXPECT_NE(token.error().message.find("%Q"), std::string::npos) << token.error().message;

  CertRequest no_user = request();
  no_user.target_user.clear();
  EXPECT_FALSE(issue_certificate(ca, github_like(), k, no_user, 1));
  CertRequest no_time = request();
  no_time.validity = 0;
  EXPECT_FALSE(issue_certificate(ca, github_like(), k, no_time, 1));
}

TEST(ExpandTemplateTokens, SubstitutesEveryTokenAndNamesUnknownOnes) {
  CertRequest r;
  r.target_host = "web1";
  r.client_address = "192.0.2.7";
  r.bastion_user = "bob";
  auto s = expand_template_tokens("%P from %R to %H serial %S: 100%%", r, 123);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(*s, "bob from 192.0.2.7 to web1 serial 123: 100%");
  EXPECT_EQ(*expand_template_tokens("", r, 1), "");

  auto unknown = expand_template_tokens("id %u", r, 1);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("unknown token %u"), std::string::npos)
      << unknown.error().message;
  auto trailing = expand_template_tokens("id %", r, 1);
  ASSERT_FALSE(trailing);
  EXPECT_NE(trailing.error().message.find("'%' at the end"), std::string::npos);
}

TEST_F(CertIssuerTest, SerialsRiseAcrossCallsRestartsAndALostFile) {
  const std::string file = (m_dir / "ca_serial").string();
  auto first = next_serial(file, 1000);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(*first, uint64_t(1000) << 20);
  struct stat st {};
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  // Same second, and a clock that went back: last + 1.
  EXPECT_EQ(*next_serial(file, 1000), *first + 1);
  EXPECT_EQ(*next_serial(file, 900), *first + 2);
  // A "restarted" monitor reads the file afresh: still rising.
  auto after_restart = next_serial(file, 1000);
  ASSERT_TRUE(after_restart);
  EXPECT_EQ(*after_restart, *first + 3);

  // The file lost: the clock alone keeps serials above every one issued before.
  fs::remove(file);
  auto after_loss = next_serial(file, 1001);
  ASSERT_TRUE(after_loss);
  EXPECT_GT(*after_loss, *after_restart);
}

TEST_F(CertIssuerTest, ConcurrentMonitorsNeverShareASerial) {
  const std::string file = (m_dir / "ca_serial").string();
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  constexpr int kProcs = 4, kEach = 25;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      for (int i = 0; i < kEach; ++i) {
        auto s = next_serial(file, 5000);
        uint64_t v = s ? *s : 0;
        if (write(fds[1], &v, sizeof v) != ssize_t(sizeof v)) _exit(2);
      }
      _exit(0);
    }
  }
  close(fds[1]);
  std::set<uint64_t> seen;
  uint64_t v;
  while (read(fds[0], &v, sizeof v) == ssize_t(sizeof v)) {
    EXPECT_NE(v, 0u);
    EXPECT_TRUE(seen.insert(v).second) << "serial " << v << " issued twice";
  }
  close(fds[0]);
  for (int p = 0; p < kProcs; ++p) {
    int status = 0;
    wait(&status);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(seen.size(), size_t(kProcs * kEach));
  EXPECT_EQ(*seen.rbegin(), (uint64_t(5000) << 20) + kProcs * kEach - 1);
}

TEST_F(CertIssuerTest, CorruptOrUnreachableSerialFilesAreErrors) {
  const std::string file = (m_dir / "ca_serial").string();
  for (const char* content : {"garbage\n", "12x\n", "-5\n", " 7\n", "99999999999999999999999\n"}) {
    std::ofstream(file, std::ios::trunc) << content;
    auto s = next_serial(file, 1000);
    EXPECT_FALSE(s) << "accepted " << content;
    if (!s) {
      EXPECT_NE(s.error().message.find(file), std::string::npos);
    }
  }
  // The refused file is left as it was, for the administrator to look at.
  std::ifstream in(file);
  std::string kept;
  std::getline(in, kept);
  EXPECT_EQ(kept, "99999999999999999999999");

  // A hand-written number is taken as the last serial.
  std::ofstream(file, std::ios::trunc) << "123456789012345678\n";
  EXPECT_EQ(*next_serial(file, 1000), 123456789012345679u);

  auto no_dir = next_serial((m_dir / "missing" / "ca_serial").string(), 1000);
  ASSERT_FALSE(no_dir);
  EXPECT_NE(no_dir.error().message.find("No such file or directory"), std::string::npos);
}

}  // namespace
}  // namespace postern::bastion
