// The session index in PostgreSQL (audit_index_db.h), for several bastions that share one
// history: audit_database = "postgresql://...".
#include <libpq-fe.h>

#include "bastion/audit_index_db.h"

namespace postern::bastion {
namespace {

// libpq's messages end in a newline; ours are one line.
std::string one_line(const char* message) {
  std::string s = message ? message : "unknown error";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (char& c : s)
    if (c == '\n') c = ' ';
  return s;
}

class PostgresIndex final : public IndexDb {
 public:
  explicit PostgresIndex(PGconn* conn) : m_conn(conn) {}
  ~PostgresIndex() override { PQfinish(m_conn); }
  PostgresIndex(const PostgresIndex&) = delete;
  PostgresIndex& operator=(const PostgresIndex&) = delete;

  DbKind kind() const override { return DbKind::kPostgres; }

  Result<std::vector<DbRow>> query(const std::string& sql,
                                   const std::vector<DbValue>& params) override {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    // Text parameters, text results: PostgreSQL infers each parameter's type from the column.
    std::unique_ptr<PGresult, void (*)(PGresult*)> res(
        PQexecParams(m_conn, sql.c_str(), int(values.size()), nullptr, values.data(), nullptr,
                     nullptr, 0),
        PQclear);
    ExecStatusType status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
      return Unexpected("audit index (postgresql): " +
                        one_line(res ? PQresultErrorMessage(res.get()) : PQerrorMessage(m_conn)));
    std::vector<DbRow> rows;
    int n = PQntuples(res.get()), cols = PQnfields(res.get());
    for (int r = 0; r < n; ++r) {
      DbRow row;
      for (int c = 0; c < cols; ++c) {
        if (PQgetisnull(res.get(), r, c))
          row.emplace_back(std::nullopt);
        else
          row.emplace_back(
              std::string(PQgetvalue(res.get(), r, c), size_t(PQgetlength(res.get(), r, c))));
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  PGconn* m_conn;
};

}  // namespace

Result<std::unique_ptr<IndexDb>> open_postgres_index(const std::string& uri) {
  PGconn* conn = PQconnectdb(uri.c_str());
  if (conn == nullptr) return Unexpected("audit index (postgresql): out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = one_line(PQerrorMessage(conn));
    PQfinish(conn);
    return Unexpected("audit index (postgresql): cannot connect: " + why);
  }
  // The schema's notices (CREATE ... IF NOT EXISTS) are not errors; keep them off stderr.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<IndexDb>(std::make_unique<PostgresIndex>(conn));
}

}  // namespace postern::bastion
