// The bastion's audit trail (../shared/BASTION.md "Files"): one JSON object per line for each
// decision and each session and channel that opens and closes, and the same event as a syslog
// line. Written by the monitor, which alone holds the file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"

namespace postern::bastion {

struct AuditEvent {
  std::string event;  // "login", "target-open", "channel-open", "channel-close", ...
  std::string session;
  std::string bastion_user;
  std::string client;
  std::string target;
  std::string target_user;
  std::string channel;
  std::string decision;  // "allow" | "deny" | ""
  std::string reason;
  std::string role;
  std::string detail;
  uint64_t bytes_up = 0;  // client to target
  uint64_t bytes_down = 0;
  std::optional<std::string> exit_status;  // "0", "signal TERM", ...
  std::string recording;                   // path of the recording file
  std::string recording_sha256;            // hex
};

// A field longer than this is cut, so one event never becomes an unbounded line.
inline constexpr size_t kMaxAuditField = 4096;

// Whether `event` closes something, so its byte counts are logged even when zero.
bool is_close_event(const std::string& event);

// The JSON line for an event at `unix_ms` (milliseconds since the epoch), newline included:
// {"time":"2026-12-07T03:15:00.123Z","event":...,"session":...,...,"prev":"<64 hex>"}. Every
// field is on every line, empty (or null) when it does not apply. `prev` (the hash chain,
// audit_chain.h) goes last: the fields before it keep the order and place they had before the
// chain, so readers that map fields by position or grep a line's start still work, and a person
// reads the event before the hash. Control bytes are escaped and invalid UTF-8 replaced, so a
// hostile field never breaks a line.
std::string audit_json_line(const AuditEvent& e, uint64_t unix_ms, std::string_view prev);

class AuditLog {
 public:
  explicit AuditLog(std::string path);

  // Appends the event's line. The file is opened for each event (O_APPEND, created 0600, its
  // missing parent directories 0700), so a rotated log is followed at once. Under one flock the
  // writer reads the last line's hash (audit_chain.h; for an empty file, rotation_anchor) and
  // appends the new line with that "prev" in one write(), so concurrent monitors never
  // interleave lines and the chain stays one line after another. `written`, when given, gets
  // the line as written (without its newline), for the session index (audit_index_writer.h).
  Result<void> write(const AuditEvent& e, std::string* written = nullptr);

  const std::string& path() const { return m_path; }

 private:
  // The log opened for appending and exclusively locked, the file that is at the path now.
  Result<UniqueFd> open_locked() const;

  std::string m_path;
};

// The event as one syslog line:
// audit: event=target-open session=... decision=deny user=alice client=10.0.0.1 target=web1
//   target_user=root channel=shell role=- reason="..."
// Values that are not plain tokens are quoted, with '"', '\\', control and non-ASCII bytes
// escaped ("\x0a"); empty ones are "-".
std::string audit_syslog_line(const AuditEvent& e);

}  // namespace postern::bastion
