// authorized_keys lookup as the monitor does it. Runs as root (the tests create files owned by
// a test uid with chown); the ownership and identity tests skip themselves otherwise.
#include "monitor/auth_pubkey.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "common/log.h"

namespace postern::monitor {
namespace {

constexpr uid_t kUid = 54321;
constexpr gid_t kGid = 54321;

class AuthPubkeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    char tmpl[] = "/tmp/postern-authkeys-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    m_root = tmpl;
    ::chmod(m_root.c_str(), 0755);
    mkdir_owned(m_root + "/home", 0, 0755);
    m_user.name = "keytest";
    m_user.uid = kUid;
    m_user.gid = kGid;
    m_user.home = m_root + "/home/keytest";
    mkdir_owned(m_user.home, kUid, 0755);
    mkdir_owned(m_user.home + "/.ssh", kUid, 0700);

    auto key = PrivateKey::generate(KeyType::kEd25519);
    auto other = PrivateKey::generate(KeyType::kEcdsaP256);
    ASSERT_TRUE(key && other);
    m_key.emplace(key->public_key());
    m_other.emplace(other->public_key());
    m_client = {.address = "192.0.2.10", .name = "client.example.com"};

    LogOptions lo;
    lo.level = LogLevel::kDebug3;
    log_init(lo);
    log_set_sink([this](LogLevel, std::string_view line) { m_log += std::string(line) + "\n"; });
  }
  void TearDown() override {
    log_set_sink(nullptr);
    if (!m_root.empty()) std::system(("rm -rf '" + m_root + "'").c_str());
  }

  void mkdir_owned(const std::string& path, uid_t uid, mode_t mode) {
    ASSERT_EQ(::mkdir(path.c_str(), mode), 0) << path;
    ASSERT_EQ(::chown(path.c_str(), uid, uid == 0 ? 0 : kGid), 0);
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
  }
  void write_owned(const std::string& path, const std::string& text, uid_t uid = kUid,
                   mode_t mode = 0600) {
    std::ofstream(path) << text;
    ASSERT_EQ(::chown(path.c_str(), uid, uid == 0 ? 0 : kGid), 0);
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
  }
  std::string keys_path() const { return m_user.home + "/.ssh/authorized_keys"; }
  std::string key_line() const { return m_key->to_openssh_text() + " me@laptop\n"; }
  Result<AuthorizedKeyMatch> find(const AuthorizedKeysPolicy& policy = {}, time_t now = 0) {
    return find_authorized_key(m_user, policy, *m_key, m_client, now ? now : time(nullptr));
  }

  std::string m_root;
  Account m_user;
  std::optional<PublicKey> m_key, m_other;
  Endpoint m_client;
  std::string m_log;
};

TEST_F(AuthPubkeyTest, FindsKeyAndReportsLocation) {
  write_owned(keys_path(), "# my keys\n\n" + m_other->to_openssh_text() + "\n" +
                               "no-pty,command=\"uptime\" " + key_line());
  auto match = find();
  ASSERT_TRUE(match) << match.error().message << "\n" << m_log;
  EXPECT_EQ(match->location, keys_path() + ":4");
  EXPECT_FALSE(match->options.permit_pty);
  EXPECT_EQ(match->options.command, "uptime");
  EXPECT_NE(
      m_log.find(keys_path() + ":4: matching key found: ED25519 " + m_key->fingerprint_sha256()),
      std::string::npos)
      << m_log;
  EXPECT_EQ(::geteuid(), 0u);
  EXPECT_EQ(::getegid(), 0u);
}

TEST_F(AuthPubkeyTest, KeyAbsentOrFileMissing) {
  EXPECT_FALSE(find());
  write_owned(keys_path(), m_other->to_openssh_text() + "\n");
  EXPECT_FALSE(find());
  EXPECT_EQ(::geteuid(), 0u);
}

TEST_F(AuthPubkeyTest, SecondFileAndTokens) {
  write_owned(m_user.home + "/.ssh/authorized_keys2", key_line());
  auto match = find();
  ASSERT_TRUE(match) << m_log;
  EXPECT_EQ(match->location, m_user.home + "/.ssh/authorized_keys2:1");

  mkdir_owned(m_user.home + "/keys", kUid, 0755);
  write_owned(m_user.home + "/keys/keytest.54321%", key_line());
  AuthorizedKeysPolicy policy;
  policy.files = {"none", "keys/%u.%U%%"};
  match = find(policy);
  ASSERT_TRUE(match) << m_log;
  EXPECT_EQ(match->location, m_user.home + "/keys/keytest.54321%:1");
  policy.files = {"%h/keys/%u.%U%%"};
  EXPECT_TRUE(find(policy));
  policy.files = {"none"};
  EXPECT_FALSE(find(policy));
}

