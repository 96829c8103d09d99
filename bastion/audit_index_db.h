// The session index's database (man/postern-bastion.5 AUDIT INDEX): one small interface over
// SQLite (the default, beside the audit log) and PostgreSQL (audit_database =
// "postgresql://..."), so the schema, its migrations and the writer are one code for both.
// The JSON audit log stays the source of truth; the index is a copy that can be rebuilt.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace postern::bastion {

// A parameter or a column value: text, or SQL NULL. Numbers travel as their decimal text; both
// databases convert them to the column's type.
using DbValue = std::optional<std::string>;
using DbRow = std::vector<DbValue>;

enum class DbKind { kSqlite, kPostgres };

class IndexDb {
 public:
  virtual ~IndexDb() = default;
  virtual DbKind kind() const = 0;
  // Runs one statement. Parameters are written $1, $2, ... in both dialects. Returns the rows
  // (none for statements that return none).
  virtual Result<std::vector<DbRow>> query(const std::string& sql,
                                           const std::vector<DbValue>& params = {}) = 0;
  // Runs one query and hands each row to `on_row` as it comes (SQLite steps through the rows
  // without holding them all: postern-audit over 100,000 sessions).
  virtual Result<void> for_each_row(const std::string& sql, const std::vector<DbValue>& params,
                                    const std::function<void(const DbRow&)>& on_row) {
    auto rows = query(sql, params);
    if (!rows) return Unexpected(rows.error());
    for (const auto& row : *rows) on_row(row);
    return {};
  }
};

// Where the index lives, from the policy's audit_database and audit_log.
struct IndexLocation {
  bool enabled = true;
  DbKind kind = DbKind::kSqlite;
  std::string where;  // the SQLite file, or the PostgreSQL connection URI
};

// audit_database: "" (the default: the audit log's path with its extension replaced by ".db",
// audit.jsonl -> audit.db), "sqlite:/abs/path", "postgresql://..." (or "postgres://..."), or
// "off". The error names what is wrong.
Result<IndexLocation> index_location(const std::string& audit_database,
                                     const std::string& audit_log);

// Opens the database; a missing SQLite file is created (0600, its directory 0700) only when
// `create` (the monitor's writer; postern-audit reads, and a missing file means "no index").
// SQLite is put in WAL mode with a busy timeout, since one monitor per connection writes at
// once. No schema work here: see audit_index_schema.h.
Result<std::unique_ptr<IndexDb>> open_sqlite_index(const std::string& path, bool create);
Result<std::unique_ptr<IndexDb>> open_postgres_index(const std::string& uri);
Result<std::unique_ptr<IndexDb>> open_index(const IndexLocation& where, bool create);

}  // namespace postern::bastion
