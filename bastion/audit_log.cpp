#include "bastion/audit_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <iterator>
#include <nlohmann/json.hpp>

#include "bastion/audit_chain.h"
#include "common/unique_fd.h"

namespace postern::bastion {
namespace {

// Syslog lines are read by people and cut by daemons near 8 KiB: each value is shorter there.
constexpr size_t kMaxSyslogValue = 1024;
constexpr std::string_view kCut = "...";

// Cuts `s` to at most `max` bytes, at a UTF-8 character boundary, marking the cut.
std::string bounded(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t cut = max - kCut.size();
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return std::string(s.substr(0, cut)) + std::string(kCut);
}

// RFC 3339 in UTC with milliseconds: 2026-12-07T03:15:00.123Z.
std::string rfc3339_ms(uint64_t unix_ms) {
  time_t secs = time_t(unix_ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, sizeof buf - n, ".%03uZ", unsigned(unix_ms % 1000));
  return buf;
}

uint64_t now_ms() {
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec / 1000000);
}

// Creates the missing directories above `path`, 0700: the audit log is root's alone.
Result<void> make_parents(const std::string& path) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      return Unexpected("audit log: mkdir " + dir + ": " + std::strerror(errno));
  }
  return {};
}

// A syslog value: plain tokens as they are, anything else quoted with its odd bytes escaped, so
// a value can neither end the line nor pose as another key=value pair.
std::string syslog_value(std::string_view raw, bool always_quote = false) {
  if (raw.empty()) return "-";
  std::string v = bounded(raw, kMaxSyslogValue);
  bool plain = !always_quote;
  for (unsigned char c : v)
    if (c == 0 || !(std::isalnum(c) || std::strchr("._-:@/+,%", c))) plain = false;
  if (plain) return v;
  std::string out = "\"";
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char hex[8];
      snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += char(c);
    }
  }
  return out + "\"";
}

// Where a field shows in the syslog line: always ("-" when empty), only when it has a value, or
// with the byte counts (when either is non-zero or the event closes something).
enum class InSyslog { kAlways, kWhenSet, kWithCounts };

// One row per event field, in the JSON line's order; the syslog line takes the same rows in its
// own order (the decision first, the free text last, where a reader's eye ends).
struct Field {
  const char* json_name;
  const char* syslog_name;
  size_t syslog_place;
  InSyslog in_syslog;
  bool quoted;  // syslog: free text, quoted even when it is a plain token
  std::string AuditEvent::*text;
  uint64_t AuditEvent::*count;
  std::optional<std::string> AuditEvent::*maybe;
};

constexpr Field text_field(const char* json, const char* syslog, size_t place, InSyslog in,
                           std::string AuditEvent::*member, bool quoted = false) {
  return {json, syslog, place, in, quoted, member, nullptr, nullptr};
}

using enum InSyslog;
constexpr Field kFields[] = {
    text_field("event", "event", 0, kAlways, &AuditEvent::event),
    text_field("session", "session", 1, kAlways, &AuditEvent::session),
    text_field("bastion_user", "user", 3, kAlways, &AuditEvent::bastion_user),
    text_field("client", "client", 4, kAlways, &AuditEvent::client),
    text_field("target", "target", 5, kAlways, &AuditEvent::target),
    text_field("target_user", "target_user", 6, kAlways, &AuditEvent::target_user),
    text_field("channel", "channel", 7, kAlways, &AuditEvent::channel),
    text_field("decision", "decision", 2, kAlways, &AuditEvent::decision),
    text_field("reason", "reason", 14, kAlways, &AuditEvent::reason, true),
    text_field("role", "role", 8, kAlways, &AuditEvent::role),
    text_field("detail", "detail", 15, kWhenSet, &AuditEvent::detail, true),
    {"bytes_up", "bytes_up", 9, kWithCounts, false, nullptr, &AuditEvent::bytes_up, nullptr},
    {"bytes_down", "bytes_down", 10, kWithCounts, false, nullptr, &AuditEvent::bytes_down, nullptr},
    {"exit_status", "exit_status", 11, kWhenSet, false, nullptr, nullptr, &AuditEvent::exit_status},
    text_field("recording", "recording", 12, kWhenSet, &AuditEvent::recording),
    text_field("recording_sha256", "recording_sha256", 13, kWhenSet, &AuditEvent::recording_sha256),
};

// Each syslog place is taken by exactly one row.
constexpr bool syslog_places_are_a_permutation() {
  std::array<bool, std::size(kFields)> taken{};
  for (const Field& f : kFields) {
    if (f.syslog_place >= taken.size() || taken[f.syslog_place]) return false;
    taken[f.syslog_place] = true;
  }
  return true;
}
static_assert(syslog_places_are_a_permutation());

