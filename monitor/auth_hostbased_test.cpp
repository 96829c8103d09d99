#include "monitor/auth_hostbased.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/known_hosts.h"
#include "common/wire.h"

namespace postern::monitor {
namespace {

namespace fs = std::filesystem;

RhostsVerdict verdict(std::string_view text, std::string_view host, std::string_view user,
                      std::string_view server_user = "alice", std::string_view ip = "192.0.2.1") {
  return rhosts_text_verdict(text, "test", host, ip, user, server_user);
}

TEST(Rhosts, HostAloneMeansTheSameUser) {
  EXPECT_EQ(verdict("client.example\n", "client.example", "alice"), RhostsVerdict::kPermit);
  EXPECT_EQ(verdict("client.example\n", "client.example", "bob"), RhostsVerdict::kNoMatch);
  EXPECT_EQ(verdict("CLIENT.example", "client.EXAMPLE", "alice"), RhostsVerdict::kPermit);
  EXPECT_EQ(verdict("other.example", "client.example", "alice"), RhostsVerdict::kNoMatch);
}

TEST(Rhosts, HostAndUser) {
  EXPECT_EQ(verdict("client.example bob", "client.example", "bob"), RhostsVerdict::kPermit);
  EXPECT_EQ(verdict("client.example bob", "client.example", "alice"), RhostsVerdict::kNoMatch);
  EXPECT_EQ(verdict("192.0.2.1 bob", "client.example", "bob"), RhostsVerdict::kPermit);
  EXPECT_EQ(verdict("+client.example +bob", "client.example", "bob"), RhostsVerdict::kPermit);
}

TEST(Rhosts, NegationDeniesAndFirstMatchWins) {
  EXPECT_EQ(verdict("-client.example\nclient.example", "client.example", "alice"),
            RhostsVerdict::kDeny);
  EXPECT_EQ(verdict("client.example -bob\nclient.example bob", "client.example", "bob"),
            RhostsVerdict::kDeny);
  EXPECT_EQ(verdict("client.example bob\n-client.example bob", "client.example", "bob"),
            RhostsVerdict::kPermit);
}

TEST(Rhosts, WildcardsCommentsAndGarbageAreIgnored) {
  EXPECT_EQ(verdict("+\n+ +\nclient.example +\n", "client.example", "alice"),
            RhostsVerdict::kNoMatch);
  EXPECT_EQ(verdict("# client.example\n\n   \n", "client.example", "alice"),
            RhostsVerdict::kNoMatch);
  EXPECT_EQ(verdict("client.example alice extra\n", "client.example", "alice"),
            RhostsVerdict::kNoMatch);
  EXPECT_EQ(verdict("\tclient.example\talice\r\n", "client.example", "alice"),
            RhostsVerdict::kPermit);
  // No glob patterns in rhosts files: '*' is a literal host name.
  EXPECT_EQ(verdict("*.example", "client.example", "alice"), RhostsVerdict::kNoMatch);
  EXPECT_EQ(verdict("@no-such-netgroup", "client.example", "alice"), RhostsVerdict::kNoMatch);
}

TEST(Hostbased, TrailingDot) {
  EXPECT_EQ(strip_trailing_dot("host.example."), "host.example");
  EXPECT_EQ(strip_trailing_dot("host.example"), "host.example");
  EXPECT_EQ(strip_trailing_dot(""), "");
}

TEST(Hostbased, PeerNameWithoutDnsIsTheAddress) {
  EXPECT_EQ(canonical_peer_name("192.0.2.7", false), "192.0.2.7");
  EXPECT_EQ(canonical_peer_name("not-an-address", true), "not-an-address");
}

TEST(Hostbased, SignedDataLayout) {
  Bytes sid{1, 2, 3};
  Bytes blob{9, 9};
  Bytes d = hostbased_signed_data(sid, "u", "ssh-connection", "ssh-ed25519", blob, "h.", "cu");
  Writer w;
  w.string(sid).u8(50).string("u").string("ssh-connection").string("hostbased");
  w.string("ssh-ed25519").string(blob).string("h.").string("cu");
  EXPECT_EQ(d, w.buffer());
}

TEST(Hostbased, KeyMustMatchAlgorithmAndPolicy) {
  auto priv = PrivateKey::generate(KeyType::kEd25519);
  const Bytes& blob = priv->public_key().blob();
  EXPECT_TRUE(parse_hostbased_key("ssh-ed25519", blob, "ssh-ed25519,rsa-sha2-512"));
  EXPECT_FALSE(parse_hostbased_key("ssh-ed25519", blob, "rsa-sha2-512"));
  EXPECT_FALSE(parse_hostbased_key("rsa-sha2-512", blob, "*"));
  EXPECT_FALSE(parse_hostbased_key("ssh-ed25519", Bytes{1, 2, 3}, "*"));
  EXPECT_TRUE(parse_hostbased_key("ssh-ed25519", blob, "ssh-*"));
}

// HostbasedAcceptedAlgorithms decides for OpenSSH 10.5's ML-DSA-44 hybrid as for any type; the
// 9.2 default list does not hold it.
TEST(Hostbased, MlDsaKeyOnlyWhereNamed) {
  auto priv = PrivateKey::generate(KeyType::kMlDsa44Ed25519);
  ASSERT_TRUE(priv);
  const Bytes& blob = priv->public_key().blob();
  const std::string name = "ssh-mldsa44-ed25519@openssh.com";
  EXPECT_TRUE(parse_hostbased_key(name, blob, "ssh-ed25519," + name));
  EXPECT_FALSE(parse_hostbased_key(name, blob,
                                   config::default_server_config().hostbased_accepted_algorithms));
  EXPECT_FALSE(parse_hostbased_key("ssh-ed25519", blob, "*"));
}

// Files in a scratch directory; the "user" is nobody, so the monitor's switch to the user's
// identity and StrictModes are exercised for real when the test runs as root.
class HostbasedFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hostbased-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    m_dir = tmpl;
    ::chmod(m_dir.c_str(), 0755);
    fs::create_directories(m_dir + "/home/.ssh");
    ::chmod((m_dir + "/home").c_str(), 0755);
    m_user = Account{"nobody", 65534, 65534, m_dir + "/home"};
    m_files.hosts_equiv = m_dir + "/hosts.equiv";
    m_files.shosts_equiv = m_dir + "/shosts.equiv";
    m_files.system_known_hosts = m_dir + "/ssh_known_hosts";
    m_files.system_known_hosts2 = m_dir + "/ssh_known_hosts2";
    m_config.strict_modes = true;
    m_config.ignore_rhosts = config::IgnoreRhosts::kNo;
    m_host = *PrivateKey::generate(KeyType::kEd25519);
    m_key = *parse_hostbased_key("ssh-ed25519", m_host->public_key().blob(), "*");
  }
  void TearDown() override { fs::remove_all(m_dir); }
  void write(const std::string& rel, const std::string& text, mode_t mode = 0644) {
    std::ofstream(m_dir + "/" + rel) << text;
    ::chmod((m_dir + "/" + rel).c_str(), mode);
  }
  std::string key_line() const { return m_host->public_key().to_openssh_text(); }
  bool permit(std::string_view cuser, std::string_view host) {
    return rhosts_permit(m_user, cuser, host, "192.0.2.1", m_config, m_files);
  }
  HostKeyCheck known(const std::string& host) {
    return check_client_host_key(m_user, host, m_key, m_config, m_files);
  }

