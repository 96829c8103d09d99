// The session index's schema (man/postern-bastion.5 AUDIT INDEX) and how an audit line enters
// it. The same tables in SQLite and PostgreSQL:
//   schema_version(version)          the last migration applied
//   events(seq, hash, time, time_ms, event, session, bastion_user, client, target, target_user,
//          channel, decision, reason, role, detail, bytes_up, bytes_down, exit_status,
//          recording, recording_sha256, line)
//                                    every audit line; hash (its SHA-256, the next line's
//                                    "prev") makes a line enter once, so reindex is idempotent
//   sessions(id, start_time, start_ms, end_time, end_ms, bastion_user, client, target,
//            target_user, exit_status, recording, recording_sha256, role, events, first_seq)
//                                    one row per session, for searching
//   session_targets(session, target, target_user)
//   channels, file_events            views over events (migration 2)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "bastion/audit_index_db.h"
#include "common/result.h"

namespace postern::bastion {

// The schema version this binary writes and reads. A database at a higher version was made by a
// newer postern: it is refused (never written to), since its meaning may have changed.
inline constexpr int kIndexSchemaVersion = 2;

// The database's version: 0 for an empty database.
Result<int> index_schema_version(IndexDb& db);

// Brings the database to kIndexSchemaVersion, each migration in its own transaction (so a
// failure leaves the previous version whole). An error for a newer database, a file that is not
// a database, or a failed statement.
Result<void> migrate_index(IndexDb& db);

// Checks, without changing anything, that the database can be read by this binary: its version
// is kIndexSchemaVersion (postern-audit asks; an older one needs the monitor or reindex first).
Result<void> check_index_readable(IndexDb& db);

// Adds one audit line (as logged, without its newline) to the index: the event, and its
// session's row. Returns false when the line was there already (the same hash). Not a
// transaction by itself: callers batch lines in one. A line that is no JSON object fails with
// kNotAuditJson (skip it; it will never be one), anything else is the database's failure.
inline constexpr const char* kNotAuditJson = "audit line is not a JSON object";
Result<bool> index_audit_line(IndexDb& db, std::string_view line);

// "2026-12-07T03:15:00.123Z" (the audit log's form, audit_log.h) as milliseconds since the
// epoch; 0 when `time` is not in that form.
int64_t audit_time_ms(std::string_view time);

}  // namespace postern::bastion
