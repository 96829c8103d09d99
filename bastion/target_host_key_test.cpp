#include "bastion/target_host_key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/known_hosts.h"
#include "common/ssh_cert.h"
#include "common/ssh_key.h"

namespace postern::bastion {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kNow = 1893456000;  // 2030-01-01T00:00:00Z

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Host keys and CAs are made by the real ssh-keygen, host certificates with `ssh-keygen -s -h`,
// so the checks run against what OpenSSH's tools write.
class TargetHostKeyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (access("/usr/bin/ssh-keygen", X_OK) != 0) return;
    char tmpl[] = "/tmp/postern-target-host-key.XXXXXX";
    s_keys = mkdtemp(tmpl);
    for (const char* name : {"host", "other", "ca", "ca2"})
      run("ssh-keygen -q -N '' -t ed25519 -f " + key_path(name));
    run("ssh-keygen -q -N '' -t ecdsa -f " + key_path("host_ecdsa"));
  }
  static void TearDownTestSuite() {
    if (!s_keys.empty()) fs::remove_all(s_keys);
  }
  void SetUp() override {
    if (s_keys.empty()) GTEST_SKIP() << "ssh-keygen not installed";
    char tmpl[] = "/tmp/postern-known-hosts.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    m_dir = tmpl;
    m_known_hosts = (m_dir / "known_hosts").string();
  }
  void TearDown() override {
    if (!m_dir.empty()) fs::remove_all(m_dir);
  }

  static std::string key_path(const std::string& name) { return (s_keys / name).string(); }
  static void run(const std::string& cmd) {
    ASSERT_EQ(std::system((cmd + " </dev/null >/dev/null 2>&1").c_str()), 0) << cmd;
  }
  static PublicKey pub(const std::string& name) {
    auto k = PublicKey::from_openssh_text(read_text(key_path(name) + ".pub"));
    if (!k) std::abort();
    return std::move(*k);
  }
  static std::string pub_text(const std::string& name) { return pub(name).to_openssh_text(); }

  // A certificate of "host" signed by `ca` with ssh-keygen's `args` (-h for a host one).
  Certificate certificate(const std::string& ca, const std::string& args) {
    static int n = 0;
    fs::path copy = m_dir / ("host" + std::to_string(++n));
    fs::copy_file(key_path("host") + ".pub", copy.string() + ".pub");
    run("ssh-keygen -q -s " + key_path(ca) + " " + args + " " + copy.string() + ".pub");
    auto cert = Certificate::load_file(copy.string() + "-cert.pub");
    EXPECT_TRUE(cert) << (cert ? "" : cert.error().message);
    if (!cert) std::abort();
    return std::move(*cert);
  }

  void write_known_hosts(const std::string& text) { std::ofstream(m_known_hosts) << text; }

  HostKeyVerdict check(ByteView blob, int port = 22,
                       HostKeyPolicy policy = HostKeyPolicy::kStrict) {
    return check_target_host_key(m_known_hosts, policy, "web1", "10.1.0.5", port, blob, kNow);
  }
  HostKeyVerdict check(const PublicKey& key, int port = 22,
                       HostKeyPolicy policy = HostKeyPolicy::kStrict) {
    return check(ByteView(key.blob()), port, policy);
  }

  // Every verdict's message names the host key, the target and the key's fingerprint.
  static void expect_message(const HostKeyVerdict& v, const std::string& what,
                             const std::string& fingerprint) {
    EXPECT_NE(v.message.find("host key for web1 (10.1.0.5 port "), std::string::npos) << v.message;
    EXPECT_NE(v.message.find(what), std::string::npos) << v.message;
    EXPECT_NE(v.message.find(fingerprint), std::string::npos) << v.message;
  }

  static inline fs::path s_keys;
  fs::path m_dir;
  std::string m_known_hosts;
};

TEST_F(TargetHostKeyTest, PlainEntriesByAddressOrName) {
  write_known_hosts("# bastion targets\n10.1.0.5 " + pub_text("host") + "\n");
  HostKeyVerdict v = check(pub("host"));
  EXPECT_TRUE(v.accepted);
  EXPECT_FALSE(v.learned);
  EXPECT_EQ(v.fingerprint, pub("host").fingerprint_sha256());
  expect_message(v, "is known: ED25519 key", v.fingerprint);

  write_known_hosts("other,WEB1 " + pub_text("host") + " comment\n");
  EXPECT_TRUE(check(pub("host")).accepted);
  // A line that does not parse spoils nothing.
  write_known_hosts("web1 ssh-ed25519 !!!notbase64\nweb1 " + pub_text("host") + "\n");
  EXPECT_TRUE(check(pub("host")).accepted);
}

