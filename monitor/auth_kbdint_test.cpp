// keyboard-interactive and the PAM account stage as the monitor decides them, over a real ipc
// channel with a scripted PAM: the questions of one conversation call go out as one reply, the
// answers must match them in number, a response nobody asked for ends the connection, another
// request abandons the conversation, and the account stage refuses or restricts the login.
#include <gtest/gtest.h>

#include <deque>

#include "common/ipc_messages.h"
#include "common/wire.h"
#include "monitor/auth_password.h"
#include "monitor/monitor.h"
#include "monitor/monitor_test_support.h"

namespace postern::monitor {
namespace {

using namespace ipc;

// PAM as a script: each kbdint call returns the next step.
class ScriptedPam : public PamDriver {
 public:
  std::deque<PamStep> steps;
  std::vector<std::vector<std::string>> answers;
  PamAccount account_result = PamAccount::kOk;
  bool abandoned = false;
  bool running = false;
  int account_calls = 0;

  PamStep next() {
    PamStep s = steps.front();
    steps.pop_front();
    running = !s.done;
    return s;
  }
  PamStep kbdint_start(const std::string&, bool) override { return next(); }
  PamStep kbdint_answer(std::vector<SecretBytes> a) override {
    std::vector<std::string> got;
    for (const auto& x : a) got.emplace_back(x.data(), x.data() + x.size());
    answers.push_back(got);
    return next();
  }
  void kbdint_abandon() override {
    abandoned = running;
    running = false;
  }
  bool kbdint_running() const override { return running; }
  bool authenticate_password(const std::string&, ByteView, bool) override { return false; }
  PamAccount account(const std::string&) override {
    ++account_calls;
    return account_result;
  }
  std::string take_messages() override { return {}; }
  bool open_session() override { return true; }
  std::vector<std::string> environment() override { return {}; }
};

PamStep ask(std::string instruction, std::vector<PamPrompt> prompts) {
  return PamStep{false, false, std::move(instruction), std::move(prompts)};
}
PamStep finished(bool ok) {
  return PamStep{true, ok, {}, {}};
}

SecretBytes responses(const std::vector<std::string>& answers) {
  Writer w;
  w.u32(uint32_t(answers.size()));
  for (const auto& a : answers) w.string(a);
  return SecretBytes(ByteView(w.buffer()));
}

class KbdintTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto hk = PrivateKey::generate(KeyType::kEd25519);
    ASSERT_TRUE(hk);
    host_key = std::make_shared<const PrivateKey>(std::move(*hk));
    config = config::default_server_config();
    config.use_pam = true;
    config.kbd_interactive_authentication = true;
    config.max_auth_tries = 3;
    Endpoint peer, local;
    peer.address = "192.0.2.1";
    peer.port = 5555;
    local.address = "192.0.2.2";
    local.port = 22;
    monitor = std::make_unique<Monitor>(config, host_key_entries({host_key}), peer, local, backend);
    monitor->set_pam(&pam);
  }

  // These tests expect every request they make to be answered.
  template <typename Req>
  typename Req::Reply call(Req req) {
    auto reply = child.call(*monitor, std::move(req));
    if (!reply) throw std::runtime_error("monitor refused: " + reply.error().message);
    return std::move(reply).value();
  }
  template <typename Req>
  void handle_only(Req req) {
    child.send_only(*monitor, std::move(req));
  }

  void login_as(const std::string& user) {
    call(SignRequest{"ssh-ed25519", Bytes(32, 0x5a)});
    auto pw = call(PwnamRequest{user, "ssh-connection"});
    ASSERT_EQ(monitor->phase(), Phase::kAwaitingAuth);
    (void)pw;
  }

  std::shared_ptr<const PrivateKey> host_key;
  config::ServerConfig config;
  testing::TwoAccounts backend;
  ScriptedPam pam;
  std::unique_ptr<Monitor> monitor;
  testing::FakeChild child;
};

TEST_F(KbdintTest, SeveralPromptsInOneReplyThenSuccess) {
  login_as("alice");
  pam.steps = {ask("Two questions\n", {{"Code: ", true}, {"PIN: ", false}}),
               ask("", {{"Password: ", false}}), finished(true)};
  auto r = call(KbdintStartRequest{""});
  ASSERT_FALSE(r.done);
  EXPECT_EQ(r.instruction, "Two questions\n");
  EXPECT_EQ(r.prompts, (StringList{"Code: ", "PIN: "}));
  EXPECT_EQ(r.echo, (Bytes{1, 0}));
  r = call(KbdintResponseRequest{responses({"123", "4567"})});
  ASSERT_FALSE(r.done);
  EXPECT_EQ(r.prompts, (StringList{"Password: "}));
  r = call(KbdintResponseRequest{responses({"secret"})});
  EXPECT_TRUE(r.done);
  EXPECT_TRUE(r.outcome.ok);
  EXPECT_EQ(monitor->phase(), Phase::kAuthenticated);
  EXPECT_EQ(pam.answers, (std::vector<std::vector<std::string>>{{"123", "4567"}, {"secret"}}));
  EXPECT_EQ(pam.account_calls, 1);  // the account stage runs at the final success
}

TEST_F(KbdintTest, WrongNumberOfResponsesIsFatal) {
  login_as("alice");
  pam.steps = {ask("", {{"Code: ", true}, {"PIN: ", false}})};
  call(KbdintStartRequest{""});
  EXPECT_THROW(handle_only(KbdintResponseRequest{responses({"1", "2", "3"})}), ProtocolError);
}

TEST_F(KbdintTest, ResponseWithoutQuestionIsFatal) {
  login_as("alice");
  EXPECT_THROW(handle_only(KbdintResponseRequest{responses({"x"})}), ProtocolError);
}

