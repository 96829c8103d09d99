// sshd -B, a user name without a route (monitor_picker.cpp), over a real ipc channel: a client
// that tried keyboard-interactive gets the picker as one more step after its key, and its answer
// becomes the route; a client that logged in with its key at the first try (ssh -J, BatchMode)
// is never asked; a user whom no role grants a target is never asked either.
#include <gtest/gtest.h>

#include "bastion/policy.h"
#include "common/ipc_messages.h"
#include "common/wire.h"
#include "monitor/bastion_session.h"
#include "monitor/monitor.h"
#include "monitor/monitor_test_support.h"

namespace postern::monitor {
namespace {

using namespace ipc;

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

const char kTargets[] = R"(
[[user]]
name = "alice"

[[target]]
name = "web1"
address = "10.1.0.5"
users = ["deploy"]
tags = ["prod", "web"]

[[target]]
name = "web2"
address = "10.1.0.6"
users = ["deploy"]
tags = ["prod", "web"]

[[target]]
name = "secret1"
address = "10.3.0.1"
users = ["root"]

[[role]]
name = "vault"
members = ["bob"]
targets = ["secret1"]
target_users = ["root"]
channels = ["shell"]
credential = "agent"
)";

const char kAliceRole[] = R"(
[[role]]
name = "operators"
members = ["alice"]
targets = ["web1", "web2"]
target_users = ["deploy"]
channels = ["shell", "exec"]
credential = "agent"
)";

class MonitorPickerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto hk = PrivateKey::generate(KeyType::kEd25519);
    auto uk = PrivateKey::generate(KeyType::kEd25519);
    ASSERT_TRUE(hk && uk);
    host_key = std::make_shared<const PrivateKey>(std::move(*hk));
    user_key.emplace(std::move(*uk));
    backend.key = user_key->public_key();
    load(std::string(kTargets) + kAliceRole);
    config = config::default_server_config();
    config.max_auth_tries = 6;
    config.password_authentication = false;  // policy users log in with keys
  }
  void load(const std::string& toml) {
    auto p = bastion::parse_policy(toml, "b.toml", "[]", "t.json");
    ASSERT_TRUE(p) << p.error().message;
    policy = std::move(*p);
  }
  // A new connection: its own monitor and bastion session, through PWNAM.
  void connect(const StringList& methods) {
    session = std::make_unique<BastionSession>(policy, Endpoint{"192.0.2.1", 5555, ""});
    monitor = std::make_unique<Monitor>(config, host_key_entries({host_key}),
                                        Endpoint{"192.0.2.1", 5555, ""},
                                        Endpoint{"192.0.2.2", 22, ""}, backend);
    monitor->set_bastion(session.get());
    ASSERT_TRUE(call(SignRequest{"ssh-ed25519", session_id}));
    auto pw = call(PwnamRequest{"alice", "ssh-connection"});
    ASSERT_TRUE(pw);
    EXPECT_EQ(pw->methods, methods);
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
  Result<KbdintReply> answer(const std::string& text) {
    Writer w;
    w.u32(1).string(text);
    return call(KbdintResponseRequest{SecretBytes(w.buffer())});
  }
  template <typename Req>
  Result<typename Req::Reply> call(Req req) {
    return child.call(*monitor, std::move(req));
  }

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

const StringList kWithPicker{"publickey", "keyboard-interactive"};

TEST_F(MonitorPickerTest, KeyAtFirstTryLogsInWithoutRouteAsJumpModeDoes) {
  connect(kWithPicker);
  auto key = key_login();
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_TRUE(key->ok);
  EXPECT_FALSE(key->partial);
  EXPECT_EQ(monitor->phase(), Phase::kAuthenticated);
  EXPECT_FALSE(session->route().has_value());
}

TEST_F(MonitorPickerTest, KeyboardInteractiveClientPicksAfterItsKey) {
  connect(kWithPicker);
  // Before the key: an empty round (no list: it would tell an unauthenticated client the
  // targets), then a failure whose methods leave keyboard-interactive out until the key.
  auto early = call(KbdintStartRequest{""});
  ASSERT_TRUE(early);
  EXPECT_FALSE(early->done);
  EXPECT_TRUE(early->prompts.empty());
  EXPECT_TRUE(early->instruction.empty());
  EXPECT_THROW((void)answer("x"), ProtocolError);  // one answer to no prompt is the child's bug
  connect(kWithPicker);
  ASSERT_TRUE(call(KbdintStartRequest{""}));
  Writer none_answered;
  none_answered.u32(0);
  auto probed = call(KbdintResponseRequest{SecretBytes(none_answered.buffer())});
  ASSERT_TRUE(probed);
  EXPECT_TRUE(probed->done);
  EXPECT_FALSE(probed->outcome.ok);
  EXPECT_EQ(probed->outcome.methods, (StringList{"publickey"}));
  EXPECT_EQ(monitor->failures(), 1u);

  auto key = key_login();
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_TRUE(key->ok);
  EXPECT_TRUE(key->partial);
  EXPECT_EQ(key->methods, (StringList{"keyboard-interactive"}));
  EXPECT_EQ(monitor->phase(), Phase::kAwaitingAuth);

  auto ask = call(KbdintStartRequest{""});
  ASSERT_TRUE(ask);
  EXPECT_FALSE(ask->done);
  EXPECT_EQ(ask->instruction,
            "1) deploy@web1  [prod,web]  role operators\n"
            "2) deploy@web2  [prod,web]  role operators\n");
  EXPECT_EQ(ask->prompts, (StringList{"Target (number, user@target or filter): "}));
  EXPECT_EQ(ask->echo, (Bytes{1}));

  auto none = answer("secret");  // never listed, never found
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->done);
  EXPECT_EQ(none->instruction.rfind("Nothing matches \"secret\".\n1) deploy@web1", 0), 0u);
  EXPECT_EQ(none->instruction.find("secret1"), std::string::npos);
  auto narrowed = answer("WEB2");
  ASSERT_TRUE(narrowed);
  EXPECT_TRUE(narrowed->done);
  EXPECT_TRUE(narrowed->outcome.ok);
  EXPECT_FALSE(narrowed->outcome.partial);
  EXPECT_EQ(monitor->phase(), Phase::kAuthenticated);
  ASSERT_TRUE(session->route().has_value());
  EXPECT_EQ(session->route()->target_user, "deploy");
  EXPECT_EQ(session->route()->target, "web2");
  EXPECT_EQ(session->route()->bastion_user, "alice");
  EXPECT_TRUE(session->route_picked());
}

