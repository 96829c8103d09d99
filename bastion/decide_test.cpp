#include "bastion/decide.h"

#include <gtest/gtest.h>

#include "bastion/test_files.h"

namespace postern::bastion {
namespace {

using Strings = std::vector<std::string>;

Policy load(const std::string& toml, const std::string& templates = "[]") {
  auto p = parse_policy(toml, "b.toml", templates, "t.json");
  EXPECT_TRUE(p) << p.error().message;
  return p ? *p : Policy{};
}

Policy example_policy() {
  return load(testing::read_testdata("bastion.toml"), testing::read_testdata("templates.json"));
}

// Beside the example: address patterns, groups, "*", source lists with a '!'.
const char kLabPolicy[] = R"(
[[target]]
name = "lab1"
address = "10.2.0.7"
tags = ["lab"]

[[target]]
name = "box"
address = "box.lab.example"

[[target]]
name = "web1"
address = "10.1.0.5"
users = ["deploy"]

[[role]]
name = "lab"
members = ["group:labbers"]
targets = ["10.2.0.0/16", "*.lab.example"]
target_users = ["*"]
channels = ["exec"]
credential = "agent"
source = ["10.9.0.0/16", "!10.9.9.0/24"]

[[role]]
name = "everyone"
members = ["*"]
targets = ["tag:lab"]
target_users = ["guest"]
channels = ["shell"]
credential = "agent"
source = ["2001:db8::/32"]

[[role]]
name = "jump-only"
members = ["erin"]
targets = ["web1"]
target_users = ["*"]
channels = ["direct-tcpip"]
credential = "agent"
)";

struct Case {
  const char* what;
  Subject subject;
  std::string typed;  // the target as typed
  int port;
  std::string target_user, channel;
  std::string role;  // "" for refused
  std::string reason;
};

void run(const Policy& p, const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    auto target = resolve_target(p, c.typed, c.port);
    ASSERT_TRUE(target) << c.what;
    Decision d = decide(p, c.subject, *target, c.target_user, c.channel);
    EXPECT_EQ(d.allowed, !c.role.empty()) << c.what << ": " << d.reason;
    EXPECT_EQ(d.role, c.role) << c.what;
    EXPECT_EQ(d.reason, c.reason) << c.what;
    EXPECT_EQ(role_for(p, d), c.role.empty() ? nullptr : p.find_role(c.role)) << c.what;
    if (d.allowed) {
      EXPECT_EQ(d.user_message, "") << c.what;
    } else {
      // Only what the user typed: the bastion user, the account and target as typed.
      std::string what = c.target_user.empty() ? target->name + ":" + std::to_string(target->port)
                                               : c.target_user + "@" + c.typed;
      EXPECT_EQ(d.user_message, "no role lets " + c.subject.user + " reach " + what +
                                    (c.channel.empty() ? "" : " for " + c.channel))
          << c.what;
    }
  }
}

TEST(Decide, ExamplePolicy) {
  Subject alice{"alice", {}, "192.0.2.1"};
  Subject alice6{"alice", {}, "2001:db8::9"};
  Subject bob_wheel{"bob", {"users", "wheel"}, "198.51.100.7"};
  Subject bob{"bob", {"users"}, "198.51.100.7"};
  Subject robot{"ci-robot", {}, "10.9.0.3"};
  run(example_policy(),
      {
          {"alice: shell on web1", alice, "web1", 0, "deploy", "shell", "web-ops",
           "role \"web-ops\" grants alice deploy@web1 for shell"},
          {"from IPv6 too", alice6, "web1", 0, "deploy", "sftp", "web-ops",
           "role \"web-ops\" grants alice deploy@web1 for sftp"},
          {"web1 by its address", alice, "10.1.0.5", 22, "deploy", "exec", "web-ops",
           "role \"web-ops\" grants alice deploy@web1 for exec"},
          {"any channel (the login-time check)", alice, "web1", 0, "deploy", "", "web-ops",
           "role \"web-ops\" grants alice deploy@web1"},
          {"root is not in target_users", alice, "web1", 0, "root", "shell", "",
           "no role of alice grants account root on web1"},
          // tag:db grants db1, but db1 lists only postgres and the role grants only deploy.
          {"db1 has no deploy account", alice, "db1", 0, "deploy", "shell", "",
           "no role of alice grants account deploy on db1"},
          {"postgres is not the role's", alice, "db1", 0, "postgres", "shell", "",
           "no role of alice grants account postgres on db1"},
          {"x11 is not granted", alice, "web1", 0, "deploy", "x11", "",
           "no role of alice grants channel x11 to deploy@web1"},
          {"group member", bob_wheel, "web1", 0, "deploy", "scp", "web-ops",
           "role \"web-ops\" grants bob deploy@web1 for scp"},
          {"not a member", bob, "web1", 0, "deploy", "shell", "", "no role has member bob"},
          {"unnamed address", alice, "10.1.0.99", 0, "deploy", "shell", "",
           "no role of alice grants target 10.1.0.99 (no [[target]]; an address pattern would)"},
          {"another port of web1", alice, "10.1.0.5", 80, "deploy", "shell", "",
           "no role of alice grants target 10.1.0.5 (no [[target]]; an address pattern would)"},
          {"no client address", Subject{"alice", {}, ""}, "web1", 0, "deploy", "shell", "",
           "no role of alice applies from "},
          // Jump mode: no account, direct-tcpip only.
          {"jump", alice, "web1", 22, "", "direct-tcpip", "web-ops",
           "role \"web-ops\" grants alice web1:22 for direct-tcpip"},
          {"jump, any channel", alice, "web1", 22, "", "", "web-ops",
           "role \"web-ops\" grants alice web1:22"},
          {"jump asks for a shell", alice, "web1", 22, "", "shell", "",
           "no role of alice grants direct-tcpip to web1:22"},
          {"automation: exec", robot, "web1", 0, "deploy", "exec", "automation",
           "role \"automation\" grants ci-robot deploy@web1 for exec"},
          {"automation: scp", robot, "web1", 0, "deploy", "scp", "automation",
           "role \"automation\" grants ci-robot deploy@web1 for scp"},
          {"automation: no shell", robot, "web1", 0, "deploy", "shell", "",
           "no role of ci-robot grants channel shell to deploy@web1"},
          {"automation: no jump", robot, "web1", 22, "", "direct-tcpip", "",
           "no role of ci-robot grants direct-tcpip to web1:22"},
          {"automation: tag:web only", robot, "db1", 0, "postgres", "exec", "",
           "no role of ci-robot grants target db1"},
      });
}

