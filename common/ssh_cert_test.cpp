#include "common/ssh_cert.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace postern {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t k2020 = 1577836800;  // 2020-01-01T00:00:00Z
constexpr uint64_t k2030 = 1893456000;  // 2030-01-01T00:00:00Z

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Certificates are made at test time by the real ssh-keygen, so the parser is checked against
// what OpenSSH writes rather than against our own encoder.
class SshCertTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (access("/usr/bin/ssh-keygen", X_OK) != 0) return;
    char tmpl[] = "/tmp/postern-cert-test.XXXXXX";
    s_dir = mkdtemp(tmpl);
    keygen("ca_ed25519", "-t ed25519");
    keygen("ca_ecdsa", "-t ecdsa -b 384");
    keygen("ca_rsa", "-t rsa -b 2048");
    keygen("user_ed25519", "-t ed25519");
    keygen("user_ecdsa256", "-t ecdsa -b 256");
    keygen("user_ecdsa384", "-t ecdsa -b 384");
    keygen("user_ecdsa521", "-t ecdsa -b 521");
    keygen("user_rsa", "-t rsa -b 2048");
    keygen("user_dsa", "-t dsa");
    keygen("ca_dsa", "-t dsa");
  }
  static void TearDownTestSuite() {
    if (!s_dir.empty()) fs::remove_all(s_dir);
  }
  void SetUp() override {
    if (s_dir.empty()) GTEST_SKIP() << "ssh-keygen not installed";
  }

  static void keygen(const std::string& name, const std::string& args) {
    std::string cmd =
        "ssh-keygen -q -N '' " + args + " -f " + (s_dir / name).string() + " </dev/null >/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }

  // Signs user key `user` with CA `ca` and returns the certificate text.
  static std::string sign(const std::string& ca, const std::string& user, const std::string& args) {
    static int n = 0;
    fs::path copy = s_dir / ("signed" + std::to_string(++n));
    fs::copy_file(s_dir / (user + ".pub"), copy.string() + ".pub");
    std::string cmd = "ssh-keygen -q -s " + (s_dir / ca).string() + " " + args + " " +
                      copy.string() + ".pub </dev/null >/dev/null 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return read_text(copy.string() + "-cert.pub");
  }

  static Certificate parse(const std::string& text) {
    auto c = Certificate::from_openssh_text(text);
    EXPECT_TRUE(c) << (c ? "" : c.error().message);
    if (!c) std::abort();
    return std::move(*c);
  }

  static PublicKey pub(const std::string& name) {
    auto k = PublicKey::from_openssh_text(read_text(s_dir / (name + ".pub")));
    if (!k) std::abort();
    return std::move(*k);
  }

  static CertCheck user_check(const std::string& name, uint64_t now = k2020 + 100) {
    CertCheck c;
    c.type = CertType::kUser;
    c.now = now;
    c.principal = name;
    c.user = name;
    return c;
  }

  static fs::path s_dir;
};
fs::path SshCertTest::s_dir;

TEST_F(SshCertTest, EveryKeyTypeUnderEveryCa) {
  const std::pair<const char*, const char*> users[] = {
      {"user_ed25519", "ssh-ed25519-cert-v01@openssh.com"},
      {"user_ecdsa256", "ecdsa-sha2-nistp256-cert-v01@openssh.com"},
      {"user_ecdsa384", "ecdsa-sha2-nistp384-cert-v01@openssh.com"},
      {"user_ecdsa521", "ecdsa-sha2-nistp521-cert-v01@openssh.com"},
      {"user_rsa", "ssh-rsa-cert-v01@openssh.com"},
      {"user_dsa", "ssh-dss-cert-v01@openssh.com"},
  };
  for (const char* ca : {"ca_ed25519", "ca_ecdsa", "ca_rsa", "ca_dsa"}) {
    for (const auto& [user, type] : users) {
      SCOPED_TRACE(std::string(ca) + " signs " + user);
      Certificate c = parse(sign(ca, user, "-I id -n alice"));
      EXPECT_EQ(c.type_name(), type);
      EXPECT_EQ(c.key(), pub(user));
      EXPECT_EQ(c.signature_key(), pub(ca));
      EXPECT_EQ(c.fingerprint_sha256(), pub(user).fingerprint_sha256());
      EXPECT_TRUE(check_certificate(c, user_check("alice", uint64_t(time(nullptr)))).ok());
      // Round trip through the text form.
      auto again = Certificate::from_openssh_text(c.to_openssh_text() + " comment");
      ASSERT_TRUE(again);
      EXPECT_EQ(*again, c);
    }
  }
}

