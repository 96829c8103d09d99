// The session index in PostgreSQL (audit_index_db.h), for several bastions that share one
// history: audit_database = "postgresql://...".
#include "bastion/audit_index_db.h"
#include "bastion/libpq_api.h"

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
  PostgresIndex(const LibPq& pq, PGconn* conn) : m_pq(pq), m_conn(conn) {}
  ~PostgresIndex() override { m_pq.finish(m_conn); }
  PostgresIndex(const PostgresIndex&) = delete;
  PostgresIndex& operator=(const PostgresIndex&) = delete;

  DbKind kind() const override { return DbKind::kPostgres; }

  Result<std::vector<DbRow>> query(const std::string& sql,
                                   const std::vector<DbValue>& params) override {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    // Text parameters, text results: PostgreSQL infers each parameter's type from the column.
    std::unique_ptr<PGresult, void (*)(PGresult*)> res(
        m_pq.exec_params(m_conn, sql.c_str(), int(values.size()), nullptr, values.data(), nullptr,
                         nullptr, 0),
        m_pq.clear);
    ExecStatusType status = res ? m_pq.result_status(res.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
      return Unexpected(
          "audit index (postgresql): " +
          one_line(res ? m_pq.result_error_message(res.get()) : m_pq.error_message(m_conn)));
    std::vector<DbRow> rows;
    int n = m_pq.ntuples(res.get()), cols = m_pq.nfields(res.get());
    for (int r = 0; r < n; ++r) {
      DbRow row;
      for (int c = 0; c < cols; ++c) {
        if (m_pq.getisnull(res.get(), r, c))
          row.emplace_back(std::nullopt);
        else
          row.emplace_back(
              std::string(m_pq.getvalue(res.get(), r, c), size_t(m_pq.getlength(res.get(), r, c))));
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  const LibPq& m_pq;
  PGconn* m_conn;
};

}  // namespace

Result<std::unique_ptr<IndexDb>> open_postgres_index(const std::string& uri) {
  auto pq = libpq();
  if (!pq) return Unexpected("audit index (postgresql): " + pq.error().message);
  PGconn* conn = (*pq)->connectdb(uri.c_str());
  if (conn == nullptr) return Unexpected("audit index (postgresql): out of memory");
  if ((*pq)->status(conn) != CONNECTION_OK) {
    std::string why = one_line((*pq)->error_message(conn));
    (*pq)->finish(conn);
    return Unexpected("audit index (postgresql): cannot connect: " + why);
  }
  // The schema's notices (CREATE ... IF NOT EXISTS) are not errors; keep them off stderr.
  (*pq)->set_notice_processor(
      conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<IndexDb>(std::make_unique<PostgresIndex>(**pq, conn));
}

}  // namespace postern::bastion
