// sshd -B, the full-screen picker's requests (monitor_pty_picker.cpp) over a real ipc channel:
// the list holds exactly what the user's roles grant; a choice is decided again and audited as a
// "login" event that says "picked", becomes the route once, and a choice outside the list is
// refused without saying whether the target exists.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "bastion/policy.h"
#include "common/ipc_bastion_messages.h"
#include "common/ipc_picker_messages.h"
#include "monitor/bastion_session.h"
#include "monitor/monitor.h"
#include "monitor/monitor_test_support.h"

namespace postern::monitor {

struct MonitorPhaseProbe {
  static void set(Monitor& m, Phase p) { m.m_phase = p; }
};

namespace {

using namespace ipc;
namespace fs = std::filesystem;

const char kPolicy[] = R"(
[[user]]
name = "alice"

[[target]]
name = "web1"
address = "127.0.0.1"
port = 1
users = ["deploy"]
tags = ["prod", "web"]

[[target]]
name = "db1"
address = "127.0.0.1"
port = 1
users = ["ops"]

[[target]]
name = "lab1"
address = "127.0.0.1"
port = 1

[[target]]
name = "secret1"
address = "127.0.0.1"
port = 1
users = ["root"]

[[role]]
name = "ops"
members = ["alice"]
targets = ["web1", "db1"]
target_users = ["deploy", "ops"]
channels = ["shell"]
credential = "agent"

[[role]]
name = "lab"
members = ["alice"]
targets = ["lab1"]
target_users = ["*"]
channels = ["shell"]
credential = "agent"

[[role]]
name = "vault"
members = ["bob"]
targets = ["secret1"]
target_users = ["root"]
channels = ["shell"]
credential = "agent"
)";

class MonitorPtyPickerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/postern-mpp-XXXXXX";
    dir = ::mkdtemp(tmpl);
    std::string toml =
        "[bastion]\naudit_log = \"" + (dir / "audit.jsonl").string() + "\"\n" + kPolicy;
    auto p = bastion::parse_policy(toml, "b.toml", "[]", "t.json");
    ASSERT_TRUE(p) << p.error().message;
    session = std::make_unique<BastionSession>(std::move(*p), Endpoint{"192.0.2.1", 5555, ""});
    config = config::default_server_config();
    monitor = std::make_unique<Monitor>(config, std::vector<HostKeyEntry>{},
                                        Endpoint{"192.0.2.1", 5555, ""},
                                        Endpoint{"192.0.2.2", 2222, ""}, backend);
    monitor->set_bastion(session.get());
    MonitorPhaseProbe::set(*monitor, Phase::kBastion);
  }
  // The connection ends first: its session index writer drains into dir before dir goes.
  void TearDown() override {
    if (monitor) monitor->set_bastion(nullptr);
    session.reset();
    fs::remove_all(dir);
  }
  void login(const std::string& name) {
    auto user = session->set_user_name(name);
    ASSERT_TRUE(user);
    session->set_logged_in(*user, {});
  }
  template <typename Req>
  Result<typename Req::Reply> call(Req req) {
    return child.call(*monitor, std::move(req));
  }
  std::string audit() {
    std::ifstream f(dir / "audit.jsonl");
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  fs::path dir;
  testing::TwoAccounts backend;
  config::ServerConfig config;
  std::unique_ptr<BastionSession> session;
  std::unique_ptr<Monitor> monitor;
  testing::FakeChild child;
};

TEST_F(MonitorPtyPickerTest, ListHoldsExactlyWhatTheRolesGrant) {
  login("alice");
  auto list = call(PickerListRequest{});
  ASSERT_TRUE(list) << list.error().message;
  // The role's accounts that each target has; never secret1.
  EXPECT_EQ(list->targets, (StringList{"web1", "db1", "lab1"}));
  EXPECT_EQ(list->target_users, (StringList{"deploy", "ops", "*"}));
  EXPECT_EQ(list->lines.front(), "deploy@web1  [prod,web]  role ops");
  EXPECT_EQ(list->example, "deploy%web1");
  EXPECT_FALSE(list->truncated);

  login("bob");
  list = call(PickerListRequest{});
  ASSERT_TRUE(list);
  EXPECT_EQ(list->targets, (StringList{"secret1"}));

  login("nobody");
  list = call(PickerListRequest{});
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->targets.empty());
  EXPECT_EQ(list->example, "");
}

TEST_F(MonitorPtyPickerTest, ChoiceIsDecidedAuditedAndBecomesTheRoute) {
  login("alice");
  auto r = call(PickerChooseRequest{"ops", "db1"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->allowed) << r->message;
  ASSERT_TRUE(session->route());
  EXPECT_EQ(session->route()->target, "db1");
  EXPECT_EQ(session->route()->target_user, "ops");
  EXPECT_TRUE(session->route_picked());
  std::string a = audit();
  EXPECT_NE(a.find(R"("event":"login")"), std::string::npos) << a;
  EXPECT_NE(a.find(R"("decision":"allow")"), std::string::npos) << a;
  EXPECT_NE(a.find(R"("reason":"picked: )"), std::string::npos) << a;
  EXPECT_NE(a.find(R"("target":"db1")"), std::string::npos) << a;
  // Once: a second choice is a protocol error, as is the list now.
  EXPECT_THROW((void)call(PickerChooseRequest{"deploy", "web1"}), ProtocolError);
}

TEST_F(MonitorPtyPickerTest, AnyAccountGrantTakesAnAccount) {
  login("alice");
  auto r = call(PickerChooseRequest{"root", "lab1"});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->allowed) << r->message;
  EXPECT_EQ(session->route()->target_user, "root");
}

TEST_F(MonitorPtyPickerTest, ChoiceOutsideTheListIsRefusedAndAudited) {
  login("alice");
  for (auto [user, target] : {std::pair{"root", "secret1"},
                              {"deploy", "nowhere"},
                              {"root", "web1"},
                              {"*", "lab1"},
                              {"a%b", "lab1"}}) {
    auto r = call(PickerChooseRequest{user, target});
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->allowed) << user << "@" << target;
    // The same words whether the target exists or not.
    EXPECT_EQ(r->message, "postern: that target is not in your list");
    EXPECT_FALSE(session->route());
  }
  std::string a = audit();
  EXPECT_NE(a.find(R"("decision":"deny")"), std::string::npos) << a;
  EXPECT_NE(a.find("picked: not in the user's list"), std::string::npos) << a;
  // A refusal leaves the picker free to try again.
  auto ok = call(PickerChooseRequest{"deploy", "web1"});
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->allowed);
}

TEST_F(MonitorPtyPickerTest, NotForALoginThatNamedItsRouteAndBounded) {
  login("deploy%web1%alice");
  EXPECT_THROW((void)call(PickerListRequest{}), ProtocolError);
  EXPECT_THROW((void)call(PickerChooseRequest{"deploy", "web1"}), ProtocolError);
  login("alice");
  EXPECT_THROW((void)call(PickerChooseRequest{"deploy", std::string(300, 'w')}), ProtocolError);
}

TEST_F(MonitorPtyPickerTest, TheChosenRouteIsTheOnlySessionTargetOpen) {
  login("alice");
  ASSERT_TRUE(call(PickerChooseRequest{"deploy", "web1"})->allowed);
  // Another target than the one picked is no login's route.
  EXPECT_THROW((void)call(TargetOpenRequest{"db1", 0, "ops", "session", ""}), ProtocolError);
}

}  // namespace
}  // namespace postern::monitor