  std::string m_dir;
  Account m_user;
  HostbasedFiles m_files;
  config::ServerConfig m_config;
  std::optional<PrivateKey> m_host;
  HostbasedKey m_key;
};

TEST_F(HostbasedFilesTest, SystemEquivFilesOnlyForTheSameUser) {
  write("shosts.equiv", "client.example\nclient.example other\n");
  EXPECT_TRUE(permit("nobody", "client.example"));
  EXPECT_FALSE(permit("other", "client.example"));
  EXPECT_FALSE(permit("nobody", "elsewhere.example"));
  write("hosts.equiv", "elsewhere.example\n");
  EXPECT_TRUE(permit("nobody", "elsewhere.example"));
}

TEST_F(HostbasedFilesTest, RootIgnoresSystemEquivFiles) {
  write("shosts.equiv", "client.example root\n");
  m_user = Account{"root", 0, 0, m_dir + "/home"};
  EXPECT_FALSE(permit("root", "client.example"));
}

TEST_F(HostbasedFilesTest, UserFilesAndIgnoreRhosts) {
  write("home/.shosts", "client.example other\n");
  write("home/.rhosts", "rclient.example other\n");
  EXPECT_TRUE(permit("other", "client.example"));
  EXPECT_TRUE(permit("other", "rclient.example"));
  m_config.ignore_rhosts = config::IgnoreRhosts::kShostsOnly;
  EXPECT_TRUE(permit("other", "client.example"));
  EXPECT_FALSE(permit("other", "rclient.example"));
  m_config.ignore_rhosts = config::IgnoreRhosts::kYes;
  EXPECT_FALSE(permit("other", "client.example"));
}

TEST_F(HostbasedFilesTest, StrictModesRefuseWritableFilesAndHome) {
  write("home/.shosts", "client.example other\n", 0666);
  EXPECT_FALSE(permit("other", "client.example"));
  m_config.strict_modes = false;
  EXPECT_TRUE(permit("other", "client.example"));
  m_config.strict_modes = true;
  ::chmod((m_dir + "/home/.shosts").c_str(), 0600);
  ::chown((m_dir + "/home/.shosts").c_str(), 65534, 65534);
  EXPECT_TRUE(permit("other", "client.example"));
  ::chmod((m_dir + "/home").c_str(), 0777);
  EXPECT_FALSE(permit("other", "client.example"));
}

