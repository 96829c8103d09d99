// sshd -B, a policy user with a `totp` secret (monitor_totp.cpp), over a real ipc channel: the key
// is only a partial success, keyboard-interactive is then the monitor's own one-prompt
// conversation, a wrong code fails, the right one logs in once, and its step is not accepted
// again by the next connection's monitor.
#include <gtest/gtest.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>

#include "bastion/policy.h"
#include "bastion/totp.h"
#include "common/ipc_messages.h"
#include "common/wire.h"
#include "monitor/bastion_session.h"
#include "monitor/monitor.h"
#include "monitor/monitor_test_support.h"

namespace postern::monitor {
namespace {

using namespace ipc;
namespace fs = std::filesystem;

const char kSecret[] = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";  // RFC 6238's SHA-1 seed

// alice is a policy user (no account of the machine) whose key is `key`.
class PolicyUserBackend : public testing::TwoAccounts {
 public:
  std::optional<AuthorizedKeyOptions> key_authorized(const Account&, const PublicKey& k,
                                                     const config::ServerConfig&,
                                                     const Endpoint&) override {
    if (key && k == *key) return AuthorizedKeyOptions{};
    return std::nullopt;
  }
  bool system_account(const Account&) const override { return false; }
  std::optional<PublicKey> key;
};

class MonitorTotpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/postern-mtotp-XXXXXX";
    dir = ::mkdtemp(tmpl);
    auto hk = PrivateKey::generate(KeyType::kEd25519);
    auto uk = PrivateKey::generate(KeyType::kEd25519);
    ASSERT_TRUE(hk && uk);
    host_key = std::make_shared<const PrivateKey>(std::move(*hk));
    user_key.emplace(std::move(*uk));
    backend.key = user_key->public_key();
    std::string toml = "[bastion]\nserial_file = \"" + (dir / "ca_serial").string() +
                       "\"\n\n[[user]]\nname = \"alice\"\ntotp = \"" + kSecret + "\"\n";
    auto p = bastion::parse_policy(toml, "b.toml", "[]", "t.json");
    ASSERT_TRUE(p) << p.error().message;
    policy = std::move(*p);
    config = config::default_server_config();
    config.max_auth_tries = 6;
  }
  // The connection ends first: its session index writer drains into dir before dir goes.
  void TearDown() override {
    if (monitor) monitor->set_bastion(nullptr);
    session.reset();
    fs::remove_all(dir);
  }

  // A new connection: its own monitor and bastion session, through PWNAM.
  void connect() {
    session = std::make_unique<BastionSession>(policy, Endpoint{"192.0.2.1", 5555, ""});
    monitor = std::make_unique<Monitor>(config, host_key_entries({host_key}),
                                        Endpoint{"192.0.2.1", 5555, ""},
                                        Endpoint{"192.0.2.2", 22, ""}, backend);
    monitor->set_bastion(session.get());
    ASSERT_TRUE(call(SignRequest{"ssh-ed25519", session_id}));
    auto pw = call(PwnamRequest{"alice", "ssh-connection"});
    ASSERT_TRUE(pw);
    EXPECT_EQ(pw->methods, (StringList{"publickey"}));
  }
  Result<AuthOutcome> key_login() {
    const PublicKey& pub = user_key->public_key();
    EXPECT_TRUE(call(KeyAllowedRequest{"ssh-ed25519", pub.blob(), true}));
    Writer w;
    w.string(ByteView(session_id))
        .u8(50)
        .string("alice")
        .string("ssh-connection")
        .string("publickey")
        .boolean(true)
        .string("ssh-ed25519")
        .string(ByteView(pub.blob()));
    auto sig = user_key->sign("ssh-ed25519", w.buffer());
    EXPECT_TRUE(sig);
    return call(KeyVerifyRequest{"ssh-ed25519", pub.blob(), *sig, w.take()});
  }
  Result<KbdintReply> answer(const std::string& code) {
    Writer w;
    w.u32(1).string(code);
    return call(KbdintResponseRequest{SecretBytes(w.buffer())});
  }
  static std::string code_now() {
    std::string c = std::to_string(bastion::hotp(as_bytes(std::string_view("12345678901234567890")),
                                                 uint64_t(std::time(nullptr)) / 30, 6));
    return std::string(6 - c.size(), '0') + c;
  }
  template <typename Req>
  Result<typename Req::Reply> call(Req req) {
    return child.call(*monitor, std::move(req));
  }

  fs::path dir;
  bastion::Policy policy;
  PolicyUserBackend backend;
  config::ServerConfig config;
  std::shared_ptr<const PrivateKey> host_key;
  std::optional<PrivateKey> user_key;
  std::unique_ptr<BastionSession> session;
  std::unique_ptr<Monitor> monitor;
  testing::FakeChild child;
  Bytes session_id = Bytes(32, 0x5a);
};

TEST_F(MonitorTotpTest, KeyThenCodeOnceAcrossConnections) {
  connect();
  // No code before the key.
  auto early = call(KbdintStartRequest{""});
  ASSERT_TRUE(early);
  EXPECT_TRUE(early->done);
  EXPECT_FALSE(early->outcome.ok);

  auto key = key_login();
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_TRUE(key->ok);
  EXPECT_TRUE(key->partial);
  EXPECT_EQ(key->methods, (StringList{"keyboard-interactive"}));
  EXPECT_EQ(monitor->phase(), Phase::kAwaitingAuth);

  auto ask = call(KbdintStartRequest{""});
  ASSERT_TRUE(ask);
  EXPECT_FALSE(ask->done);
  EXPECT_EQ(ask->prompts, (StringList{"Verification code: "}));
  EXPECT_EQ(ask->echo, (Bytes{0}));
  auto wrong = answer(code_now() == "000000" ? "000001" : "000000");
  ASSERT_TRUE(wrong);
  EXPECT_TRUE(wrong->done);
  EXPECT_FALSE(wrong->outcome.ok);
  EXPECT_EQ(monitor->phase(), Phase::kAwaitingAuth);
  // An answer without a question is the child's bug.
  EXPECT_THROW((void)answer("123456"), ProtocolError);

  connect();  // a new connection: the last attempt above ended that one
  ASSERT_TRUE(key_login());
  ASSERT_TRUE(call(KbdintStartRequest{""}));
  std::string code = code_now();
  auto right = answer(code);
  ASSERT_TRUE(right);
  EXPECT_TRUE(right->done);
  EXPECT_TRUE(right->outcome.ok);
  EXPECT_EQ(monitor->phase(), Phase::kAuthenticated);

  connect();  // the same code on the next connection: used already
  ASSERT_TRUE(key_login());
  ASSERT_TRUE(call(KbdintStartRequest{""}));
  auto replay = answer(code);
  ASSERT_TRUE(replay);
  EXPECT_FALSE(replay->outcome.ok);
  EXPECT_EQ(monitor->phase(), Phase::kAwaitingAuth);
  struct stat st {};
  ASSERT_EQ(::stat((dir / "totp_used").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace postern::monitor
