#include "bastion/audit_log.h"

#include "bastion/audit_chain.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

namespace postern::bastion {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr uint64_t kMs = 1893456000123;  // 2030-01-01T00:00:00.123Z

std::vector<std::string> lines_of(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

AuditEvent denied_open() {
  AuditEvent e;
  e.event = "target-open";
  e.session = "s-42";
  e.bastion_user = "alice";
  e.client = "10.0.0.1";
  e.target = "web1";
  e.target_user = "root";
  e.channel = "shell";
  e.decision = "deny";
  e.reason = "no role lets alice reach root@web1 for shell";
  return e;
}

TEST(AuditJsonLine, EveryFieldInOrder) {
  EXPECT_EQ(
      audit_json_line(denied_open(), kMs, kChainAnchor),
      R"({"time":"2030-01-01T00:00:00.123Z","event":"target-open","session":"s-42",)"
      R"("bastion_user":"alice","client":"10.0.0.1","target":"web1","target_user":"root",)"
      R"("channel":"shell","decision":"deny",)"
      R"("reason":"no role lets alice reach root@web1 for shell","role":"","detail":"",)"
      R"("bytes_up":0,"bytes_down":0,"exit_status":null,"recording":"",)"
      R"("recording_sha256":"","prev":"0000000000000000000000000000000000000000000000000000000000000000"})"
      "\n");
  // Even an empty event has every key.
  json j = json::parse(audit_json_line(AuditEvent{}, 5, std::string(64, 'f')));
  EXPECT_EQ(j.size(), 18u);
  EXPECT_EQ(j["prev"], std::string(64, 'f'));
  EXPECT_EQ(j["time"], "1970-01-01T00:00:00.005Z");
}

TEST(AuditJsonLine, BytesExitStatusAndRecording) {
  AuditEvent e;
  e.event = "channel-close";
  e.session = "s";
  e.exit_status = "0";
  e.recording = "/var/lib/postern/recordings/x.cast";
  e.recording_sha256 = std::string(64, 'a');
  json j = json::parse(audit_json_line(e, kMs, kChainAnchor));
  // A close event counts its bytes even when none went by.
  EXPECT_EQ(j["bytes_up"], 0);
  EXPECT_EQ(j["bytes_down"], 0);
  EXPECT_EQ(j["exit_status"], "0");
  EXPECT_EQ(j["recording"], e.recording);
  EXPECT_EQ(j["recording_sha256"], e.recording_sha256);

  e.event = "channel-open";
  EXPECT_EQ(json::parse(audit_json_line(e, kMs, kChainAnchor))["bytes_up"], 0);
  e.bytes_down = 1ull << 40;
  j = json::parse(audit_json_line(e, kMs, kChainAnchor));
  EXPECT_EQ(j["bytes_down"], 1ull << 40);
  EXPECT_EQ(j["bytes_up"], 0);
}

TEST(AuditJsonLine, HostileBytesStayInsideOneLine) {
  AuditEvent e = denied_open();
  e.target = "web1\nfake\"}{\"event\":\"login\x1b[2J";
  e.detail = std::string("bad utf-8: \xff\xfe end") + '\0' + "after nul";
  std::string line = audit_json_line(e, kMs, kChainAnchor);
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_EQ(line.find('\x1b'), std::string::npos);
  json j = json::parse(line);
  EXPECT_EQ(j["target"], e.target);
  EXPECT_EQ(j["event"], "target-open");
  // Invalid UTF-8 becomes U+FFFD rather than breaking the line.
  EXPECT_EQ(j["detail"],
            std::string("bad utf-8: \xef\xbf\xbd\xef\xbf\xbd end") + '\0' + "after nul");
}

TEST(AuditJsonLine, LongFieldsAreCutAtACharacterBoundary) {
  AuditEvent e = denied_open();
  e.reason = std::string(10000, 'r');
  e.detail = std::string(5000, 'x');
  for (int i = 0; i < 2000; ++i) e.detail += "\xc3\xa9";  // é
  json j = json::parse(audit_json_line(e, kMs, kChainAnchor));
  std::string reason = j["reason"], detail = j["detail"];
  EXPECT_LE(reason.size(), kMaxAuditField);
  EXPECT_GE(reason.size(), kMaxAuditField - 8);
  EXPECT_EQ(reason.substr(reason.size() - 3), "...");
  EXPECT_LE(detail.size(), kMaxAuditField);
  // No U+FFFD: the cut fell between characters.
  EXPECT_EQ(detail.find("\xef\xbf\xbd"), std::string::npos);
  // The byte limit falls inside the first é: it goes whole.
  e.detail = std::string(4092, 'x') + "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";
  EXPECT_EQ(json::parse(audit_json_line(e, kMs, kChainAnchor))["detail"],
            std::string(4092, 'x') + "...");
  e.detail = std::string(4090, 'x') + "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";
  EXPECT_EQ(json::parse(audit_json_line(e, kMs, kChainAnchor))["detail"],
            std::string(4090, 'x') + "\xc3\xa9...");
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/postern-audit.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    m_dir = tmpl;
  }
  void TearDown() override { fs::remove_all(m_dir); }
  fs::path m_dir;
};

TEST_F(AuditLogTest, AppendsLinesCreatingFileAndDirectoriesPrivately) {
  fs::path path = m_dir / "log" / "postern" / "audit.jsonl";
  AuditLog log(path.string());
  ASSERT_TRUE(log.write(denied_open()));
  AuditEvent close;
  close.event = "session-close";
  close.session = "s-42";
  close.bytes_up = 10;
  std::string written;  // what the session index is given: the line as it is in the file
  ASSERT_TRUE(log.write(close, &written));

  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(stat((m_dir / "log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(stat((m_dir / "log" / "postern").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);

  auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), 2u);
  json first = json::parse(lines[0]), second = json::parse(lines[1]);
  EXPECT_EQ(first["decision"], "deny");
  EXPECT_EQ(second["event"], "session-close");
  EXPECT_EQ(second["bytes_up"], 10);
  EXPECT_EQ(written, lines[1]);
  std::string time = first["time"];
  ASSERT_EQ(time.size(), 24u) << time;  // 2030-01-01T00:00:00.123Z
  EXPECT_EQ(time[10], 'T');
  EXPECT_EQ(time[19], '.');
  EXPECT_EQ(time.back(), 'Z');
}

TEST_F(AuditLogTest, RefusesWhatItCannotWrite) {
  auto relative = AuditLog("audit.jsonl").write(denied_open());
  ASSERT_FALSE(relative);
  EXPECT_NE(relative.error().message.find("not absolute"), std::string::npos);
  std::ofstream(m_dir / "file") << "x";
  auto under_file = AuditLog((m_dir / "file" / "audit.jsonl").string()).write(denied_open());
  ASSERT_FALSE(under_file);
  EXPECT_NE(under_file.error().message.find("audit.jsonl"), std::string::npos);
}

TEST_F(AuditLogTest, ConcurrentMonitorsWriteWholeLines) {
  const std::string path = (m_dir / "audit.jsonl").string();
  constexpr int kProcs = 4, kEach = 150;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      AuditLog log(path);
      AuditEvent e = denied_open();
      e.session = "proc" + std::to_string(p);
      // Long lines, so a write the kernel split would show.
      e.detail = std::string(3000, char('a' + p));
      for (int i = 0; i < kEach; ++i) {
        e.bytes_up = uint64_t(i) + 1;
        if (!log.write(e)) _exit(1);
      }
      _exit(0);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  std::map<std::string, int> per_process;
  auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), size_t(kProcs * kEach));
  // One chain through all processes' lines: each names the hash of the line before it, so no
  // two writers read the same tail.
  std::string expected_prev(kChainAnchor);
  for (const auto& line : lines) {
    json j = json::parse(line);  // throws (fails the test) on a torn line
    ASSERT_EQ(j["prev"], expected_prev);
    expected_prev = audit_line_hash(line);
    std::string session = j["session"];
    ASSERT_EQ(session.size(), 5u);
    int p = session[4] - '0';
    EXPECT_EQ(j["detail"], std::string(3000, char('a' + p)));
    EXPECT_EQ(j["bytes_up"], ++per_process[session]);  // each process's lines in its order
  }
  EXPECT_EQ(per_process.size(), size_t(kProcs));
}