TEST(AuthPubkeyPaths, Expansion) {
  Account u{"alice", 1001, 1001, "/home/alice"};
  EXPECT_EQ(expand_authorized_keys_path(".ssh/authorized_keys", u),
            "/home/alice/.ssh/authorized_keys");
  EXPECT_EQ(expand_authorized_keys_path("/etc/ssh/keys/%u", u), "/etc/ssh/keys/alice");
  EXPECT_EQ(expand_authorized_keys_path("%h/.ssh/k_%U", u), "/home/alice/.ssh/k_1001");
  EXPECT_EQ(expand_authorized_keys_path("~/x", u), "/home/alice/x");
  EXPECT_EQ(expand_authorized_keys_path("100%%", u), "/home/alice/100%");
  u.home = "/";
  EXPECT_EQ(expand_authorized_keys_path("k", u), "/k");
}

TEST_F(AuthPubkeyTest, StrictModesRefusesWritableFile) {
  write_owned(keys_path(), key_line(), kUid, 0620);
  EXPECT_FALSE(find());
  EXPECT_NE(m_log.find("Authentication refused: bad ownership or modes for file " + keys_path()),
            std::string::npos)
      << m_log;
  AuthorizedKeysPolicy lax;
  lax.strict_modes = false;
  EXPECT_TRUE(find(lax));
}

TEST_F(AuthPubkeyTest, StrictModesRefusesWritableDirectories) {
  write_owned(keys_path(), key_line());
  ::chmod((m_user.home + "/.ssh").c_str(), 0777);
  EXPECT_FALSE(find());
  EXPECT_NE(m_log.find("Authentication refused: bad ownership or modes for directory " +
                       m_user.home + "/.ssh"),
            std::string::npos)
      << m_log;
  ::chmod((m_user.home + "/.ssh").c_str(), 0700);
  ::chmod(m_user.home.c_str(), 0775);
  m_log.clear();
  EXPECT_FALSE(find());
  EXPECT_NE(m_log.find("bad ownership or modes for directory " + m_user.home + "\n"),
            std::string::npos)
      << m_log;
  ::chmod(m_user.home.c_str(), 0755);
  EXPECT_TRUE(find());
}

TEST_F(AuthPubkeyTest, StrictModesRefusesForeignOwner) {
  write_owned(keys_path(), key_line(), kUid + 1, 0644);
  EXPECT_FALSE(find());
  EXPECT_NE(m_log.find("bad ownership or modes for file"), std::string::npos) << m_log;
  // Root may own the file.
  write_owned(keys_path(), key_line(), 0, 0644);
  EXPECT_TRUE(find()) << m_log;
  // The home directory owned by someone else.
  ASSERT_EQ(::chown(m_user.home.c_str(), kUid + 1, kGid), 0);
  EXPECT_FALSE(find());
}

TEST_F(AuthPubkeyTest, StopsAtHomeButWalksToRootOutsideIt) {
  // The home's parent is group-writable: outside the walk, so allowed.
  ::chmod((m_root + "/home").c_str(), 0775);
  write_owned(keys_path(), key_line());
  EXPECT_TRUE(find()) << m_log;
  // A file outside the home: every directory up to "/" counts, and /tmp is world-writable.
  mkdir_owned(m_root + "/etc", 0, 0755);
  write_owned(m_root + "/etc/keytest", key_line(), 0, 0644);
  AuthorizedKeysPolicy policy;
  policy.files = {m_root + "/etc/%u"};
  m_log.clear();
  EXPECT_FALSE(find(policy));
  EXPECT_NE(m_log.find("bad ownership or modes for directory /tmp"), std::string::npos) << m_log;
}

TEST_F(AuthPubkeyTest, ReadsAsTheUser) {
  // Root-owned and unreadable by the user: sshd reads with the user's identity, so no match.
  write_owned(keys_path(), key_line(), 0, 0600);
  EXPECT_FALSE(find());
  EXPECT_NE(m_log.find("Permission denied"), std::string::npos) << m_log;
  EXPECT_EQ(::geteuid(), 0u);
  // Readable through a supplementary group is not possible for a user absent from /etc/group,
  // but the primary group is honoured.
  write_owned(keys_path(), key_line(), 0, 0640);
  ASSERT_EQ(::chown(keys_path().c_str(), 0, kGid), 0);
  EXPECT_TRUE(find()) << m_log;
}

