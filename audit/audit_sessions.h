// postern-audit sessions and show: the audit log's events (man/postern-bastion.5 AUDIT) read
// back, summed up per bastion session, and printed for a person or as JSON lines.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"

namespace postern::audit {

// An event as read: ordered_json keeps the fields in the log's order for show.
using AuditJson = nlohmann::ordered_json;

// The files of the log at `path`, oldest first: the rotated ones logrotate numbers
// (path.N ... path.1) that exist, then path itself when it exists.
std::vector<std::string> audit_files(const std::string& path);

// Calls `on_event` with each line of `files` that is a JSON object. A line that is not is
// reported on `warn` as "FILE:LINE: ..." and skipped; returns how many were. An error only when a
// file cannot be read at all.
Result<size_t> for_each_event(const std::vector<std::string>& files,
                              const std::function<void(const AuditJson&)>& on_event,
                              std::ostream& warn);

struct SessionSummary {
  std::string id;
  std::string start, end;  // the first and the last event's time, as logged
  int64_t end_ms = 0;      // the last event's time (0 when no event's time parses)
  std::string bastion_user, client;
  std::vector<std::string> targets;   // "target_user@target", in the order first named
  std::vector<std::string> channels;  // kinds opened (channel allowed), in the order first named
  std::string exit_status;            // of the last channel that reported one
  std::vector<std::string> recordings;
};

// Sums events up per session, in the order sessions first appear.
class SessionIndex {
 public:
  void add(const AuditJson& event);
  const std::vector<SessionSummary>& sessions() const { return m_sessions; }

 private:
  std::vector<SessionSummary> m_sessions;
  std::unordered_map<std::string, size_t> m_by_id;  // index into m_sessions: 100,000 sessions
};

struct SessionFilter {
  std::optional<std::string> user;    // bastion user
  std::optional<std::string> target;  // target name, or target_user@target
  std::optional<int64_t> since_ms;    // sessions whose last event is at or after this
  bool matches(const SessionSummary& s) const;
};

// One line per session: id, start, end, bastion user, client, targets, channels, exit status,
// recordings, tab-separated ("-" for none), terminal control bytes escaped.
std::string session_columns_header();
std::string session_text_line(const SessionSummary& s);
AuditJson session_json(const SessionSummary& s);

// One event for a person: "TIME EVENT key=value ..." with every field that says something
// (not empty, not null, not a zero count), whatever the event type, session and prev left out.
std::string event_text_line(const AuditJson& event);

// `s` safe on a terminal: control bytes and DEL as \xNN, so a logged name cannot move the
// cursor or retitle the window.
std::string printable(std::string_view s);

}  // namespace postern::audit
