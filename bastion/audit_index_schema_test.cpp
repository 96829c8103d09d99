#include "bastion/audit_index_schema.h"

#include <gtest/gtest.h>

#include "bastion/audit_index_test_support.h"

namespace postern::bastion {
namespace {

using testing::audit_line;
using testing::TempDir;

std::unique_ptr<IndexDb> fresh(const TempDir& dir, const std::string& name = "audit.db") {
  auto db = open_sqlite_index(dir.path() + "/" + name, true);
  EXPECT_TRUE(db) << db.error().message;
  return std::move(*db);
}

std::string one(IndexDb& db, const std::string& sql) {
  auto rows = db.query(sql);
  EXPECT_TRUE(rows) << rows.error().message;
  if (!rows || rows->empty() || rows->front().empty() || !rows->front()[0]) return "<none>";
  return *rows->front()[0];
}

TEST(IndexLocation, BesideTheLogByDefault) {
  auto w = index_location("", "/var/log/postern/audit.jsonl");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->kind, DbKind::kSqlite);
  EXPECT_EQ(w->where, "/var/log/postern/audit.db");
  EXPECT_EQ(index_location("", "/var/log/post.ern/audit")->where, "/var/log/post.ern/audit.db");
  EXPECT_EQ(index_location("sqlite:/srv/a.db", "/x/audit.jsonl")->where, "/srv/a.db");
  auto pg = index_location("postgresql://u@/db?host=/run/pg", "/x");
  ASSERT_TRUE(pg);
  EXPECT_EQ(pg->kind, DbKind::kPostgres);
  EXPECT_FALSE(index_location("off", "/x")->enabled);
  EXPECT_FALSE(index_location("sqlite:relative.db", "/x"));
  EXPECT_FALSE(index_location("mysql://x", "/x"));
}

TEST(IndexSchema, MigratesAnEmptyDatabaseOnceToTheCurrentVersion) {
  TempDir dir;
  auto db = fresh(dir);
  EXPECT_EQ(*index_schema_version(*db), 0);
  EXPECT_FALSE(check_index_readable(*db));
  ASSERT_TRUE(migrate_index(*db));
  EXPECT_EQ(*index_schema_version(*db), kIndexSchemaVersion);
  // Applying again changes nothing and is no error.
  ASSERT_TRUE(migrate_index(*db));
  EXPECT_EQ(one(*db, "SELECT count(*) FROM schema_version"), "1");
  EXPECT_TRUE(check_index_readable(*db));
  // Migration 2's views exist.
  EXPECT_EQ(one(*db, "SELECT count(*) FROM channels"), "0");
  EXPECT_EQ(one(*db, "SELECT count(*) FROM file_events"), "0");
}

TEST(IndexSchema, MigratesFromVersionOne) {
  TempDir dir;
  auto db = fresh(dir);
  ASSERT_TRUE(migrate_index(*db));
  // Back to what migration 1 left, as an older postern would have: migration 2 is applied.
  ASSERT_TRUE(db->query("DROP VIEW channels"));
  ASSERT_TRUE(db->query("DROP VIEW file_events"));
  ASSERT_TRUE(db->query("UPDATE schema_version SET version = 1"));
  ASSERT_TRUE(migrate_index(*db));
  EXPECT_EQ(*index_schema_version(*db), 2);
  EXPECT_EQ(one(*db, "SELECT count(*) FROM file_events"), "0");
}

TEST(IndexSchema, RefusesADatabaseNewerThanTheBinary) {
  TempDir dir;
  auto db = fresh(dir);
  ASSERT_TRUE(migrate_index(*db));
  ASSERT_TRUE(db->query("UPDATE schema_version SET version = 99"));
  auto refused = migrate_index(*db);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("schema version 99 is newer"), std::string::npos)
      << refused.error().message;
  EXPECT_FALSE(check_index_readable(*db));
  EXPECT_EQ(one(*db, "SELECT version FROM schema_version"), "99");  // left as it was
}

TEST(IndexSchema, ACorruptFileIsAClearError) {
  TempDir dir;
  std::string path = dir.path() + "/audit.db";
  testing::write_file(path, std::string(8192, 'x'));
  auto db = open_sqlite_index(path, true);
  ASSERT_FALSE(db);
  EXPECT_NE(db.error().message.find("not a database"), std::string::npos) << db.error().message;
  EXPECT_NE(db.error().message.find(path), std::string::npos);
}

TEST(IndexSchema, AMissingFileIsNotCreatedForReaders) {
  TempDir dir;
  EXPECT_FALSE(open_sqlite_index(dir.path() + "/none.db", false));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/none.db"));
}

TEST(IndexSchema, LinesSumUpToTheirSessionOnce) {
  TempDir dir;
  auto db = fresh(dir);
  ASSERT_TRUE(migrate_index(*db));
  std::string a = audit_line("2026-12-07T03:15:00.123Z", "login", "s1", "alice", "web1");
  std::string b = audit_line("2026-12-07T03:16:00.000Z", "channel-close", "s1", "alice", "web1",
                             "0", "/rec/1.cast");
  std::string c = audit_line("2026-12-07T03:17:00.000Z", "target-open", "s1", "", "db1");
  for (const auto& l : {a, b, c}) {
    auto added = index_audit_line(*db, l);
    ASSERT_TRUE(added) << added.error().message;
    EXPECT_TRUE(*added);
  }
  // The same line again (reindex): not counted twice.
  auto again = index_audit_line(*db, b);
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  EXPECT_EQ(one(*db, "SELECT count(*) FROM events"), "3");
  EXPECT_EQ(one(*db, "SELECT events FROM sessions WHERE id = 's1'"), "3");
  EXPECT_EQ(one(*db, "SELECT start_time FROM sessions"), "2026-12-07T03:15:00.123Z");
  EXPECT_EQ(one(*db, "SELECT end_time FROM sessions"), "2026-12-07T03:17:00.000Z");
  EXPECT_EQ(one(*db, "SELECT bastion_user FROM sessions"), "alice");
  EXPECT_EQ(one(*db, "SELECT target FROM sessions"), "web1");
  EXPECT_EQ(one(*db, "SELECT exit_status FROM sessions"), "0");
  EXPECT_EQ(one(*db, "SELECT recording FROM sessions"), "/rec/1.cast");
  EXPECT_EQ(one(*db, "SELECT count(*) FROM session_targets WHERE session = 's1'"), "2");
  EXPECT_EQ(one(*db, "SELECT count(*) FROM channels"), "1");
  EXPECT_EQ(one(*db, "SELECT line FROM events WHERE event = 'login'"), a);
  EXPECT_FALSE(index_audit_line(*db, "not json"));
}

TEST(IndexSchema, AuditTimes) {
  EXPECT_EQ(audit_time_ms("1970-01-01T00:00:01.250Z"), 1250);
  EXPECT_EQ(audit_time_ms("2026-12-07T03:15:00.123Z"), 1796613300123);
  EXPECT_EQ(audit_time_ms("2026-12-07T03:15:00Z"), 0);
  EXPECT_EQ(audit_time_ms("2026-12-07T03:15:0x.123Z"), 0);
}

}  // namespace
}  // namespace postern::bastion