TEST_F(AuthPubkeyTest, FifoDoesNotHang) {
  ASSERT_EQ(::mkfifo(keys_path().c_str(), 0600), 0);
  ASSERT_EQ(::chown(keys_path().c_str(), kUid, kGid), 0);
  EXPECT_FALSE(find());
  EXPECT_NE(m_log.find("is not a regular file"), std::string::npos) << m_log;
}

TEST_F(AuthPubkeyTest, OptionsDecideTheMatch) {
  time_t now = 1893456000;  // 2030-01-01
  write_owned(keys_path(), "bogus-option " + key_line() + "expiry-time=\"20200101Z\" " +
                               key_line() + "from=\"*.other.org,10.0.0.0/8\" " + key_line() +
                               "cert-authority " + key_line());
  EXPECT_FALSE(find({}, now));
  EXPECT_NE(m_log.find(keys_path() + ":1: bad key options: unknown option \"bogus-option\""),
            std::string::npos)
      << m_log;
  EXPECT_NE(m_log.find(keys_path() + ":2: entry expired at 20"), std::string::npos) << m_log;
  EXPECT_NE(m_log.find(keys_path() +
                       ":3: Authentication tried for keytest with correct key but not from a "
                       "permitted host (host=client.example.com, ip=192.0.2.10, "
                       "required=*.other.org,10.0.0.0/8)."),
            std::string::npos)
      << m_log;
  EXPECT_NE(m_log.find("Refused by key options\n"), std::string::npos) << m_log;

  std::ofstream(keys_path(), std::ios::app)
      << "from=\"*.example.com\",expiry-time=\"20400101Z\" " << key_line();
  auto match = find({}, now);
  ASSERT_TRUE(match) << m_log;
  EXPECT_EQ(match->location, keys_path() + ":5");
  m_client.name = "";
  EXPECT_FALSE(find({}, now));
  m_client.address = "10.1.2.3";  // now line 3's CIDR entry admits it
  match = find({}, now);
  ASSERT_TRUE(match) << m_log;
  EXPECT_EQ(match->location, keys_path() + ":3");
}

// The same checks for an AuthorizedPrincipalsFile/Command line (monitor/auth_cert.cpp), which
// takes authorized_keys options but may not name a CA.
TEST(AuthPubkeyChecks, PrincipalsLineOptionsDecideTheLogin) {
  std::string log;
  LogOptions lo;
  lo.level = LogLevel::kDebug3;
  log_init(lo);
  log_set_sink([&](LogLevel, std::string_view line) { log += std::string(line) + "\n"; });
  const time_t now = 1893456000;  // 2030-01-01
  const Endpoint client{.address = "127.0.0.1"};
  auto allows = [&](std::string_view options) {
    auto o = parse_authorized_key_options(options);
    EXPECT_TRUE(o) << options;
    return o && key_options_permit_login(*o, "principals", client, now, "alice", false);
  };
  EXPECT_TRUE(allows(""));
  EXPECT_TRUE(allows("from=\"127.0.0.1\",expiry-time=\"20400101Z\",no-pty"));
  EXPECT_TRUE(allows("from=\"10.0.0.0/8,127.0.0.0/8\""));
  EXPECT_FALSE(allows("from=\"10.0.0.0/8\""));
  EXPECT_NE(log.find("principals: Authentication tried for alice with correct key but not from "
                     "a permitted host (host=127.0.0.1, ip=127.0.0.1, required=10.0.0.0/8)."),
            std::string::npos)
      << log;
  EXPECT_FALSE(allows("from=\"*,!127.0.0.1\""));
  EXPECT_FALSE(allows("expiry-time=\"20200101Z\""));
  EXPECT_NE(log.find("principals: entry expired at 20"), std::string::npos) << log;
  EXPECT_FALSE(allows("cert-authority"));
  EXPECT_NE(log.find("principals: cert-authority flag invalid here"), std::string::npos) << log;
  EXPECT_FALSE(allows("principals=\"ops\""));
  EXPECT_NE(log.find("principals: principals on non-CA key"), std::string::npos) << log;
  log_set_sink(nullptr);
}

