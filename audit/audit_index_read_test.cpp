#include "audit/audit_index_read.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "bastion/audit_index_schema.h"
#include "bastion/audit_log.h"

namespace postern::audit {
namespace {

namespace fs = std::filesystem;

class IndexReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/postern-index-read.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    m_dir = tmpl;
    m_policy.bastion.audit_log = (m_dir / "audit.jsonl").string();
  }
  void TearDown() override { fs::remove_all(m_dir); }

  // A log of `n` sessions the monitor's own writer wrote: users alternate, targets rotate.
  void write_log(int n) {
    bastion::AuditLog log(m_policy.bastion.audit_log);
    for (int i = 0; i < n; ++i) {
      bastion::AuditEvent e;
      e.session = "s" + std::to_string(i);
      e.bastion_user = i % 2 ? "alice" : "bob";
      e.client = "127.0.0.1 port " + std::to_string(5000 + i);
      e.event = "login";
      e.decision = "allow";
      ASSERT_TRUE(log.write(e));
      e.event = "channel";
      e.target = "web" + std::to_string(i % 3);
      e.target_user = i % 4 ? "root" : "deploy";
      e.channel = "shell";
      ASSERT_TRUE(log.write(e));
      e.event = "channel-close";
      e.exit_status = std::to_string(i % 5);
      e.recording = "/rec/" + e.session + ".cast";
      e.bytes_up = 7;
      ASSERT_TRUE(log.write(e));
    }
  }

  std::unique_ptr<bastion::IndexDb> reindexed() {
    auto db = bastion::open_sqlite_index((m_dir / "audit.db").string(), true);
    EXPECT_TRUE(db) << db.error().message;
    std::stringstream warn;
    auto counts = reindex_files(**db, audit_files(m_policy.bastion.audit_log), warn);
    EXPECT_TRUE(counts) << counts.error().message;
    return std::move(*db);
  }

  std::vector<std::string> from_log(const SessionFilter& f) {
    SessionIndex index;
    std::stringstream warn;
    EXPECT_TRUE(for_each_event(
        audit_files(m_policy.bastion.audit_log), [&](const AuditJson& ev) { index.add(ev); },
        warn));
    std::vector<std::string> out;
    for (const auto& s : index.sessions())
      if (f.matches(s)) out.push_back(session_text_line(s));
    return out;
  }

  std::vector<std::string> from_index(bastion::IndexDb& db, const SessionFilter& f) {
    std::vector<std::string> out;
    auto done = index_sessions(
        db, f, [&](const SessionSummary& s) { out.push_back(session_text_line(s)); });
    EXPECT_TRUE(done) << done.error().message;
    return out;
  }

  fs::path m_dir;
  bastion::Policy m_policy;
};

TEST_F(IndexReadTest, SessionsFromTheIndexAreThoseFromTheLog) {
  write_log(24);
  auto db = reindexed();
  std::vector<SessionFilter> filters(6);
  filters[1].user = "alice";
  filters[2].target = "web1";
  filters[3].target = "deploy@web0";
  filters[4].user = "bob";
  filters[4].target = "web2";
  filters[5].since_ms = 0;
  for (size_t i = 0; i < filters.size(); ++i) {
    auto expected = from_log(filters[i]);
    EXPECT_FALSE(expected.empty()) << "filter " << i << " selects nothing: a weak test";
    EXPECT_EQ(from_index(*db, filters[i]), expected) << "filter " << i;
  }
  EXPECT_EQ(from_log({}).size(), 24u);
  SessionFilter nobody;
  nobody.user = "carol";
  EXPECT_TRUE(from_index(*db, nobody).empty());
  SessionFilter future;
  future.since_ms = int64_t(4102444800000);  // 2100
  EXPECT_TRUE(from_index(*db, future).empty());
}

TEST_F(IndexReadTest, ShowReadsTheEventsAsLogged) {
  write_log(3);
  auto db = reindexed();
  auto events = index_session_events(*db, "s1");
  ASSERT_TRUE(events);
  std::vector<std::string> logged;
  std::stringstream warn;
  ASSERT_TRUE(for_each_event(
      audit_files(m_policy.bastion.audit_log),
      [&](const AuditJson& ev) {
        if (ev["session"] == "s1") logged.push_back(event_text_line(ev));
      },
      warn));
  ASSERT_EQ(events->size(), 3u);
  std::vector<std::string> shown;
  for (const auto& ev : *events) shown.push_back(event_text_line(ev));
  EXPECT_EQ(shown, logged);
  EXPECT_TRUE(index_session_events(*db, "nonesuch")->empty());
}

TEST_F(IndexReadTest, ReindexIsIdempotentAndSkipsTornLines) {
  write_log(5);
  std::ofstream(m_policy.bastion.audit_log, std::ios::app) << "{\"torn\n";
  auto db = bastion::open_sqlite_index((m_dir / "audit.db").string(), true);
  ASSERT_TRUE(db);
  std::stringstream warn;
  auto first = reindex_files(**db, audit_files(m_policy.bastion.audit_log), warn);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->lines, 16u);
  EXPECT_EQ(first->added, 15u);
  EXPECT_EQ(first->skipped, 1u);
  EXPECT_NE(warn.str().find("audit.jsonl:16: skipped: not a JSON object"), std::string::npos)
      << warn.str();
  auto second = reindex_files(**db, audit_files(m_policy.bastion.audit_log), warn);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->added, 0u);
  EXPECT_EQ(from_index(**db, {}), from_log({}));
}

TEST_F(IndexReadTest, NoIndexAQuietFallbackABrokenOneAWarnedFallback) {
  auto none = open_index_for_reading(m_policy);
  EXPECT_FALSE(none.db);
  EXPECT_EQ(none.why_not, "");
  EXPECT_FALSE(fs::exists(m_dir / "audit.db"));  // readers create nothing

  std::ofstream(m_dir / "audit.db") << std::string(4096, 'x');
  auto corrupt = open_index_for_reading(m_policy);
  EXPECT_FALSE(corrupt.db);
  EXPECT_NE(corrupt.why_not.find("not a database"), std::string::npos) << corrupt.why_not;

  fs::remove(m_dir / "audit.db");
  write_log(1);
  auto db = reindexed();
  ASSERT_TRUE(db->query("UPDATE schema_version SET version = 42"));
  auto newer = open_index_for_reading(m_policy);
  EXPECT_FALSE(newer.db);
  EXPECT_NE(newer.why_not.find("schema version 42 is newer"), std::string::npos) << newer.why_not;

  ASSERT_TRUE(db->query("UPDATE schema_version SET version = $1",
                        {std::to_string(bastion::kIndexSchemaVersion)}));
  EXPECT_TRUE(open_index_for_reading(m_policy).db);
  m_policy.bastion.audit_database = "off";
  EXPECT_FALSE(open_index_for_reading(m_policy).db);
}

}  // namespace
}  // namespace postern::audit