TEST_F(SshCertTest, EveryFieldAsSshKeygenWroteIt) {
  Certificate c = parse(
      sign("ca_ed25519", "user_ecdsa256",
           "-I 'key id with spaces' -n alice,bob,carol -z 4242 -V 20200101000000Z:20300101000000Z "
           "-O force-command=/usr/bin/true -O source-address=10.0.0.0/8,::1/128 "
           "-O no-pty -O no-x11-forwarding"));
  EXPECT_EQ(c.cert_type(), CertType::kUser);
  EXPECT_EQ(c.key_id(), "key id with spaces");
  EXPECT_EQ(c.serial(), 4242u);
  EXPECT_EQ(c.principals(), (std::vector<std::string>{"alice", "bob", "carol"}));
  EXPECT_TRUE(c.has_principal("bob"));
  EXPECT_FALSE(c.has_principal("bo"));
  EXPECT_EQ(c.valid_after(), k2020);
  EXPECT_EQ(c.valid_before(), k2030);
  ASSERT_TRUE(c.force_command());
  EXPECT_EQ(*c.force_command(), "/usr/bin/true");
  ASSERT_TRUE(c.source_address());
  EXPECT_EQ(*c.source_address(), "10.0.0.0/8,::1/128");
  EXPECT_FALSE(c.verify_required());
  EXPECT_TRUE(c.unknown_critical_options().empty());
  ASSERT_EQ(c.critical_options().size(), 2u);
  EXPECT_EQ(c.critical_options()[0].name, "force-command");
  EXPECT_EQ(c.critical_options()[1].name, "source-address");
  CertPermissions p;
  p.permit_agent_forwarding = p.permit_port_forwarding = p.permit_user_rc = true;
  EXPECT_EQ(c.permissions(), p);
  EXPECT_FALSE(c.nonce().empty());
  EXPECT_EQ(c.signature_algorithm(), "ssh-ed25519");
  EXPECT_EQ(c.log_name(), "ECDSA-CERT");
  EXPECT_EQ(c.log_description(), "ECDSA-CERT " + c.fingerprint_sha256() +
                                     " ID key id with spaces (serial 4242) CA ED25519 " +
                                     pub("ca_ed25519").fingerprint_sha256());
}

TEST_F(SshCertTest, ExtensionsDefaultClearAndSecurityKeyFlags) {
  Certificate d = parse(sign("ca_ed25519", "user_ed25519", "-I d -n a"));
  CertPermissions all;
  all.permit_x11_forwarding = all.permit_agent_forwarding = all.permit_port_forwarding =
      all.permit_pty = all.permit_user_rc = true;
  EXPECT_EQ(d.permissions(), all);

  Certificate c = parse(sign("ca_ed25519", "user_ed25519",
                             "-I c -n a -O clear -O permit-pty -O no-touch-required "
                             "-O verify-required -O extension:custom@example.com=v"));
  CertPermissions p;
  p.permit_pty = p.no_touch_required = true;
  EXPECT_EQ(c.permissions(), p);
  EXPECT_TRUE(c.verify_required());
  bool custom = false;
  for (const auto& e : c.extensions())
    if (e.name == "custom@example.com") custom = true;
  EXPECT_TRUE(custom);
}

TEST_F(SshCertTest, ValidityWindow) {
  Certificate c =
      parse(sign("ca_ed25519", "user_ed25519", "-I w -n alice -V 20200101000000Z:20300101000000Z"));
  EXPECT_EQ(check_certificate(c, user_check("alice", k2020 - 1)).failure,
            CertFailure::kNotYetValid);
  EXPECT_EQ(check_certificate(c, user_check("alice", k2020 - 1)).message,
            "Certificate invalid: not yet valid");
  EXPECT_TRUE(check_certificate(c, user_check("alice", k2020)).ok());
  EXPECT_TRUE(check_certificate(c, user_check("alice", k2030 - 1)).ok());
  auto v = check_certificate(c, user_check("alice", k2030));
  EXPECT_EQ(v.failure, CertFailure::kExpired);
  EXPECT_EQ(v.message, "Certificate invalid: expired");

  Certificate forever = parse(sign("ca_ed25519", "user_ed25519", "-I f -n alice"));
  EXPECT_EQ(forever.valid_after(), 0u);
  EXPECT_EQ(forever.valid_before(), UINT64_MAX);
  EXPECT_TRUE(check_certificate(forever, user_check("alice", UINT64_MAX - 1)).ok());
}