TEST(AuthPubkeyChecks, UsedKeysCountACertificateAsItsKey) {
  auto a = PrivateKey::generate(KeyType::kEd25519);
  auto b = PrivateKey::generate(KeyType::kEd25519);
  ASSERT_TRUE(a && b);
  std::string log;
  log_set_sink([&](LogLevel, std::string_view line) { log += std::string(line) + "\n"; });
  UsedKeys used;
  EXPECT_FALSE(used.already_used(a->public_key(), "ED25519"));
  used.add(a->public_key());
  used.add(a->public_key());
  EXPECT_TRUE(used.already_used(a->public_key(), "ED25519-CERT"));
  EXPECT_FALSE(used.already_used(b->public_key(), "ED25519"));
  log_set_sink(nullptr);
  EXPECT_EQ(log, "refusing previously-used ED25519-CERT key\n");
}

TEST(AuthPubkeyChecks, RequiredRsaSize) {
  auto small = PrivateKey::generate(KeyType::kRsa, 1024);
  auto ed = PrivateKey::generate(KeyType::kEd25519);
  ASSERT_TRUE(small && ed);
  std::string log;
  log_set_sink([&](LogLevel, std::string_view line) { log += std::string(line) + "\n"; });
  EXPECT_TRUE(rsa_size_acceptable(small->public_key(), "RSA", 1024));
  EXPECT_FALSE(rsa_size_acceptable(small->public_key(), "RSA", 2048));
  EXPECT_TRUE(rsa_size_acceptable(ed->public_key(), "ED25519", 2048));
  log_set_sink(nullptr);
  EXPECT_EQ(log, "refusing RSA key: Invalid key length\n");
}

TEST(AuthPubkeyChecks, SecurityKeyFlags) {
  AuthorizedKeyOptions plain, no_touch, verify;
  no_touch.no_touch_required = true;
  verify.verify_required = true;
  auto req = sk_requirements({"none"}, plain);
  EXPECT_TRUE(req.presence);
  EXPECT_FALSE(req.verification);
  EXPECT_FALSE(sk_requirements({}, no_touch).presence);
  EXPECT_TRUE(sk_requirements({"touch-required"}, no_touch).presence);
  EXPECT_TRUE(sk_requirements({"verify-required"}, plain).verification);
  EXPECT_TRUE(sk_requirements({}, verify).verification);

  std::string log;
  log_set_sink([&](LogLevel, std::string_view line) { log += std::string(line) + "\n"; });
  AttemptInfo who{"alice", true, "192.0.2.1", 2222};
  SkSignature touched{SkSignature::kUserPresent, 7};
  SkSignature untouched{0, 8};
  SkSignature verified{SkSignature::kUserPresent | SkSignature::kUserVerified, 9};
  EXPECT_TRUE(sk_flags_acceptable(touched, req, "ED25519-SK SHA256:x", who));
  EXPECT_TRUE(log.empty()) << log;
  EXPECT_FALSE(sk_flags_acceptable(untouched, req, "ED25519-SK SHA256:x", who));
  EXPECT_EQ(log,
            "public key ED25519-SK SHA256:x signature for alice from 192.0.2.1 port 2222 "
            "rejected: user presence (authenticator touch) requirement not met \n");
  EXPECT_TRUE(sk_flags_acceptable(untouched, sk_requirements({}, no_touch), "k", who));
  log.clear();
  EXPECT_FALSE(sk_flags_acceptable(touched, sk_requirements({}, verify), "k", who));
  EXPECT_NE(log.find("user verification requirement not met"), std::string::npos) << log;
  EXPECT_TRUE(sk_flags_acceptable(verified, sk_requirements({"verify-required"}, plain), "k", who));
  log_set_sink(nullptr);
}

TEST_F(AuthPubkeyTest, TemporaryIdentityRestores) {
  {
    TemporaryUserIdentity as_user(m_user);
    EXPECT_TRUE(as_user.ok());
    EXPECT_EQ(::geteuid(), kUid);
    EXPECT_EQ(::getegid(), kGid);
    EXPECT_EQ(::getuid(), 0u);  // the real uid stays, so the switch back is possible
  }
  EXPECT_EQ(::geteuid(), 0u);
  EXPECT_EQ(::getegid(), 0u);
}

}  // namespace
}  // namespace postern::monitor
