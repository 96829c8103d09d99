#include "bastion/audit_index_db.h"

namespace postern::bastion {

Result<IndexLocation> index_location(const std::string& audit_database,
                                     const std::string& audit_log) {
  IndexLocation where;
  if (audit_database == "off") {
    where.enabled = false;
    return where;
  }
  if (audit_database.starts_with("postgresql://") || audit_database.starts_with("postgres://")) {
    where.kind = DbKind::kPostgres;
    where.where = audit_database;
    return where;
  }
  if (audit_database.starts_with("sqlite:")) {
    where.where = audit_database.substr(7);
    if (where.where.empty() || where.where[0] != '/')
      return Unexpected("audit_database: the SQLite path after \"sqlite:\" must be absolute");
    return where;
  }
  if (!audit_database.empty())
    return Unexpected("audit_database: expected \"sqlite:/path\", \"postgresql://...\" or \"off\"");
  // Beside the log: audit.jsonl -> audit.db (a name without an extension gains ".db").
  size_t slash = audit_log.rfind('/');
  size_t dot = audit_log.rfind('.');
  std::string stem = (dot != std::string::npos && (slash == std::string::npos || dot > slash + 1))
                         ? audit_log.substr(0, dot)
                         : audit_log;
  where.where = stem + ".db";
  return where;
}

Result<std::unique_ptr<IndexDb>> open_index(const IndexLocation& where, bool create) {
  if (!where.enabled) return Unexpected("the audit index is off (audit_database = \"off\")");
  if (where.kind == DbKind::kPostgres) return open_postgres_index(where.where);
  return open_sqlite_index(where.where, create);
}

}  // namespace postern::bastion