TEST_F(MonitorPickerTest, RoundsAreBoundedAndANewRequestStartsOver) {
  connect(kWithPicker);
  ASSERT_TRUE(call(KbdintStartRequest{""}));
  ASSERT_TRUE(key_login());
  ASSERT_TRUE(call(KbdintStartRequest{""}));
  for (int i = 1; i < 5; ++i) {
    auto r = answer("zzz");
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->done) << i;
  }
  auto last = answer("zzz");
  ASSERT_TRUE(last);
  EXPECT_TRUE(last->done);
  EXPECT_FALSE(last->outcome.ok);
  EXPECT_EQ(monitor->phase(), Phase::kAwaitingAuth);
  EXPECT_FALSE(session->route().has_value());
  // An answer without a question is the child's bug.
  EXPECT_THROW((void)answer("1"), ProtocolError);
  // The picker is still owed: a new request asks again from the full list.
  auto again = call(KbdintStartRequest{""});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->instruction.rfind("1) deploy@web1", 0), 0u);
  auto pick = answer("deploy@web1");
  ASSERT_TRUE(pick);
  EXPECT_TRUE(pick->outcome.ok);
  EXPECT_EQ(session->route()->target, "web1");
}

TEST_F(MonitorPickerTest, NoTargetNoPicker) {
  load(kTargets);  // alice is in no role
  connect(StringList{"publickey"});
  ASSERT_TRUE(call(KbdintStartRequest{""}));
  auto key = key_login();
  ASSERT_TRUE(key);
  EXPECT_TRUE(key->ok);
  EXPECT_FALSE(key->partial);
  EXPECT_EQ(monitor->phase(), Phase::kAuthenticated);
}

}  // namespace
}  // namespace postern::monitor
