#include "bastion/audit_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
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

}  // namespace

bool is_close_event(const std::string& event) {
  return event.ends_with("close");
}

std::string audit_json_line(const AuditEvent& e, uint64_t unix_ms, std::string_view prev) {
  // ordered_json keeps the fields in this order, time first, so lines read alike.
  nlohmann::ordered_json j;
  j["time"] = rfc3339_ms(unix_ms);
  j["event"] = bounded(e.event, kMaxAuditField);
  j["session"] = bounded(e.session, kMaxAuditField);
  // Every field on every line, empty when it does not apply: an auditor's query (jq, a SIEM
  // mapping) never has to ask whether a key exists.
  auto text = [&](const char* name, const std::string& value) {
    j[name] = bounded(value, kMaxAuditField);
  };
  text("bastion_user", e.bastion_user);
  text("client", e.client);
  text("target", e.target);
  text("target_user", e.target_user);
  text("channel", e.channel);
  text("decision", e.decision);
  text("reason", e.reason);
  text("role", e.role);
  text("detail", e.detail);
  j["bytes_up"] = e.bytes_up;
  j["bytes_down"] = e.bytes_down;
  if (e.exit_status)
    j["exit_status"] = bounded(*e.exit_status, kMaxAuditField);
  else
    j["exit_status"] = nullptr;
  text("recording", e.recording);
  text("recording_sha256", e.recording_sha256);
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
  std::string out = "audit: event=" + syslog_value(e.event);
  auto field = [&](const char* name, std::string_view value, bool quote = false) {
    out += ' ';
    out += name;
    out += '=';
    out += syslog_value(value, quote);
  };
  field("session", e.session);
  field("decision", e.decision);
  field("user", e.bastion_user);
  field("client", e.client);
  field("target", e.target);
  field("target_user", e.target_user);
  field("channel", e.channel);
  field("role", e.role);
  if (e.bytes_up != 0 || e.bytes_down != 0 || is_close_event(e.event)) {
    field("bytes_up", std::to_string(e.bytes_up));
    field("bytes_down", std::to_string(e.bytes_down));
  }
  if (e.exit_status) field("exit_status", *e.exit_status);
  if (!e.recording.empty()) field("recording", e.recording);
  if (!e.recording_sha256.empty()) field("recording_sha256", e.recording_sha256);
  field("reason", e.reason, true);
  if (!e.detail.empty()) field("detail", e.detail, true);
  return out;
}

}  // namespace postern::bastion
