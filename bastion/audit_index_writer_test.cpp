#include "bastion/audit_index_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>

#include "bastion/audit_index_schema.h"
#include "bastion/audit_index_test_support.h"

namespace postern::bastion {
namespace {

using namespace std::chrono_literals;
using testing::audit_line;
using testing::TempDir;

IndexLocation sqlite_at(const std::string& path) {
  IndexLocation w;
  w.where = path;
  return w;
}

std::string count(const std::string& path, const std::string& sql) {
  auto db = open_sqlite_index(path, false);
  EXPECT_TRUE(db) << db.error().message;
  if (!db) return "<no db>";
  auto rows = (*db)->query(sql);
  EXPECT_TRUE(rows) << rows.error().message;
  return rows && !rows->empty() && rows->front()[0] ? *rows->front()[0] : "<none>";
}

IndexWriterOptions quick() {
  IndexWriterOptions o;
  o.first_retry = 20ms;
  o.max_retry = 50ms;
  o.drain_at_exit = 300ms;
  return o;
}

TEST(AuditIndexWriter, WritesQueuedLinesToANewDatabase) {
  TempDir dir;
  std::string path = dir.path() + "/sub/audit.db";
  AuditIndexWriter w(sqlite_at(path), quick());
  for (int i = 0; i < 600; ++i)  // more than one batch
    ASSERT_TRUE(w.enqueue(audit_line("2026-12-07T03:15:00.000Z", "login",
                                     "s" + std::to_string(i % 7), "alice", "web1")));
  ASSERT_TRUE(w.drain(10s));
  EXPECT_EQ(w.stats().written, 600u);
  EXPECT_EQ(count(path, "SELECT count(*) FROM events"), "600");
  EXPECT_EQ(count(path, "SELECT count(*) FROM sessions"), "7");
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST(AuditIndexWriter, ALineThatIsNoJsonIsSkippedNotRetried) {
  TempDir dir;
  std::string path = dir.path() + "/audit.db";
  AuditIndexWriter w(sqlite_at(path), quick());
  w.enqueue("{torn");
  w.enqueue(audit_line("2026-12-07T03:15:00.000Z", "login", "s1", "alice", "web1"));
  ASSERT_TRUE(w.drain(10s));
  EXPECT_EQ(w.stats().rejected, 1u);
  EXPECT_EQ(w.stats().written, 1u);
  EXPECT_EQ(count(path, "SELECT count(*) FROM events"), "1");
}

TEST(AuditIndexWriter, ACorruptDatabaseNeverBlocksAndIsRetriedUntilRepaired) {
  TempDir dir;
  std::string path = dir.path() + "/audit.db";
  testing::write_file(path, std::string(8192, 'x'));
  std::atomic<int> reported{0};
  std::string first_error;
  std::mutex mu;
  AuditIndexWriter w(sqlite_at(path), quick(), [&](const std::string& e) {
    std::lock_guard lock(mu);
    if (reported++ == 0) first_error = e;
  });
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 50; ++i)
    EXPECT_TRUE(w.enqueue(audit_line("2026-12-07T03:15:00.000Z", "login", "s1", "alice", "w")));
  // Queueing does not wait for the database.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
  EXPECT_FALSE(w.drain(300ms));
  auto s = w.stats();
  EXPECT_GE(s.failures, 2u);  // retried
  EXPECT_EQ(s.written, 0u);
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(reported.load(), 1) << "the same error is reported once";
    EXPECT_NE(first_error.find("not a database"), std::string::npos) << first_error;
  }
  // The operator moves the broken file away: the next retry writes everything queued.
  std::filesystem::rename(path, path + ".broken");
  ASSERT_TRUE(w.drain(10s));
  EXPECT_EQ(w.stats().written, 50u);
  EXPECT_EQ(count(path, "SELECT count(*) FROM events"), "50");
}

TEST(AuditIndexWriter, ADatabaseNewerThanTheBinaryIsNotWritten) {
  TempDir dir;
  std::string path = dir.path() + "/audit.db";
  {
    auto db = open_sqlite_index(path, true);
    ASSERT_TRUE(db);
    ASSERT_TRUE(migrate_index(**db));
    ASSERT_TRUE((*db)->query("UPDATE schema_version SET version = 7"));
  }
  AuditIndexWriter w(sqlite_at(path), quick());
  w.enqueue(audit_line("2026-12-07T03:15:00.000Z", "login", "s1", "alice", "web1"));
  EXPECT_FALSE(w.drain(200ms));
  EXPECT_NE(w.stats().last_error.find("newer than this postern's"), std::string::npos)
      << w.stats().last_error;
  EXPECT_EQ(count(path, "SELECT count(*) FROM events"), "0");
}

TEST(AuditIndexWriter, AFullQueueDropsAndCountsInsteadOfWaiting) {
  TempDir dir;
  std::string path = dir.path() + "/audit.db";
  testing::write_file(path, std::string(8192, 'x'));
  IndexWriterOptions o = quick();
  o.max_queued = 3;
  o.batch = 1;
  AuditIndexWriter w(sqlite_at(path), o);
  int accepted = 0;
  for (int i = 0; i < 10; ++i)
    accepted += w.enqueue(audit_line("2026-12-07T03:15:00.000Z", "login", "s", "a", "w"));
  // At most the queue plus the one line the thread holds.
  EXPECT_LE(accepted, 4);
  EXPECT_EQ(w.stats().dropped, uint64_t(10 - accepted));
}

TEST(AuditIndexWriter, EndingWithAFailingDatabaseDoesNotHang) {
  TempDir dir;
  std::string path = dir.path() + "/audit.db";
  testing::write_file(path, std::string(8192, 'x'));
  IndexWriterOptions o = quick();
  o.drain_at_exit = 5s;
  auto w = std::make_unique<AuditIndexWriter>(sqlite_at(path), o);
  w->enqueue(audit_line("2026-12-07T03:15:00.000Z", "login", "s1", "alice", "web1"));
  EXPECT_FALSE(w->drain(200ms));  // it has failed by now
  auto t0 = std::chrono::steady_clock::now();
  w.reset();
  // Not the 5 s drain_at_exit: a failing database is not waited for.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
}

TEST(AuditIndexWriter, OffWritesNothing) {
  TempDir dir;
  IndexLocation off;
  off.enabled = false;
  AuditIndexWriter w(off, quick());
  EXPECT_TRUE(w.enqueue("{}"));
  EXPECT_TRUE(w.drain(10ms));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

}  // namespace
}  // namespace postern::bastion
