#include "audit/audit_index_read.h"

#include <sys/stat.h>

#include "audit/line_reader.h"
#include "bastion/audit_chain.h"
#include "bastion/audit_index_schema.h"

namespace postern::audit {
namespace {

using bastion::DbRow;
using bastion::DbValue;

// Lines per transaction in reindex: large enough that 100,000 sessions go in seconds, small
// enough that a monitor writing at the same time waits a moment at most.
constexpr size_t kReindexBatch = 5000;

// The columns SessionIndex::add reads, in this order.
constexpr const char* kSummaryColumns[] = {"session",  "time",        "event",       "bastion_user",
                                           "client",   "target",      "target_user", "channel",
                                           "decision", "exit_status", "recording"};

}  // namespace

IndexForReading open_index_for_reading(const bastion::Policy& policy) {
  IndexForReading out;
  auto where = bastion::index_location(policy.bastion.audit_database, policy.bastion.audit_log);
  if (!where) {
    out.why_not = where.error().message;
    return out;
  }
  if (!where->enabled) return out;
  struct stat st {};
  if (where->kind == bastion::DbKind::kSqlite && ::stat(where->where.c_str(), &st) != 0)
    return out;  // no index (yet): the JSON log, quietly
  auto db = bastion::open_index(*where, /*create=*/false);
  if (!db) {
    out.why_not = db.error().message;
    return out;
  }
  auto readable = bastion::check_index_readable(**db);
  if (!readable) {
    out.why_not = readable.error().message;
    return out;
  }
  out.db = std::move(*db);
  return out;
}

Result<void> index_sessions(bastion::IndexDb& db, const SessionFilter& filter,
                            const std::function<void(const SessionSummary&)>& on_session) {
  std::string sql = "SELECT ";
  for (const char* c : kSummaryColumns)
    sql += std::string(c == kSummaryColumns[0] ? "" : ", ") + "e." + c;
  sql += " FROM sessions s JOIN events e ON e.session = s.id WHERE 1 = 1";
  std::vector<DbValue> params;
  auto param = [&](std::string v) {
    params.push_back(std::move(v));
    return "$" + std::to_string(params.size());
  };
  // The indexed columns narrow the rows; SessionFilter::matches below decides, as for the log.
  if (filter.user) sql += " AND s.bastion_user = " + param(*filter.user);
  if (filter.target) {
    // "user@target" names both (names hold no '@', policy_values.h); "target" any user.
    size_t at = filter.target->rfind('@');
    std::string clause = at == std::string::npos
                             ? "target = " + param(*filter.target)
                             : "target_user = " + param(filter.target->substr(0, at)) +
                                   " AND target = " + param(filter.target->substr(at + 1));
    sql += " AND s.id IN (SELECT session FROM session_targets WHERE " + clause + ")";
  }
  if (filter.since_ms) sql += " AND s.end_ms >= " + param(std::to_string(*filter.since_ms));
  // The log's order: sessions as first named, each one's events as logged.
  sql += " ORDER BY s.first_seq, e.seq";

  // Rows come grouped by session: each group is summed up alone, so memory holds one session.
  std::optional<SessionIndex> current;
  auto finish = [&] {
    if (!current) return;
    for (const auto& s : current->sessions())
      if (filter.matches(s)) on_session(s);
    current.reset();
  };
  std::string current_id;
  auto done = db.for_each_row(sql, params, [&](const DbRow& row) {
    std::string id = row[0].value_or("");
    if (!current || id != current_id) {
      finish();
      current.emplace();
      current_id = id;
    }
    AuditJson ev = AuditJson::object();
    for (size_t c = 0; c < row.size(); ++c)
      ev[kSummaryColumns[c]] = row[c] ? AuditJson(*row[c]) : AuditJson(nullptr);
    current->add(ev);
  });
  if (!done) return done;
  finish();
  return {};
}

Result<std::vector<AuditJson>> index_session_events(bastion::IndexDb& db, const std::string& id) {
  std::vector<AuditJson> events;
  std::string bad;
  auto done = db.for_each_row(
      "SELECT line FROM events WHERE session = $1 ORDER BY seq", {id}, [&](const DbRow& row) {
        AuditJson ev = AuditJson::parse(row[0].value_or(""), nullptr,
                                        /*allow_exceptions=*/false);
        if (ev.is_discarded() || !ev.is_object())
          bad = "audit index: an event of session " + printable(id) + " is not a JSON object";
        else
          events.push_back(std::move(ev));
      });
  if (!done) return Unexpected(done.error());
  if (!bad.empty()) return Unexpected(bad);
  return events;
}

Result<ReindexCounts> reindex_files(bastion::IndexDb& db, const std::vector<std::string>& files,
                                    std::ostream& warn) {
  auto migrated = bastion::migrate_index(db);
  if (!migrated) return Unexpected(migrated.error());
  ReindexCounts counts;
  bool open = false;
  auto begin = [&]() -> Result<void> {
    auto r = db.query(db.kind() == bastion::DbKind::kSqlite ? "BEGIN IMMEDIATE" : "BEGIN");
    if (!r) return Unexpected(r.error());
    open = true;
    return {};
  };
  auto commit = [&]() -> Result<void> {
    open = false;
    auto r = db.query("COMMIT");
    if (!r) return Unexpected(r.error());
    return {};
  };
  size_t in_batch = 0;
  for (const auto& path : files) {
    auto reader = LineReader::open(path, bastion::kMaxAuditLine);
    if (!reader) return Unexpected(reader.error());
    std::string line;
    for (;;) {
      auto more = reader->next(line);
      if (!more) {
        warn << more.error().message << " (skipped the rest of the file)\n";
        ++counts.skipped;
        break;
      }
      if (!*more) break;
      ++counts.lines;
      if (!open) {
        auto b = begin();
        if (!b) return Unexpected(b.error());
      }
      auto added = bastion::index_audit_line(db, line);
      if (!added) {
        if (added.error().message != bastion::kNotAuditJson) {
          (void)db.query("ROLLBACK");
          return Unexpected(added.error());
        }
        warn << path << ":" << reader->number() << ": skipped: not a JSON object\n";
        ++counts.skipped;
        continue;
      }
      if (*added) ++counts.added;
      if (++in_batch == kReindexBatch) {
        in_batch = 0;
        auto c = commit();
        if (!c) return Unexpected(c.error());
      }
    }
  }
  if (open) {
    auto c = commit();
    if (!c) return Unexpected(c.error());
  }
  return counts;
}

}  // namespace postern::audit