// A field for the JSON line: text cut to kMaxAuditField, counts as numbers, an absent optional
// as null.
nlohmann::ordered_json json_value(const Field& f, const AuditEvent& e) {
  if (f.text) return bounded(e.*f.text, kMaxAuditField);
  if (f.count) return e.*f.count;
  if (e.*f.maybe) return bounded(*(e.*f.maybe), kMaxAuditField);
  return nullptr;
}

// A field's `name=value` for the syslog line, or empty when it is left out.
std::string syslog_pair(const Field& f, const AuditEvent& e) {
  std::string value;
  bool set = false;
  if (f.text) {
    value = e.*f.text;
    set = !value.empty();
  } else if (f.count) {
    value = std::to_string(e.*f.count);
  } else if (e.*f.maybe) {
    value = *(e.*f.maybe);
    set = true;
  }
  if (f.in_syslog == kWhenSet && !set) return {};
  if (f.in_syslog == kWithCounts && e.bytes_up == 0 && e.bytes_down == 0 &&
      !is_close_event(e.event))
    return {};
  return std::string(f.syslog_name) + '=' + syslog_value(value, f.quoted);
}

}  // namespace

bool is_close_event(const std::string& event) {
  return event.ends_with("close");
}

std::string audit_json_line(const AuditEvent& e, uint64_t unix_ms, std::string_view prev) {
  // ordered_json keeps the fields in this order, time first, so lines read alike.
  nlohmann::ordered_json j;
  j["time"] = rfc3339_ms(unix_ms);
  // Every field on every line, empty when it does not apply: an auditor's query (jq, a SIEM
  // mapping) never has to ask whether a key exists.
  for (const Field& f : kFields) j[f.json_name] = json_value(f, e);
  j["prev"] = std::string(prev);
  // dump escapes control bytes (\n, \u001b); replace mode turns invalid UTF-8 into U+FFFD
  // instead of throwing, so a hostile target name still yields one whole line.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

AuditLog::AuditLog(std::string path) : m_path(std::move(path)) {}

Result<UniqueFd> AuditLog::open_locked() const {
  if (m_path.empty() || m_path[0] != '/')
    return Unexpected("audit log: path \"" + m_path + "\" is not absolute");
  // A rotation may rename the file between open() and flock(): then the lock is on the old file
  // and the line would land after the new file's first line took its anchor. Reopen until the
  // locked file is the one at the path (a few tries: rotations are rare).
  for (int attempt = 0; attempt < 8; ++attempt) {
    constexpr int kFlags = O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC;
    UniqueFd fd(::open(m_path.c_str(), kFlags, 0600));
    if (!fd && errno == ENOENT) {
      auto made = make_parents(m_path);
      if (!made) return Unexpected(made.error());
      fd.reset(::open(m_path.c_str(), kFlags, 0600));
    }
    if (!fd) return Unexpected("audit log " + m_path + ": " + std::strerror(errno));
    while (::flock(fd.get(), LOCK_EX) != 0)
      if (errno != EINTR)
        return Unexpected("audit log " + m_path + ": flock: " + std::strerror(errno));
    struct stat held {
    }, named{};
    if (::fstat(fd.get(), &held) != 0)
      return Unexpected("audit log " + m_path + ": fstat: " + std::strerror(errno));
    if (::stat(m_path.c_str(), &named) == 0 && named.st_dev == held.st_dev &&
        named.st_ino == held.st_ino)
      return fd;
  }
  return Unexpected("audit log " + m_path + ": the file keeps being replaced while opened");
}

Result<void> AuditLog::write(const AuditEvent& e, std::string* written) {
  auto fd = open_locked();
  if (!fd) return Unexpected(fd.error());
  // The chain's link is read and the line appended under the same lock (taken above), so no
  // other monitor's line can come between the hash and the line that names it.
  auto tail = read_chain_tail(fd->get(), m_path);
  if (!tail) return Unexpected(tail.error());
  std::string prev = tail->last_hash;
  if (tail->empty) {
    auto anchor = rotation_anchor(m_path);
    if (!anchor) return Unexpected(anchor.error());
    prev = *anchor;
  }
  // A torn line (a crash mid-write) is ended first: it stays as evidence, hashed like any line,
  // and verify reports it as not JSON instead of this line being glued to it.
  std::string json = audit_json_line(e, now_ms(), prev);
  std::string line = tail->complete ? json : "\n" + json;
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd->get(), line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return Unexpected("audit log " + m_path +
                        ": write: " + (n < 0 ? std::strerror(errno) : "nothing written"));
    done += size_t(n);
  }
  if (written) *written = json.substr(0, json.size() - 1);
  return {};
}

std::string audit_syslog_line(const AuditEvent& e) {
  std::array<std::string, std::size(kFields)> pairs;
  for (const Field& f : kFields) pairs[f.syslog_place] = syslog_pair(f, e);
  std::string out = "audit:";
  for (const std::string& pair : pairs) {
    if (pair.empty()) continue;
    out += ' ';
    out += pair;
  }
  return out;
}

}  // namespace postern::bastion
