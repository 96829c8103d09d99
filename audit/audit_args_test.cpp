#include "audit/audit_args.h"

#include <gtest/gtest.h>

namespace postern::audit {
namespace {

std::string error_of(const std::vector<std::string>& args) {
  auto a = parse_audit_args(args);
  return a ? "(parsed)" : a.error().message;
}

TEST(AuditArgs, EachCommandWithItsOptions) {
  auto v = parse_audit_args({"verify", "a.1", "a"});
  ASSERT_TRUE(v);
  EXPECT_EQ(v->command, Subcommand::kVerify);
  EXPECT_EQ(v->files, (std::vector<std::string>{"a.1", "a"}));

  auto s = parse_audit_args({"sessions", "--policy", "/p.toml", "--user", "alice", "--target",
                             "web1", "--since", "2h", "--json"});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->command, Subcommand::kSessions);
  EXPECT_EQ(s->policy, "/p.toml");
  EXPECT_EQ(s->filter.user, "alice");
  EXPECT_EQ(s->filter.target, "web1");
  EXPECT_EQ(s->since, "2h");
  EXPECT_TRUE(s->json);

  auto show = parse_audit_args({"show", "--policy", "p", "0123456789abcdef"});
  ASSERT_TRUE(show);
  EXPECT_EQ(show->session, "0123456789abcdef");

  auto play = parse_audit_args({"play", "s1", "--policy", "p", "--speed", "2.5", "--no-wait"});
  ASSERT_TRUE(play);
  EXPECT_EQ(play->session, "s1");
  EXPECT_DOUBLE_EQ(play->play.speed, 2.5);
  EXPECT_FALSE(play->play.wait);
  auto ex = parse_audit_args({"export", "--html", "--policy", "p", "00000000000000aa"});
  ASSERT_TRUE(ex);
  EXPECT_EQ(ex->command, Subcommand::kExport);
  EXPECT_TRUE(ex->html);
  EXPECT_EQ(ex->policy, "p");
  EXPECT_EQ(ex->session, "00000000000000aa");
  auto from_log = parse_audit_args({"show", "--from-log", "--policy", "p", "s1"});
  ASSERT_TRUE(from_log);
  EXPECT_TRUE(from_log->from_log);
  EXPECT_FALSE(show->from_log);  // the index when there is one
  auto reindex = parse_audit_args({"reindex", "--policy", "/p.toml"});
  ASSERT_TRUE(reindex);
  EXPECT_EQ(reindex->command, Subcommand::kReindex);
  EXPECT_EQ(reindex->policy, "/p.toml");
  // "--" ends the options: a file named like one still verifies.
  auto dashed = parse_audit_args({"verify", "--", "--odd"});
  ASSERT_TRUE(dashed);
  EXPECT_EQ(dashed->files, std::vector<std::string>{"--odd"});
}

TEST(AuditArgs, MistakesSayWhat) {
  EXPECT_EQ(error_of({}), "no command given");
  EXPECT_EQ(error_of({"frobnicate"}), "unknown command \"frobnicate\"");
  EXPECT_EQ(error_of({"export", "--policy", "p", "s"}), "export: a format is required (--html)");
  EXPECT_EQ(error_of({"export", "--html", "s"}), "export: --policy FILE is required");
  EXPECT_EQ(error_of({"export", "--html", "--policy", "p"}), "export: no SESSION given");
  EXPECT_EQ(error_of({"play", "--html", "--policy", "p", "s"}), "play: unknown option \"--html\"");
  EXPECT_EQ(error_of({"verify"}), "verify: no FILE given");
  EXPECT_EQ(error_of({"sessions"}), "sessions: --policy FILE is required");
  EXPECT_EQ(error_of({"sessions", "--policy"}), "--policy needs a value");
  EXPECT_EQ(error_of({"sessions", "--policy", "p", "extra"}), "sessions: unexpected \"extra\"");
  EXPECT_EQ(error_of({"show", "--policy", "p"}), "show: no SESSION given");
  EXPECT_EQ(error_of({"show", "--policy", "p", "a", "b"}), "show: one SESSION only");
  // Options belong to their command.
  EXPECT_EQ(error_of({"show", "--policy", "p", "--json", "s"}), "show: unknown option \"--json\"");
  EXPECT_EQ(error_of({"verify", "--policy", "p", "f"}), "verify: unknown option \"--policy\"");
  EXPECT_EQ(error_of({"reindex"}), "reindex: --policy FILE is required");
  EXPECT_EQ(error_of({"reindex", "--policy", "p", "x"}), "reindex: unexpected \"x\"");
  EXPECT_EQ(error_of({"reindex", "--policy", "p", "--from-log"}),
            "reindex: unknown option \"--from-log\"");
  for (const char* speed : {"0", "-1", "abc", "1e9", "nan", "inf", ""})
    EXPECT_NE(error_of({"play", "--policy", "p", "--speed", speed, "s"}).find("--speed"),
              std::string::npos)
        << speed;
}

}  // namespace
}  // namespace postern::audit