TEST(Decide, PatternsGroupsAndSources) {
  Subject carol{"carol", {"labbers"}, "10.9.1.1"};
  Subject carol_excluded{"carol", {"labbers"}, "10.9.9.5"};
  Subject carol_outside{"carol", {"labbers"}, "192.0.2.1"};
  Subject dave{"dave", {}, "2001:db8::5"};
  Subject dave4{"dave", {}, "192.0.2.1"};
  Subject erin{"erin", {}, "192.0.2.1"};
  run(load(kLabPolicy),
      {
          {"CIDR on an unnamed address; scp by exec", carol, "10.2.3.4", 0, "root", "scp", "lab",
           "role \"lab\" grants carol root@10.2.3.4 for scp"},
          {"exec", carol, "10.2.3.4", 2222, "root", "exec", "lab",
           "role \"lab\" grants carol root@10.2.3.4 for exec"},
          {"outside the CIDR", carol, "10.3.0.1", 0, "root", "exec", "",
           "no role of carol grants target 10.3.0.1 (no [[target]]; an address pattern would)"},
          {"glob on an unnamed host", carol, "x.lab.example", 0, "root", "exec", "lab",
           "role \"lab\" grants carol root@x.lab.example for exec"},
          {"glob is anchored", carol, "x.lab.example.evil", 0, "root", "exec", "",
           "no role of carol grants target x.lab.example.evil (no [[target]]; an address "
           "pattern would)"},
          {"glob on a named target's address", carol, "box", 0, "anyone", "exec", "lab",
           "role \"lab\" grants carol anyone@box for exec"},
          {"CIDR on a named target's address; it lists no users", carol, "lab1", 0, "root", "exec",
           "lab", "role \"lab\" grants carol root@lab1 for exec"},
          {"CIDR does not match a host name", carol, "web1", 0, "deploy", "exec", "",
           "no role of carol grants target web1"},
          {"excluded by '!' in source", carol_excluded, "lab1", 0, "root", "exec", "",
           "no role of carol applies from 10.9.9.5"},
          {"outside source", carol_outside, "lab1", 0, "root", "exec", "",
           "no role of carol applies from 192.0.2.1"},
          {"shell is not lab's", carol, "lab1", 0, "root", "shell", "",
           "no role of carol grants channel shell to root@lab1"},
          {"members = *", dave, "lab1", 0, "guest", "shell", "everyone",
           "role \"everyone\" grants dave guest@lab1 for shell"},
          {"tag:TAG matches only named targets", dave, "10.2.0.7", 80, "guest", "shell", "",
           "no role of dave grants target 10.2.0.7 (no [[target]]; an address pattern would)"},
          {"members = * still needs the source", dave4, "lab1", 0, "guest", "shell", "",
           "no role of dave applies from 192.0.2.1"},
          {"* grants only listed accounts of a target that lists them", erin, "web1", 0, "root", "",
           "", "no role of erin grants account root on web1"},
          {"a jump-only role", erin, "web1", 22, "", "direct-tcpip", "jump-only",
           "role \"jump-only\" grants erin web1:22 for direct-tcpip"},
          {"a jump-only role logs in nowhere", erin, "web1", 0, "deploy", "shell", "",
           "no role of erin grants channel shell to deploy@web1"},
      });
}

