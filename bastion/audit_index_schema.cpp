#include "bastion/audit_index_schema.h"

#include <ctime>
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "bastion/audit_chain.h"

namespace postern::bastion {
namespace {

using Statements = std::vector<std::string>;

// Migration 1: events, sessions and the targets each session named. The event's own line is
// kept whole, so postern-audit show prints what the log holds, field for field.
Statements migration_1(DbKind kind) {
  // The event's order of arrival: SQLite's rowid, PostgreSQL's sequence.
  std::string seq =
      kind == DbKind::kSqlite ? "seq INTEGER PRIMARY KEY" : "seq BIGSERIAL PRIMARY KEY";
  return {
      "CREATE TABLE schema_version (version INTEGER NOT NULL)",
      "INSERT INTO schema_version (version) VALUES (0)",
      "CREATE TABLE events (" + seq +
          ", hash TEXT NOT NULL UNIQUE, time TEXT NOT NULL, time_ms BIGINT NOT NULL,"
          " event TEXT NOT NULL, session TEXT NOT NULL, bastion_user TEXT NOT NULL,"
          " client TEXT NOT NULL, target TEXT NOT NULL, target_user TEXT NOT NULL,"
          " channel TEXT NOT NULL, decision TEXT NOT NULL, reason TEXT NOT NULL,"
          " role TEXT NOT NULL, detail TEXT NOT NULL, bytes_up BIGINT NOT NULL,"
          " bytes_down BIGINT NOT NULL, exit_status TEXT, recording TEXT NOT NULL,"
          " recording_sha256 TEXT NOT NULL, line TEXT NOT NULL)",
      "CREATE INDEX events_session ON events (session, seq)",
      "CREATE TABLE sessions (id TEXT PRIMARY KEY, start_time TEXT NOT NULL,"
      " start_ms BIGINT NOT NULL, end_time TEXT NOT NULL, end_ms BIGINT NOT NULL,"
      " bastion_user TEXT NOT NULL, client TEXT NOT NULL, target TEXT NOT NULL,"
      " target_user TEXT NOT NULL, exit_status TEXT, recording TEXT NOT NULL,"
      " recording_sha256 TEXT NOT NULL, role TEXT NOT NULL, events BIGINT NOT NULL,"
      " first_seq BIGINT NOT NULL)",
      "CREATE INDEX sessions_first ON sessions (first_seq)",
      "CREATE INDEX sessions_user ON sessions (bastion_user, start_ms)",
      "CREATE INDEX sessions_end ON sessions (end_ms)",
      "CREATE INDEX sessions_start ON sessions (start_ms)",
      "CREATE TABLE session_targets (session TEXT NOT NULL, target TEXT NOT NULL,"
      " target_user TEXT NOT NULL, PRIMARY KEY (session, target, target_user))",
      "CREATE INDEX session_targets_target ON session_targets (target)",
  };
}

// Migration 2: channels and file events, as views over the events (one source of rows, so
// nothing can disagree).
Statements migration_2(DbKind) {
  return {
      "CREATE VIEW channels AS SELECT seq, session, time, time_ms, event, channel, decision,"
      " reason, target, target_user, bytes_up, bytes_down, exit_status, recording,"
      " recording_sha256 FROM events WHERE event IN ('channel', 'channel-open', 'channel-close')",
      "CREATE VIEW file_events AS SELECT seq, session, time, time_ms, channel, target,"
      " target_user, decision, reason, detail FROM events WHERE event = 'file'",
  };
}

// Migration N is entry N-1: append only, never edit one that shipped.
const std::vector<std::function<Statements(DbKind)>>& migrations() {
  static const std::vector<std::function<Statements(DbKind)>> all = {migration_1, migration_2};
  return all;
}

Result<bool> has_version_table(IndexDb& db) {
  auto rows = db.kind() == DbKind::kSqlite
                  ? db.query(
                        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = "
                        "'schema_version'")
                  : db.query("SELECT 1 WHERE to_regclass('schema_version') IS NOT NULL");
  if (!rows) return Unexpected(rows.error());
  return !rows->empty();
}

std::string text_field(const nlohmann::json& ev, const char* name) {
  auto it = ev.find(name);
  if (it == ev.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

std::string count_field(const nlohmann::json& ev, const char* name) {
  auto it = ev.find(name);
  if (it != ev.end() && it->is_number_unsigned()) return std::to_string(it->get<uint64_t>());
  return "0";
}

// One migration, under a lock, re-reading the version inside it: monitors of two connections
// that start at once on a new database must not both apply migration 1.
Result<void> apply(IndexDb& db, int version) {
  auto begin = db.query(db.kind() == DbKind::kSqlite ? "BEGIN IMMEDIATE" : "BEGIN");
  if (!begin) return Unexpected(begin.error());
  auto body = [&]() -> Result<void> {
    if (db.kind() == DbKind::kPostgres) {
      // Any constant that is ours alone: it serialises postern's migrations, nothing else.
      auto lock = db.query("SELECT pg_advisory_xact_lock(7014410)");
      if (!lock) return Unexpected(lock.error());
    }
    auto now = index_schema_version(db);
    if (!now) return Unexpected(now.error());
    if (*now >= version) return {};
    for (const auto& sql : migrations()[size_t(version - 1)](db.kind())) {
      auto done = db.query(sql);
      if (!done)
        return Unexpected("migration " + std::to_string(version) + ": " + done.error().message);
    }
    auto set = db.query("UPDATE schema_version SET version = $1", {std::to_string(version)});
    if (!set) return Unexpected(set.error());
    return {};
  };
  auto result = body();
  if (!result) {
    (void)db.query("ROLLBACK");
    return result;
  }
  auto commit = db.query("COMMIT");
  if (!commit) {
    (void)db.query("ROLLBACK");
    return Unexpected(commit.error());
  }
  return {};
}

}  // namespace

Result<int> index_schema_version(IndexDb& db) {
  auto has = has_version_table(db);
  if (!has) return Unexpected(has.error());
  if (!*has) return 0;
  auto rows = db.query("SELECT version FROM schema_version");
  if (!rows) return Unexpected(rows.error());
  if (rows->size() != 1 || !(*rows)[0][0])
    return Unexpected("audit index: schema_version must hold one row");
  try {
    return std::stoi(*(*rows)[0][0]);
  } catch (const std::exception&) {
    return Unexpected("audit index: schema_version is not a number");
  }
}

Result<void> migrate_index(IndexDb& db) {
  auto version = index_schema_version(db);
  if (!version) return Unexpected(version.error());
  if (*version > kIndexSchemaVersion)
    return Unexpected("audit index: schema version " + std::to_string(*version) +
                      " is newer than this postern's (" + std::to_string(kIndexSchemaVersion) +
                      "); not written. Upgrade postern, or point audit_database elsewhere");
  for (int v = *version + 1; v <= kIndexSchemaVersion; ++v) {
    auto done = apply(db, v);
    if (!done) return done;
  }
  return {};
}

Result<void> check_index_readable(IndexDb& db) {
  auto version = index_schema_version(db);
  if (!version) return Unexpected(version.error());
  if (*version > kIndexSchemaVersion)
    return Unexpected("audit index: schema version " + std::to_string(*version) +
                      " is newer than this postern-audit's (" +
                      std::to_string(kIndexSchemaVersion) + ")");
  if (*version < kIndexSchemaVersion)
    return Unexpected("audit index: schema version " + std::to_string(*version) +
                      " is older than this postern-audit's (" +
                      std::to_string(kIndexSchemaVersion) + "); run postern-audit reindex");
  return {};
}

int64_t audit_time_ms(std::string_view time) {
  // YYYY-MM-DDTHH:MM:SS.mmmZ, exactly as audit_log.cpp writes it.
  if (time.size() != 24 || time[4] != '-' || time[7] != '-' || time[10] != 'T' || time[13] != ':' ||
      time[16] != ':' || time[19] != '.' || time[23] != 'Z')
    return 0;
  auto num = [&](size_t at, size_t len) -> int {
    int v = 0;
    for (size_t i = at; i < at + len; ++i) {
      if (time[i] < '0' || time[i] > '9') return -1;
      v = v * 10 + (time[i] - '0');
    }
    return v;
  };
  struct tm tm {};
  int parts[] = {num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2), num(20, 3)};
  for (int p : parts)
    if (p < 0) return 0;
  tm.tm_year = parts[0] - 1900;
  tm.tm_mon = parts[1] - 1;
  tm.tm_mday = parts[2];
  tm.tm_hour = parts[3];
  tm.tm_min = parts[4];
  tm.tm_sec = parts[5];
  return int64_t(timegm(&tm)) * 1000 + parts[6];
}

Result<bool> index_audit_line(IndexDb& db, std::string_view line) {
  auto ev = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (ev.is_discarded() || !ev.is_object()) return Unexpected(kNotAuditJson);
  std::string session = text_field(ev, "session");
  std::string time = text_field(ev, "time");
  std::string ms = std::to_string(audit_time_ms(time));
  DbValue exit_status;
  if (auto it = ev.find("exit_status"); it != ev.end() && !it->is_null())
    exit_status = text_field(ev, "exit_status");
  std::vector<DbValue> row = {audit_line_hash(line),
                              time,
                              ms,
                              text_field(ev, "event"),
                              session,
                              text_field(ev, "bastion_user"),
                              text_field(ev, "client"),
                              text_field(ev, "target"),
                              text_field(ev, "target_user"),
                              text_field(ev, "channel"),
                              text_field(ev, "decision"),
                              text_field(ev, "reason"),
                              text_field(ev, "role"),
                              text_field(ev, "detail"),
                              count_field(ev, "bytes_up"),
                              count_field(ev, "bytes_down"),
                              exit_status,
                              text_field(ev, "recording"),
                              text_field(ev, "recording_sha256"),
                              std::string(line)};
  auto added = db.query(
      "INSERT INTO events (hash, time, time_ms, event, session, bastion_user, client, target,"
      " target_user, channel, decision, reason, role, detail, bytes_up, bytes_down, exit_status,"
      " recording, recording_sha256, line) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
      " $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) ON CONFLICT (hash) DO NOTHING"
      " RETURNING seq",
      row);
  if (!added) return Unexpected(added.error());
  if (added->empty() || !added->front()[0]) return false;  // the same line, there already
  const std::string& seq = *added->front()[0];
  if (session.empty()) return true;  // an event of no session (none today) is kept, not summed
  // The session's row: the first non-empty user, client, target, role; the latest time, exit
  // status and recording (the same choices as postern-audit's summary of the JSON log); and
  // its first event's place, so sessions list in the order the log first names them.
  auto upsert = db.query(
      "INSERT INTO sessions (id, start_time, start_ms, end_time, end_ms, bastion_user, client,"
      " target, target_user, exit_status, recording, recording_sha256, role, events, first_seq)"
      " VALUES ($1, $2, $3, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12)"
      " ON CONFLICT (id) DO UPDATE SET"
      " start_time = CASE WHEN excluded.start_ms < sessions.start_ms THEN excluded.start_time"
      " ELSE sessions.start_time END,"
      " start_ms = CASE WHEN excluded.start_ms < sessions.start_ms THEN excluded.start_ms"
      " ELSE sessions.start_ms END,"
      " end_time = CASE WHEN excluded.end_ms >= sessions.end_ms THEN excluded.end_time"
      " ELSE sessions.end_time END,"
      " end_ms = CASE WHEN excluded.end_ms >= sessions.end_ms THEN excluded.end_ms"
      " ELSE sessions.end_ms END,"
      " bastion_user = CASE WHEN sessions.bastion_user = '' THEN excluded.bastion_user"
      " ELSE sessions.bastion_user END,"
      " client = CASE WHEN sessions.client = '' THEN excluded.client ELSE sessions.client END,"
      " target = CASE WHEN sessions.target = '' THEN excluded.target ELSE sessions.target END,"
      " target_user = CASE WHEN sessions.target = '' THEN excluded.target_user"
      " ELSE sessions.target_user END,"
      " exit_status = COALESCE(excluded.exit_status, sessions.exit_status),"
      " recording = CASE WHEN excluded.recording = '' THEN sessions.recording"
      " ELSE excluded.recording END,"
      " recording_sha256 = CASE WHEN excluded.recording_sha256 = '' THEN"
      " sessions.recording_sha256 ELSE excluded.recording_sha256 END,"
      " role = CASE WHEN sessions.role = '' THEN excluded.role ELSE sessions.role END,"
      " events = sessions.events + 1",
      {session, time, ms, row[5], row[6], row[7], row[8],
       exit_status && !exit_status->empty() ? exit_status : std::nullopt, row[17], row[18], row[12],
       seq});
  if (!upsert) return Unexpected(upsert.error());
  if (!row[7]->empty()) {
    auto target = db.query(
        "INSERT INTO session_targets (session, target, target_user) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING",
        {session, row[7], row[8]});
    if (!target) return Unexpected(target.error());
  }
  return true;
}

}  // namespace postern::bastion
