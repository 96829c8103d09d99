#include "audit/audit_sessions.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "audit/audit_time.h"

namespace postern::audit {
namespace {

namespace fs = std::filesystem;
using json = AuditJson;

json ev(const std::string& time, const std::string& event, const std::string& session,
        json extra = json::object()) {
  json j = {{"time", time},       {"event", event},         {"session", session},
            {"bastion_user", ""}, {"client", ""},           {"target", ""},
            {"target_user", ""},  {"channel", ""},          {"decision", ""},
            {"bytes_up", 0},      {"bytes_down", 0},        {"exit_status", nullptr},
            {"recording", ""},    {"recording_sha256", ""}, {"prev", std::string(64, '0')}};
  for (auto& [k, v] : extra.items()) j[k] = v;
  return j;
}

std::vector<json> alice_session() {
  json who = {{"bastion_user", "alice"}, {"client", "10.0.0.1 port 5555"}};
  json tgt = who;
  tgt["target"] = "web1";
  tgt["target_user"] = "deploy";
  auto with = [](json a, json b) {
    for (auto& [k, v] : b.items()) a[k] = v;
    return a;
  };
  return {
      ev("2030-01-01T10:00:00.000Z", "login", "s1", with(tgt, {{"decision", "allow"}})),
      ev("2030-01-01T10:00:01.000Z", "channel", "s1",
         with(tgt, {{"decision", "allow"}, {"channel", "shell"}})),
      ev("2030-01-01T10:00:01.500Z", "channel", "s1",
         with(tgt, {{"decision", "deny"}, {"channel", "x11"}})),
      ev("2030-01-01T10:05:00.000Z", "channel-close", "s1",
         with(tgt, {{"channel", "shell"},
                    {"bytes_down", 1234},
                    {"exit_status", "0"},
                    {"recording", "/rec/a.cast"}})),
      ev("2030-01-01T10:05:01.000Z", "target-close", "s1", with(tgt, {{"detail", "closed"}})),
  };
}

TEST(SessionIndex, SumsUpEachSession) {
  SessionIndex index;
  for (const auto& e : alice_session()) index.add(e);
  index.add(ev("2030-01-02T00:00:00.000Z", "login", "s2",
               {{"bastion_user", "bob"}, {"target", "db1"}, {"decision", "deny"}}));
  index.add(json{{"event", "odd"}});  // no session: nothing to sum up
  ASSERT_EQ(index.sessions().size(), 2u);
  const SessionSummary& s = index.sessions()[0];
  EXPECT_EQ(s.id, "s1");
  EXPECT_EQ(s.start, "2030-01-01T10:00:00.000Z");
  EXPECT_EQ(s.end, "2030-01-01T10:05:01.000Z");
  EXPECT_EQ(s.bastion_user, "alice");
  EXPECT_EQ(s.client, "10.0.0.1 port 5555");
  EXPECT_EQ(s.targets, std::vector<std::string>{"deploy@web1"});
  EXPECT_EQ(s.channels, std::vector<std::string>{"shell"});  // x11 was refused
  EXPECT_EQ(s.exit_status, "0");
  EXPECT_EQ(s.recordings, std::vector<std::string>{"/rec/a.cast"});
  EXPECT_EQ(session_text_line(s),
            "s1\t2030-01-01T10:00:00.000Z\t2030-01-01T10:05:01.000Z\talice\t10.0.0.1 port 5555\t"
            "deploy@web1\tshell\t0\t/rec/a.cast");
  EXPECT_EQ(session_text_line(index.sessions()[1]),
            "s2\t2030-01-02T00:00:00.000Z\t2030-01-02T00:00:00.000Z\tbob\t-\tdb1\t-\t-\t-");
  json j = session_json(s);
  EXPECT_EQ(j["targets"], json::array({"deploy@web1"}));
  EXPECT_EQ(j["exit_status"], "0");
  EXPECT_EQ(session_json(index.sessions()[1])["exit_status"], nullptr);
}

TEST(SessionFilter, UserTargetAndSince) {
  SessionIndex index;
  for (const auto& e : alice_session()) index.add(e);
  const SessionSummary& s = index.sessions()[0];
  EXPECT_TRUE((SessionFilter{}.matches(s)));
  EXPECT_TRUE((SessionFilter{"alice", {}, {}}.matches(s)));
  EXPECT_FALSE((SessionFilter{"bob", {}, {}}.matches(s)));
  EXPECT_TRUE((SessionFilter{{}, "web1", {}}.matches(s)));
  EXPECT_TRUE((SessionFilter{{}, "deploy@web1", {}}.matches(s)));
  EXPECT_FALSE((SessionFilter{{}, "web", {}}.matches(s)));
  int64_t end = *parse_rfc3339_ms("2030-01-01T10:05:01Z");
  EXPECT_TRUE((SessionFilter{{}, {}, end}.matches(s)));
  EXPECT_FALSE((SessionFilter{{}, {}, end + 1}.matches(s)));
}

TEST(EventTextLine, ShowsWhatSaysSomethingWhateverTheEvent) {
  auto events = alice_session();
  EXPECT_EQ(event_text_line(events[3]),
            "2030-01-01T10:05:00.000Z channel-close bastion_user=alice "
            "client=\"10.0.0.1 port 5555\" target=web1 target_user=deploy channel=shell "
            "bytes_up=0 bytes_down=1234 exit_status=0 recording=/rec/a.cast");
  // An event type postern-audit does not know (file operations) shows all its fields.
  json file_op = ev("2030-01-01T10:01:00.000Z", "file-write", "s1",
                    {{"path", "/etc/motd"}, {"bytes", 42}, {"sha256", "ab12"}});
  EXPECT_EQ(event_text_line(file_op),
            "2030-01-01T10:01:00.000Z file-write path=/etc/motd bytes=42 sha256=ab12");
  // Terminal control bytes from a hostile name are shown, not obeyed.
  json hostile = ev("t", "login", "s",
                    {{"target",
                      "web\x1b]0;owned\x07\xc2\x9b"
                      "2J"}});
  EXPECT_EQ(event_text_line(hostile), "t login target=web\\x1b]0;owned\\x07\\u009b2J");
}

TEST(Rfc3339, ParsesWhatTheLogAndPeopleWrite) {
  EXPECT_EQ(parse_rfc3339_ms("1970-01-01T00:00:00.005Z"), 5);
  EXPECT_EQ(parse_rfc3339_ms("2030-01-01T00:00:00Z"), 1893456000000);
  EXPECT_EQ(parse_rfc3339_ms("2030-01-01T01:00:00+01:00"), 1893456000000);
  EXPECT_EQ(parse_rfc3339_ms("2029-12-31t23:00:00.5-01:00"), 1893456000500);
  for (const char* bad : {"", "2030-01-01", "2030-13-01T00:00:00Z", "2030-02-30T00:00:00Z",
                          "2030-01-01T24:00:00Z", "2030-01-01T00:00:00", "2030-01-01T00:00:00.Z",
                          "2030-01-01T00:00:00+1:00", "x030-01-01T00:00:00Z"})
    EXPECT_FALSE(parse_rfc3339_ms(bad)) << bad;
  EXPECT_TRUE(parse_rfc3339_ms("2028-02-29T00:00:00Z"));
  EXPECT_EQ(*parse_since("2030-01-01", 0), 1893456000000);
  EXPECT_EQ(*parse_since("90s", 100000), 10000);
  EXPECT_EQ(*parse_since("2h", 7200000), 0);
  EXPECT_EQ(*parse_since("1d", 86400000), 0);
  EXPECT_FALSE(parse_since("yesterday", 0));
  EXPECT_FALSE(parse_since("5w", 0));
  EXPECT_FALSE(parse_since("h", 0));
}

class AuditFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/postern-sessions.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    m_dir = tmpl;
    m_log = (m_dir / "audit.jsonl").string();
  }
  void TearDown() override { fs::remove_all(m_dir); }
  fs::path m_dir;
  std::string m_log;
};