TEST(Decide, NoRolesDeniesEverything) {
  Policy p = load("[[target]]\nname = \"t\"\naddress = \"10.0.0.1\"\n");
  auto t = resolve_target(p, "t", 0);
  ASSERT_TRUE(t);
  for (const char* channel : {"", "shell", "direct-tcpip"}) {
    Decision d = decide(p, Subject{"root", {"root", "wheel"}, "127.0.0.1"}, *t, "root", channel);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.reason, "no role has member root");
    EXPECT_EQ(role_for(p, d), nullptr);
  }
}

TEST(DecideCertificateIssue, OnlyARoleWithIssueCertificatesThatGrantsTargetAndUser) {
  Policy p = example_policy();
  // A second role that grants robot root@web1 but may not issue certificates.
  Role shell_only = *p.find_role("automation");
  shell_only.name = "robot-root";
  shell_only.target_users = {"root"};
  shell_only.issue_certificates = false;
  p.roles.push_back(shell_only);
  Subject alice{"alice", {}, "192.0.2.1"};
  Subject robot{"ci-robot", {}, "10.9.0.3"};
  struct Case {
    const char* what;
    Subject subject;
    std::string target, user;
    std::string role, reason, message;
  } cases[] = {
      {"automation issues deploy@web1", robot, "web1", "deploy", "automation",
       "role \"automation\" grants ci-robot deploy@web1 and issues certificates", ""},
      {"web-ops grants alice deploy@web1 but issues nothing", alice, "web1", "deploy", "",
       "role \"web-ops\" grants deploy@web1 but not issue_certificates",
       "role web-ops may not issue certificates for deploy@web1"},
      {"robot-root grants root@web1 but issues nothing", robot, "web1", "root", "",
       "role \"robot-root\" grants root@web1 but not issue_certificates",
       "role robot-root may not issue certificates for root@web1"},
      {"no role grants the account", robot, "web1", "postgres", "",
       "no role of ci-robot grants account postgres on web1",
       "no role lets ci-robot have certificates for postgres@web1"},
      {"no role grants the target", robot, "db1", "postgres", "",
       "no role of ci-robot grants target db1",
       "no role lets ci-robot have certificates for postgres@db1"},
  };
  for (const Case& c : cases) {
    auto t = resolve_target(p, c.target, 0);
    ASSERT_TRUE(t) << c.what;
    Decision d = decide_certificate_issue(p, c.subject, *t, c.user);
    EXPECT_EQ(d.allowed, !c.role.empty()) << c.what << ": " << d.reason;
    EXPECT_EQ(d.role, c.role) << c.what;
    EXPECT_EQ(d.reason, c.reason) << c.what;
    EXPECT_EQ(d.user_message, c.message) << c.what;
  }
  // decide() itself is unchanged by issue_certificates: robot-root still grants its channels.
  auto web1 = resolve_target(p, "web1", 0);
  EXPECT_TRUE(decide(p, robot, *web1, "root", "exec").allowed);
}

TEST(Reachable, Table) {
  Policy example = example_policy();
  Policy lab = load(kLabPolicy);
  struct Case {
    const char* what;
    const Policy* policy;
    Subject subject;
    std::vector<std::pair<std::string, Strings>> want;
  } cases[] = {
      {"alice: web1 as deploy (db1 lists no deploy)",
       &example,
       {"alice", {}, "192.0.2.1"},
       {{"web1", {"deploy"}}}},
      {"wheel", &example, {"bob", {"wheel"}, "192.0.2.1"}, {{"web1", {"deploy"}}}},
      {"ci-robot", &example, {"ci-robot", {}, "10.9.0.3"}, {{"web1", {"deploy"}}}},
      {"nobody", &example, {"mallory", {}, "192.0.2.1"}, {}},
      {"carol: targets listing no users give \"*\"",
       &lab,
       {"carol", {"labbers"}, "10.9.1.1"},
       {{"lab1", {"*"}}, {"box", {"*"}}}},
      {"carol from outside", &lab, {"carol", {"labbers"}, "10.9.9.1"}, {}},
      {"dave", &lab, {"dave", {}, "2001:db8::1"}, {{"lab1", {"guest"}}}},
      {"erin: a jump-only role lists nothing", &lab, {"erin", {}, "192.0.2.1"}, {}},
  };
  for (const Case& c : cases) {
    std::vector<std::pair<std::string, Strings>> got;
    for (const Reachable& r : reachable_targets(*c.policy, c.subject))
      got.emplace_back(r.target->name, r.target_users);
    EXPECT_EQ(got, c.want) << c.what;
  }
}

}  // namespace
}  // namespace postern::bastion