TEST(AuditSyslogLine, KeyValuesWithQuotedReason) {
  AuditEvent e = denied_open();
  e.reason = "no role lets alice reach root@web1 for shell";
  EXPECT_EQ(audit_syslog_line(e),
            "audit: event=target-open session=s-42 decision=deny user=alice client=10.0.0.1 "
            "target=web1 target_user=root channel=shell role=- "
            "reason=\"no role lets alice reach root@web1 for shell\"");
  AuditEvent close;
  close.event = "channel-close";
  close.session = "s";
  close.bytes_down = 7;
  close.exit_status = "signal TERM";
  EXPECT_EQ(audit_syslog_line(close),
            "audit: event=channel-close session=s decision=- user=- client=- target=- "
            "target_user=- channel=- role=- bytes_up=0 bytes_down=7 "
            "exit_status=\"signal TERM\" reason=-");
}

// Every field set: each in its syslog place (the JSON line has its own order, one table
// drives both), the free text last and quoted.
TEST(AuditSyslogLine, EveryFieldInItsPlace) {
  AuditEvent e = denied_open();
  e.event = "channel-close";
  e.decision = "allow";
  e.role = "ops";
  e.reason = "closed";
  e.detail = "by the target";
  e.exit_status = "0";
  e.recording = "/var/log/postern/r.cast";
  e.recording_sha256 = "ab12";
  EXPECT_EQ(audit_syslog_line(e),
            "audit: event=channel-close session=s-42 decision=allow user=alice client=10.0.0.1 "
            "target=web1 target_user=root channel=shell role=ops bytes_up=0 bytes_down=0 "
            "exit_status=0 recording=/var/log/postern/r.cast recording_sha256=ab12 "
            "reason=\"closed\" detail=\"by the target\"");
  // Not a close, no bytes: the counts are left out, and the unset optional fields too.
  AuditEvent open = denied_open();
  open.reason.clear();
  open.exit_status = "";
  EXPECT_EQ(audit_syslog_line(open),
            "audit: event=target-open session=s-42 decision=deny user=alice client=10.0.0.1 "
            "target=web1 target_user=root channel=shell role=- exit_status=- reason=-");
}

TEST(AuditSyslogLine, HostileValuesCannotForgeFieldsOrLines) {
  AuditEvent e = denied_open();
  e.target = "web1 decision=allow";
  e.bastion_user = "al\"ice\\";
  e.reason = "line\nbreak \x1b and \xff";
  std::string line = audit_syslog_line(e);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\x1b'), std::string::npos);
  EXPECT_NE(line.find("target=\"web1 decision=allow\""), std::string::npos) << line;
  EXPECT_NE(line.find("user=\"al\\\"ice\\\\\""), std::string::npos) << line;
  EXPECT_NE(line.find("reason=\"line\\x0abreak \\x1b and \\xff\""), std::string::npos) << line;
  e.detail = std::string(5000, 'd');
  EXPECT_LT(audit_syslog_line(e).size(), 2000u);
}

}  // namespace
}  // namespace postern::bastion