TEST_F(AuditFiles, RotatedFilesOldestFirstAndBadLinesSkippedWithTheirPlace) {
  EXPECT_TRUE(audit_files(m_log).empty());
  std::ofstream(m_log + ".2") << ev("t1", "login", "a").dump() << "\n";
  std::ofstream(m_log + ".1") << "not json\n" << ev("t2", "login", "b").dump() << "\n[1]\n";
  std::ofstream(m_log) << ev("t3", "login", "c").dump();  // no final newline
  std::ofstream(m_log + ".4") << "a gap: .3 is missing, so .4 is not this log's\n";
  EXPECT_EQ(audit_files(m_log), (std::vector<std::string>{m_log + ".2", m_log + ".1", m_log}));
  std::vector<std::string> seen;
  std::ostringstream warn;
  auto skipped = for_each_event(
      audit_files(m_log), [&](const json& e) { seen.push_back(e["session"]); }, warn);
  ASSERT_TRUE(skipped);
  EXPECT_EQ(*skipped, 2u);
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_NE(warn.str().find("audit.jsonl.1:1: skipped: not a JSON object"), std::string::npos);
  EXPECT_NE(warn.str().find("audit.jsonl.1:3: skipped: not a JSON object"), std::string::npos);
  fs::remove(m_log);
  fs::create_directory(m_log);  // unreadable as a file: an error, not a crash
  EXPECT_FALSE(for_each_event(
      {m_log}, [](const json&) {}, warn));
}

}  // namespace
}  // namespace postern::audit