TEST_F(SshCertTest, Principals) {
  Certificate c = parse(sign("ca_ed25519", "user_ed25519", "-I p -n alice,bob"));
  EXPECT_TRUE(check_certificate(c, user_check("bob")).ok());
  auto v = check_certificate(c, user_check("root"));
  EXPECT_EQ(v.failure, CertFailure::kPrincipal);
  EXPECT_EQ(v.message, "Certificate invalid: name is not a listed principal");
  // No name to check (AuthorizedPrincipalsFile decides).
  CertCheck skip = user_check("root");
  skip.principal.reset();
  EXPECT_TRUE(check_certificate(c, skip).ok());

  Certificate none = parse(sign("ca_ed25519", "user_ed25519", "-I none"));
  EXPECT_TRUE(none.principals().empty());
  v = check_certificate(none, user_check("root"));
  EXPECT_EQ(v.failure, CertFailure::kNoPrincipals);
  EXPECT_EQ(v.message, "Certificate lacks principal list");
  CertCheck lax = user_check("root");
  lax.require_principals = false;
  EXPECT_TRUE(check_certificate(none, lax).ok());
}

TEST_F(SshCertTest, HostVersusUser) {
  Certificate h = parse(sign("ca_ed25519", "user_ed25519", "-h -I host -n server.example.com"));
  EXPECT_EQ(h.cert_type(), CertType::kHost);
  auto v = check_certificate(h, user_check("server.example.com"));
  EXPECT_EQ(v.failure, CertFailure::kWrongType);
  EXPECT_EQ(v.message, "Certificate invalid: not a user certificate");
  CertCheck hc = user_check("server.example.com");
  hc.type = CertType::kHost;
  EXPECT_TRUE(check_certificate(h, hc).ok());

  Certificate u = parse(sign("ca_ed25519", "user_ed25519", "-I user -n alice"));
  hc.principal = "alice";
  v = check_certificate(u, hc);
  EXPECT_EQ(v.failure, CertFailure::kWrongType);
  EXPECT_EQ(v.message, "Certificate invalid: not a host certificate");
}

TEST_F(SshCertTest, SourceAddress) {
  Certificate c = parse(sign("ca_ed25519", "user_ed25519",
                             "-I s -n root -O source-address=10.0.0.0/8,2001:db8::/32"));
  CertCheck k = user_check("root");
  k.client_address = "10.1.2.3";
  EXPECT_TRUE(check_certificate(c, k).ok());
  k.client_address = "2001:db8::7";
  EXPECT_TRUE(check_certificate(c, k).ok());
  k.client_address = "::ffff:10.9.8.7";  // IPv4 client on a dual-stack socket
  EXPECT_TRUE(check_certificate(c, k).ok());
  k.client_address = "127.0.0.1";
  auto v = check_certificate(c, k);
  EXPECT_EQ(v.failure, CertFailure::kSourceAddress);
  EXPECT_EQ(v.message,
            "Authentication tried for root with valid certificate but not from a permitted "
            "source address (127.0.0.1).");
  // Without a client address the check is skipped (e.g. host certificates).
  k.client_address.reset();
  EXPECT_TRUE(check_certificate(c, k).ok());
}

TEST_F(SshCertTest, UnknownCriticalOptionRefused) {
  Certificate c =
      parse(sign("ca_ed25519", "user_ed25519", "-I x -n root -O critical:foo@example.com=bar"));
  EXPECT_EQ(c.unknown_critical_options(), std::vector<std::string>{"foo@example.com"});
  auto v = check_certificate(c, user_check("root"));
  EXPECT_EQ(v.failure, CertFailure::kUnknownCriticalOption);
  EXPECT_EQ(v.message, "Certificate critical option \"foo@example.com\" is not supported");
}

TEST_F(SshCertTest, CaSignatureAlgorithmsPolicy) {
  Certificate sha1 = parse(sign("ca_rsa", "user_ed25519", "-t ssh-rsa -I a -n root"));
  EXPECT_EQ(sha1.signature_algorithm(), "ssh-rsa");
  Certificate sha512 = parse(sign("ca_rsa", "user_ed25519", "-t rsa-sha2-512 -I a -n root"));
  EXPECT_EQ(sha512.signature_algorithm(), "rsa-sha2-512");
  // OpenSSH 9.2's default CASignatureAlgorithms.
  std::vector<std::string> policy = {"ssh-ed25519",         "ecdsa-sha2-nistp256",
                                     "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
                                     "rsa-sha2-512",        "rsa-sha2-256"};
  CertCheck k = user_check("root");
  k.ca_signature_algorithms = &policy;
  EXPECT_TRUE(check_certificate(sha512, k).ok());
  auto v = check_certificate(sha1, k);
  EXPECT_EQ(v.failure, CertFailure::kSignatureAlgorithm);
  EXPECT_EQ(v.message,
            "certificate signature algorithm ssh-rsa: signature algorithm not supported");
}

