// The session index in SQLite (audit_index_db.h): the default, a file beside the audit log.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "bastion/audit_index_db.h"
#include "bastion/sqlite_api.h"

namespace postern::bastion {
namespace {

// How long a writer waits for another monitor's transaction before giving up (and retrying
// later from its queue): long enough for a batch, short enough that the queue never stalls.
constexpr int kBusyTimeoutMs = 5000;
// The page cache, KiB (an upper bound: SQLite allocates it as pages are used).
constexpr int kCacheKiB = 64 * 1024;
constexpr size_t kMaxStatements = 64;

// "$1" -> "?1": SQLite's numbered parameters, so one SQL text serves both databases.
std::string sqlite_params(const std::string& sql) {
  std::string out = sql;
  for (size_t i = 0; i + 1 < out.size(); ++i)
    if (out[i] == '$' && out[i + 1] >= '0' && out[i + 1] <= '9') out[i] = '?';
  return out;
}

class SqliteIndex final : public IndexDb {
 public:
  SqliteIndex(const Sqlite& api, sqlite3* db, std::string path)
      : m_api(api), m_db(db), m_path(std::move(path)) {}
  ~SqliteIndex() override {
    for (auto& [sql, stmt] : m_statements) m_api.finalize(stmt);
    m_api.close_v2(m_db);
  }
  SqliteIndex(const SqliteIndex&) = delete;
  SqliteIndex& operator=(const SqliteIndex&) = delete;

  DbKind kind() const override { return DbKind::kSqlite; }

  Result<std::vector<DbRow>> query(const std::string& sql,
                                   const std::vector<DbValue>& params) override {
    std::vector<DbRow> rows;
    auto done = for_each_row(sql, params, [&](const DbRow& row) { rows.push_back(row); });
    if (!done) return Unexpected(done.error());
    return rows;
  }

  Result<void> for_each_row(const std::string& sql, const std::vector<DbValue>& params,
                            const std::function<void(const DbRow&)>& on_row) override {
    sqlite3_stmt* raw = prepared(sql);
    if (raw == nullptr) return fail();
    // Reset however this ends, so the cached statement holds no lock and no old bindings.
    struct ResetOnExit {
      const Sqlite& api;
      sqlite3_stmt* st;
      ~ResetOnExit() {
        api.reset(st);
        api.clear_bindings(st);
      }
    } in_use{m_api, raw};
    for (size_t i = 0; i < params.size(); ++i) {
      int rc = params[i] ? m_api.bind_text(raw, int(i + 1), params[i]->data(),
                                           int(params[i]->size()), SQLITE_TRANSIENT)
                         : m_api.bind_null(raw, int(i + 1));
      if (rc != SQLITE_OK) return fail();
    }
    DbRow row;
    for (;;) {
      int rc = m_api.step(raw);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return fail();
      row.clear();
      int n = m_api.column_count(raw);
      for (int c = 0; c < n; ++c) {
        if (m_api.column_type(raw, c) == SQLITE_NULL) {
          row.emplace_back(std::nullopt);
          continue;
        }
        const unsigned char* v = m_api.column_text(raw, c);
        row.emplace_back(
            std::string(reinterpret_cast<const char*>(v), size_t(m_api.column_bytes(raw, c))));
      }
      on_row(row);
    }
    return {};
  }

 private:
  // The statement for `sql`, prepared once: the writer and reindex run the same few statements
  // for every line, and preparing them anew cost more than running them (scripts/bench index).
  sqlite3_stmt* prepared(const std::string& sql) {
    auto it = m_statements.find(sql);
    if (it != m_statements.end()) return it->second;
    sqlite3_stmt* raw = nullptr;
    std::string text = sqlite_params(sql);
    if (m_api.prepare_v2(m_db, text.c_str(), int(text.size()), &raw, nullptr) != SQLITE_OK)
      return nullptr;
    // Bounded: a reader's filtered queries differ by their clauses only, a handful in all.
    if (m_statements.size() >= kMaxStatements) {
      for (auto& [old_sql, stmt] : m_statements) m_api.finalize(stmt);
      m_statements.clear();
    }
    m_statements.emplace(sql, raw);
    return raw;
  }

  Unexpected fail() const {
    return Unexpected("audit index " + m_path + ": " + m_api.errmsg(m_db));
  }

  const Sqlite& m_api;
  sqlite3* m_db;
  std::string m_path;
  std::unordered_map<std::string, sqlite3_stmt*> m_statements;
};

}  // namespace

Result<std::unique_ptr<IndexDb>> open_sqlite_index(const std::string& path, bool create) {
  struct stat st {};
  if (!create && ::stat(path.c_str(), &st) != 0)
    return Unexpected("audit index " + path + ": " + std::strerror(errno));
  if (create) {
    // The index holds what the audit log holds: root's alone, like the log's directory.
    size_t slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0) ::mkdir(path.substr(0, slash).c_str(), 0700);
    // Created here, 0600, so SQLite (which gives its -wal and -shm files the database's mode)
    // never makes a world-readable file; an empty file is an empty database to SQLite.
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return Unexpected("audit index " + path + ": " + std::strerror(errno));
    ::close(fd);
  }
  auto api = sqlite();
  if (!api) return Unexpected("audit index " + path + ": " + api.error().message);
  const Sqlite& sq = **api;
  sqlite3* db = nullptr;
  int rc = sq.open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr);
  auto index = std::make_unique<SqliteIndex>(sq, db, path);
  if (rc != SQLITE_OK)
    return Unexpected("audit index " + path + ": " + (db ? sq.errmsg(db) : "out of memory"));
  sq.busy_timeout(db, kBusyTimeoutMs);
  // WAL: readers (postern-audit) never wait for a writer, and writers from several monitors
  // queue on the busy timeout instead of failing. This is also the first read of the file, so
  // a file that is not a database fails here, clearly.
  IndexDb& base = *index;  // the interface's default (no parameters)
  auto wal = base.query("PRAGMA journal_mode=WAL");
  if (!wal) return Unexpected(wal.error());
  auto sync = base.query("PRAGMA synchronous=NORMAL");
  if (!sync) return Unexpected(sync.error());
  // Each line's hash is a random key in the events' unique index: with SQLite's 2 MiB default
  // cache, inserts at 100,000 sessions go to the disk for most pages (scripts/bench index).
  auto cache = base.query("PRAGMA cache_size=-" + std::to_string(kCacheKiB));
  if (!cache) return Unexpected(cache.error());
  return std::unique_ptr<IndexDb>(std::move(index));
}

}  // namespace postern::bastion