TEST_F(HostbasedFilesTest, KnownHostsSystemUserAndSecondFiles) {
  EXPECT_EQ(known("client.example"), HostKeyCheck::kUnknown);
  write("ssh_known_hosts", "client.example " + key_line() + "\n");
  EXPECT_EQ(known("client.example"), HostKeyCheck::kKnown);
  EXPECT_EQ(known("other.example"), HostKeyCheck::kUnknown);
  write("ssh_known_hosts2", "other.example " + key_line() + "\n");
  EXPECT_EQ(known("other.example"), HostKeyCheck::kKnown);
  write("home/.ssh/known_hosts", "third.example " + key_line() + "\n");
  EXPECT_EQ(known("third.example"), HostKeyCheck::kKnown);
  m_config.ignore_user_known_hosts = true;
  EXPECT_EQ(known("third.example"), HostKeyCheck::kUnknown);
  m_config.ignore_user_known_hosts = false;
  // A user file others can write is not used with StrictModes.
  ::chmod((m_dir + "/home/.ssh/known_hosts").c_str(), 0666);
  EXPECT_EQ(known("third.example"), HostKeyCheck::kUnknown);
}

TEST_F(HostbasedFilesTest, RevokedAnywhereRefuses) {
  write("ssh_known_hosts", "client.example " + key_line() + "\n");
  write("home/.ssh/known_hosts", "@revoked * " + key_line() + "\n");
  EXPECT_EQ(known("client.example"), HostKeyCheck::kRevoked);
}

TEST_F(HostbasedFilesTest, HostCertificateThroughCertAuthority) {
  // A host certificate made with ssh-keygen (the CA and validity are the test's own).
  std::string ca = m_dir + "/ca", hk = m_dir + "/hk";
  std::string cmd = "ssh-keygen -q -t ed25519 -N '' -f " + ca +
                    " && ssh-keygen -q -t ed25519 "
                    "-N '' -f " +
                    hk + " && ssh-keygen -q -s " + ca +
                    " -I hostid -h -n "
                    "client.example " +
                    hk + ".pub";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream cf(hk + "-cert.pub");
  std::string cert_line((std::istreambuf_iterator<char>(cf)), {});
  auto cert = Certificate::from_openssh_text(cert_line);
  ASSERT_TRUE(cert);
  auto key = parse_hostbased_key(std::string(cert->type_name()), cert->blob(), "*");
  ASSERT_TRUE(key);
  std::ifstream caf(ca + ".pub");
  std::string ca_line((std::istreambuf_iterator<char>(caf)), {});
  auto check = [&](const std::string& host) {
    return check_client_host_key(m_user, host, *key, m_config, m_files);
  };
  EXPECT_EQ(check("client.example"), HostKeyCheck::kUnknown);
  // The certified key itself listed as a plain key does not make the certificate known.
  write("ssh_known_hosts", "client.example " + cert->key().to_openssh_text() + "\n");
  EXPECT_EQ(check("client.example"), HostKeyCheck::kUnknown);
  write("ssh_known_hosts", "@cert-authority *.example " + ca_line);
  EXPECT_EQ(check("client.example"), HostKeyCheck::kKnown);
  // The principal must be the host.
  EXPECT_EQ(check("other.example"), HostKeyCheck::kUnknown);
  // A revoked certified key or CA is refused.
  write("ssh_known_hosts2", "");
  write("home/.ssh/known_hosts", "@revoked * " + cert->key().to_openssh_text() + "\n");
  EXPECT_EQ(check("client.example"), HostKeyCheck::kRevoked);
  write("home/.ssh/known_hosts", "@revoked * " + ca_line);
  EXPECT_EQ(check("client.example"), HostKeyCheck::kRevoked);
}

TEST_F(HostbasedFilesTest, WholeDecisionUsesPacketNameOrAddress) {
  write("shosts.equiv", "client.example\n192.0.2.1\n");
  write("ssh_known_hosts", "client.example " + key_line() + "\n");
  m_config.hostbased_uses_name_from_packet_only = true;
  EXPECT_TRUE(hostbased_authorized(m_user, m_key, "client.example.", "nobody", m_config,
                                   "192.0.2.1", m_files));
  EXPECT_FALSE(hostbased_authorized(m_user, m_key, "client.example.", "other", m_config,
                                    "192.0.2.1", m_files));
  EXPECT_FALSE(hostbased_authorized(m_user, m_key, "wrong.example.", "nobody", m_config,
                                    "192.0.2.1", m_files));
  // Without the packet-only option the resolved name (the address, UseDNS no) decides: rhosts
  // lists the address, but known_hosts only knows the name.
  m_config.hostbased_uses_name_from_packet_only = false;
  EXPECT_FALSE(hostbased_authorized(m_user, m_key, "client.example.", "nobody", m_config,
                                    "192.0.2.1", m_files));
  write("ssh_known_hosts", "192.0.2.1 " + key_line() + "\n");
  EXPECT_TRUE(
      hostbased_authorized(m_user, m_key, "anything.", "nobody", m_config, "192.0.2.1", m_files));
}

}  // namespace
}  // namespace postern::monitor