TEST_F(TargetHostKeyTest, HashedNamesAndPorts) {
  const Bytes salt(20, 0x5a);
  write_known_hosts(hash_known_host_name("web1", salt) + " " + pub_text("host") + "\n");
  EXPECT_TRUE(check(pub("host")).accepted);
  // A bare name stands for port 22 only.
  EXPECT_FALSE(check(pub("host"), 2201).accepted);

  write_known_hosts(hash_known_host_name("[10.1.0.5]:2201", salt) + " " + pub_text("host") + "\n");
  EXPECT_TRUE(check(pub("host"), 2201).accepted);
  write_known_hosts("[web1]:2201 " + pub_text("host") + "\n");
  HostKeyVerdict v = check(pub("host"), 2201);
  EXPECT_TRUE(v.accepted) << v.message;
  EXPECT_NE(v.message.find("web1 (10.1.0.5 port 2201)"), std::string::npos) << v.message;
  EXPECT_FALSE(check(pub("host"), 2202).accepted);
}

TEST_F(TargetHostKeyTest, StrictRefusesAnUnknownHostAndWritesNothing) {
  HostKeyVerdict v = check(pub("host"));
  EXPECT_FALSE(v.accepted);
  expect_message(v, "is not known: ED25519 key " + pub("host").fingerprint_sha256(),
                 pub("host").fingerprint_sha256());
  EXPECT_FALSE(fs::exists(m_known_hosts));
}

TEST_F(TargetHostKeyTest, AnotherKeyForTheNameIsAChange) {
  write_known_hosts("web1 " + pub_text("other") + "\n");
  for (HostKeyPolicy policy : {HostKeyPolicy::kStrict, HostKeyPolicy::kAcceptNew}) {
    HostKeyVerdict v = check(pub("host_ecdsa"), 22, policy);
    EXPECT_FALSE(v.accepted);
    EXPECT_FALSE(v.learned);
    expect_message(v,
                   "has CHANGED: ECDSA key " + pub("host_ecdsa").fingerprint_sha256() +
                       " is not the one in " + m_known_hosts,
                   pub("host_ecdsa").fingerprint_sha256());
  }
  EXPECT_EQ(read_text(m_known_hosts), "web1 " + pub_text("other") + "\n");
}

TEST_F(TargetHostKeyTest, RevokedWinsOverAKnownKey) {
  write_known_hosts("web1 " + pub_text("host") + "\n@revoked * " + pub_text("host") + "\n");
  HostKeyVerdict v = check(pub("host"), 22, HostKeyPolicy::kAcceptNew);
  EXPECT_FALSE(v.accepted);
  expect_message(v, "is revoked: ED25519 key", pub("host").fingerprint_sha256());
}