TEST_F(SshCertTest, TamperedCertificatesFail) {
  Certificate c =
      parse(sign("ca_ed25519", "user_ed25519", "-I t -n root -O source-address=10.0.0.0/8"));
  const Bytes& blob = c.blob();
  for (size_t i = 0; i < blob.size(); ++i) {
    Bytes bad = blob;
    bad[i] ^= 0x01;
    EXPECT_FALSE(Certificate::from_blob(bad)) << "flipped byte " << i;
  }
  for (size_t n = 0; n < blob.size(); ++n)
    EXPECT_FALSE(Certificate::from_blob(ByteView(blob).first(n))) << "truncated to " << n;
  Bytes longer = blob;
  longer.push_back(0);
  EXPECT_FALSE(Certificate::from_blob(longer));
}

TEST_F(SshCertTest, TextForms) {
  std::string text = sign("ca_ed25519", "user_rsa", "-I txt -n a");
  Certificate c = parse(text);
  EXPECT_EQ(c.algorithms(), (std::vector<std::string>{"rsa-sha2-512-cert-v01@openssh.com",
                                                      "rsa-sha2-256-cert-v01@openssh.com",
                                                      "ssh-rsa-cert-v01@openssh.com"}));
  // The type name must agree with the blob.
  std::string wrong = "ssh-ed25519-cert-v01@openssh.com" + text.substr(text.find(' '));
  EXPECT_FALSE(Certificate::from_openssh_text(wrong));
  EXPECT_FALSE(Certificate::from_openssh_text("ssh-rsa-cert-v01@openssh.com AAAA!!"));
  EXPECT_FALSE(Certificate::from_openssh_text("ssh-rsa-cert-v01@openssh.com"));
  // A plain key is not a certificate.
  EXPECT_FALSE(Certificate::from_openssh_text(pub("user_rsa").to_openssh_text()));

  fs::path file = s_dir / "host-cert.pub";
  std::ofstream(file) << "# a comment\n\n" << text;
  auto loaded = Certificate::load_file(file.string());
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(*loaded, c);
  auto missing = Certificate::load_file((s_dir / "nope").string());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("nope"), std::string::npos);
}

TEST_F(SshCertTest, DsaCertificates) {
  // ssh-dss-cert-v01@openssh.com: the DSA fields (mpint p, q, g, y) after the nonce; signed by
  // a DSA CA the signature algorithm is ssh-dss.
  Certificate c = parse(sign("ca_dsa", "user_dsa", "-I dsa -n alice"));
  EXPECT_EQ(c.key().type(), KeyType::kDsa);
  EXPECT_EQ(c.log_name(), "DSA-CERT");
  EXPECT_EQ(c.signature_algorithm(), "ssh-dss");
  EXPECT_EQ(c.algorithms(), std::vector<std::string>{"ssh-dss-cert-v01@openssh.com"});
  EXPECT_NE(c.log_description().find("CA DSA SHA256:"), std::string::npos);
  // CASignatureAlgorithms without ssh-dss (its default) refuses the DSA CA's signature.
  std::vector<std::string> modern{"ssh-ed25519", "rsa-sha2-512"};
  CertCheck check = user_check("alice", uint64_t(time(nullptr)));
  check.ca_signature_algorithms = &modern;
  EXPECT_EQ(check_certificate(c, check).failure, CertFailure::kSignatureAlgorithm);
}

TEST(CertAlgorithms, Names) {
  EXPECT_TRUE(Certificate::is_certificate_name("ssh-ed25519-cert-v01@openssh.com"));
  EXPECT_TRUE(Certificate::is_certificate_name("rsa-sha2-256-cert-v01@openssh.com"));
  EXPECT_FALSE(Certificate::is_certificate_name("ssh-ed25519"));
  EXPECT_EQ(certificate_signature_algorithm("rsa-sha2-512-cert-v01@openssh.com"), "rsa-sha2-512");
  EXPECT_EQ(certificate_signature_algorithm("ssh-rsa-cert-v01@openssh.com"), "ssh-rsa");
  EXPECT_EQ(certificate_signature_algorithm("ecdsa-sha2-nistp384-cert-v01@openssh.com"),
            "ecdsa-sha2-nistp384");
  EXPECT_EQ(certificate_signature_algorithm("ssh-ed25519"), "");
  EXPECT_EQ(certificate_type_for_algorithm("rsa-sha2-256-cert-v01@openssh.com"),
            "ssh-rsa-cert-v01@openssh.com");
  EXPECT_TRUE(Certificate::is_certificate_name("ssh-dss-cert-v01@openssh.com"));
  EXPECT_EQ(certificate_signature_algorithm("ssh-dss-cert-v01@openssh.com"), "ssh-dss");
}

TEST(CertMalformed, GarbageNeverCrashes) {
  for (size_t n = 0; n < 200; ++n) {
    Bytes junk(n, uint8_t(n * 37));
    EXPECT_FALSE(Certificate::from_blob(junk));
  }
}

}  // namespace
}  // namespace postern