TEST_F(KbdintTest, ResponseAfterTheConversationEndedIsFatal) {
  login_as("alice");
  pam.steps = {ask("", {{"PIN: ", false}}), finished(false)};
  call(KbdintStartRequest{""});
  auto r = call(KbdintResponseRequest{responses({"0000"})});
  EXPECT_TRUE(r.done);
  EXPECT_FALSE(r.outcome.ok);
  EXPECT_THROW(handle_only(KbdintResponseRequest{responses({"0000"})}), ProtocolError);
}

TEST_F(KbdintTest, StartBeforeTheUserIsKnownIsFatal) {
  call(SignRequest{"ssh-ed25519", Bytes(32, 0x5a)});
  EXPECT_THROW(handle_only(KbdintStartRequest{""}), ProtocolError);
}

TEST_F(KbdintTest, AnotherRequestAbandonsTheConversation) {
  login_as("alice");
  pam.steps = {ask("", {{"PIN: ", false}})};
  call(KbdintStartRequest{""});
  auto key = PrivateKey::generate(KeyType::kEd25519);
  ASSERT_TRUE(key);
  call(KeyAllowedRequest{"ssh-ed25519", key->public_key().blob(), false});
  EXPECT_TRUE(pam.abandoned);
  // The abandoned conversation can no longer be answered.
  EXPECT_THROW(handle_only(KbdintResponseRequest{responses({"1"})}), ProtocolError);
}

TEST_F(KbdintTest, InvalidUserFailsEvenWhenPamSaysYes) {
  login_as("mallory");
  pam.steps = {ask("", {{"PIN: ", false}}), finished(true)};
  call(KbdintStartRequest{""});
  auto r = call(KbdintResponseRequest{responses({"1"})});
  EXPECT_TRUE(r.done);
  EXPECT_FALSE(r.outcome.ok);
  EXPECT_NE(monitor->phase(), Phase::kAuthenticated);
}

// The conversation runs for a user who may not log in as for any other (no enumeration by
// timing), but PAM never sees the client's answers: a denied account's right password must not
// be refused faster than a wrong one (PAM's failure delay), as OpenSSH's sshd ensures.
TEST_F(KbdintTest, InvalidUsersAnswersNeverReachPam) {
  login_as("mallory");
  pam.steps = {ask("", {{"Code: ", true}, {"PIN: ", false}}), finished(false)};
  ASSERT_FALSE(call(KbdintStartRequest{""}).done);
  auto r = call(KbdintResponseRequest{responses({"123", "4567"})});
  EXPECT_TRUE(r.done);
  EXPECT_FALSE(r.outcome.ok);
  std::string impossible(kImpossiblePassword);
  EXPECT_EQ(pam.answers, (std::vector<std::vector<std::string>>{{impossible, impossible}}));
}

TEST_F(KbdintTest, RefusedRootsAnswersNeverReachPam) {
  login_as("root");  // default PermitRootLogin prohibit-password
  pam.steps = {ask("", {{"Password: ", false}}), finished(false)};
  call(KbdintStartRequest{""});
  call(KbdintResponseRequest{responses({"root-pw"})});
  EXPECT_EQ(pam.answers,
            (std::vector<std::vector<std::string>>{{std::string(kImpossiblePassword)}}));
}

TEST_F(KbdintTest, RootNeedsPermitRootLoginYes) {
  login_as("root");  // default PermitRootLogin prohibit-password
  pam.steps = {finished(true)};
  auto r = call(KbdintStartRequest{""});
  EXPECT_TRUE(r.done);
  EXPECT_FALSE(r.outcome.ok);
}

TEST_F(KbdintTest, FailuresCountTowardsMaxAuthTries) {
  login_as("alice");
  for (int i = 0; i < 3; ++i) pam.steps.push_back(finished(false));
  EXPECT_FALSE(call(KbdintStartRequest{""}).outcome.exceeded);
  EXPECT_FALSE(call(KbdintStartRequest{""}).outcome.exceeded);
  EXPECT_TRUE(call(KbdintStartRequest{""}).outcome.exceeded);
  EXPECT_EQ(monitor->phase(), Phase::kClosed);
}

TEST_F(KbdintTest, RefusedWithoutPam) {
  monitor->set_pam(nullptr);
  login_as("alice");
  auto r = call(KbdintStartRequest{""});
  EXPECT_TRUE(r.done);
  EXPECT_FALSE(r.outcome.ok);
}

TEST_F(KbdintTest, AccountRefusalEndsTheConnection) {
  login_as("alice");
  pam.account_result = PamAccount::kDenied;
  pam.steps = {finished(true)};
  EXPECT_THROW(handle_only(KbdintStartRequest{""}), PamAccessDenied);
  EXPECT_EQ(monitor->phase(), Phase::kClosed);
}

TEST_F(KbdintTest, ExpiredPasswordOnlyLetsTheUserChangeIt) {
  login_as("alice");
  pam.account_result = PamAccount::kPasswordExpired;
  pam.steps = {finished(true)};
  EXPECT_TRUE(call(KbdintStartRequest{""}).outcome.ok);
  EXPECT_TRUE(monitor->password_change_required());
  const auto& c = monitor->effective_config();
  EXPECT_NE(c.force_command.find("passwd"), std::string::npos);
  EXPECT_EQ(c.allow_tcp_forwarding, config::Forwarding::kNo);
  EXPECT_FALSE(c.allow_agent_forwarding);
  EXPECT_FALSE(c.x11_forwarding);
}

}  // namespace
}  // namespace postern::monitor