TEST_F(TargetHostKeyTest, AcceptNewLearnsOnceThenChecksStrictly) {
  HostKeyVerdict first = check(pub("host"), 2201, HostKeyPolicy::kAcceptNew);
  EXPECT_TRUE(first.accepted) << first.message;
  EXPECT_TRUE(first.learned);
  expect_message(first, "learned", pub("host").fingerprint_sha256());
  struct stat st {};
  ASSERT_EQ(stat(m_known_hosts.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(read_text(m_known_hosts), "[10.1.0.5]:2201,[web1]:2201 " + pub_text("host") + "\n");

  HostKeyVerdict again = check(pub("host"), 2201, HostKeyPolicy::kAcceptNew);
  EXPECT_TRUE(again.accepted);
  EXPECT_FALSE(again.learned);
  // The learned line serves a strict check too, under the name alone as well.
  EXPECT_TRUE(check_target_host_key(m_known_hosts, HostKeyPolicy::kStrict, "web1", "10.9.9.9", 2201,
                                    pub("host").blob(), kNow)
                  .accepted);

  HostKeyVerdict changed = check(pub("other"), 2201, HostKeyPolicy::kAcceptNew);
  EXPECT_FALSE(changed.accepted);
  EXPECT_FALSE(changed.learned);
  expect_message(changed, "has CHANGED", pub("other").fingerprint_sha256());

  // Port 22 is written without brackets; a file without a final newline gets one first.
  std::ofstream(m_known_hosts, std::ios::app) << "# no newline";
  HostKeyVerdict other_host = check_target_host_key(m_known_hosts, HostKeyPolicy::kAcceptNew, "db1",
                                                    "10.1.0.6", 22, pub("other").blob(), kNow);
  EXPECT_TRUE(other_host.learned) << other_host.message;
  EXPECT_NE(read_text(m_known_hosts).find("# no newline\n10.1.0.6,db1 " + pub_text("other") + "\n"),
            std::string::npos)
      << read_text(m_known_hosts);
}

TEST_F(TargetHostKeyTest, AcceptNewCannotCreateTheFileInAMissingDirectory) {
  HostKeyVerdict v =
      check_target_host_key((m_dir / "none" / "known_hosts").string(), HostKeyPolicy::kAcceptNew,
                            "web1", "10.1.0.5", 22, pub("host").blob(), kNow);
  EXPECT_FALSE(v.accepted);
  expect_message(v, "No such file or directory", pub("host").fingerprint_sha256());
}

TEST_F(TargetHostKeyTest, HostCertificateFromATrustedAuthority) {
  Certificate cert = certificate("ca", "-h -I web1-host -n web1,10.1.0.5 -V 20200101:20400101");
  const std::string ca_fp = pub("ca").fingerprint_sha256();
  write_known_hosts("@cert-authority *.example.com,web1 " + pub_text("ca") + "\n");
  HostKeyVerdict v = check(ByteView(cert.blob()));
  EXPECT_TRUE(v.accepted) << v.message;
  EXPECT_FALSE(v.learned);
  EXPECT_EQ(v.fingerprint, ca_fp);
  expect_message(v, "is certified: ED25519-CERT " + pub("host").fingerprint_sha256(), ca_fp);

  // Named by its address only, still this target.
  Certificate by_address = certificate("ca", "-h -I a -n 10.1.0.5 -V 20200101:20400101");
  EXPECT_TRUE(check(ByteView(by_address.blob())).accepted);
}

TEST_F(TargetHostKeyTest, HostCertificatesThatMustNotPass) {
  write_known_hosts("@cert-authority web1 " + pub_text("ca") + "\n");
  const std::string ca_fp = pub("ca").fingerprint_sha256();
  HostKeyVerdict wrong_name =
      check(ByteView(certificate("ca", "-h -I x -n web2 -V 20200101:20400101").blob()));
  EXPECT_FALSE(wrong_name.accepted);
  expect_message(wrong_name, "does not name it", ca_fp);

  HostKeyVerdict user_cert =
      check(ByteView(certificate("ca", "-I x -n web1 -V 20200101:20400101").blob()));
  EXPECT_FALSE(user_cert.accepted);
  expect_message(user_cert, "not a host certificate", ca_fp);

  HostKeyVerdict expired =
      check(ByteView(certificate("ca", "-h -I x -n web1 -V 20100101:20110101").blob()));
  EXPECT_FALSE(expired.accepted);
  expect_message(expired, "expired", ca_fp);

  // A CA not trusted for the name: the certified key is judged as a plain one, and the host is
  // known (by its CA line) to present certificates, so even accept-new does not learn it.
  HostKeyVerdict untrusted =
      check(ByteView(certificate("ca2", "-h -I x -n web1 -V 20200101:20400101").blob()), 22,
            HostKeyPolicy::kAcceptNew);
  EXPECT_FALSE(untrusted.accepted);
  EXPECT_FALSE(untrusted.learned);
  expect_message(untrusted, "is not known", pub("host").fingerprint_sha256());

  write_known_hosts("@cert-authority web1 " + pub_text("ca") + "\n@revoked * " + pub_text("ca") +
                    "\n");
  HostKeyVerdict revoked_ca =
      check(ByteView(certificate("ca", "-h -I x -n web1 -V 20200101:20400101").blob()));
  EXPECT_FALSE(revoked_ca.accepted);
  expect_message(revoked_ca, "is revoked: certificate authority", ca_fp);
}

TEST_F(TargetHostKeyTest, GarbageFromTheTargetIsRefused) {
  write_known_hosts("web1 " + pub_text("host") + "\n");
  Bytes garbage = {0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9', 0xff};
  HostKeyVerdict v = check(ByteView(garbage));
  EXPECT_FALSE(v.accepted);
  EXPECT_NE(v.message.find("host key for web1"), std::string::npos) << v.message;
  EXPECT_NE(v.message.find("is not valid"), std::string::npos) << v.message;
  EXPECT_FALSE(check(ByteView()).accepted);
  // A certificate whose signature does not verify is not a certificate.
  Certificate cert = certificate("ca", "-h -I x -n web1 -V 20200101:20400101");
  Bytes forged = cert.blob();
  forged[forged.size() - 1] ^= 1;
  EXPECT_FALSE(check(ByteView(forged)).accepted);
}

}  // namespace
}  // namespace postern::bastion
