#include "common/log.h"

#include <fcntl.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace postern {
namespace {

struct LogState {
  LogOptions options;
  int file_fd = -1;
  bool syslog_open = false;
  LogSink sink;
  LogLocationFilter location_filter;
  int facility_override = 0;
};

LogState& state() {
  static LogState s;
  return s;
}

int syslog_priority(LogLevel level) {
  switch (level) {
    case LogLevel::kFatal:
      return LOG_CRIT;
    case LogLevel::kError:
      return LOG_ERR;
    case LogLevel::kInfo:
    case LogLevel::kVerbose:
      return LOG_INFO;
    default:
      return LOG_DEBUG;
  }
}

// OpenSSH prefixes debug and fatal lines on stderr ("debug1: ...", "fatal: ...").
const char* stderr_prefix(LogLevel level) {
  switch (level) {
    case LogLevel::kFatal:
      return "fatal: ";
    case LogLevel::kDebug1:
      return "debug1: ";
    case LogLevel::kDebug2:
      return "debug2: ";
    case LogLevel::kDebug3:
      return "debug3: ";
    default:
      return "";
  }
}

void write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) return;
    p += w;
    n -= size_t(w);
  }
}

}  // namespace

static const struct {
  const char* name;
  LogLevel level;
} kLevelNames[] = {
    {"QUIET", LogLevel::kQuiet},   {"FATAL", LogLevel::kFatal},     {"ERROR", LogLevel::kError},
    {"INFO", LogLevel::kInfo},     {"VERBOSE", LogLevel::kVerbose}, {"DEBUG", LogLevel::kDebug1},
    {"DEBUG1", LogLevel::kDebug1}, {"DEBUG2", LogLevel::kDebug2},   {"DEBUG3", LogLevel::kDebug3},
};

bool parse_log_level(std::string_view name, LogLevel& out) {
  for (const auto& e : kLevelNames)
    if (name.size() == strlen(e.name) && strncasecmp(name.data(), e.name, name.size()) == 0) {
      out = e.level;
      return true;
    }
  return false;
}

const char* log_level_name(LogLevel level) {
  for (const auto& e : kLevelNames)
    if (e.level == level && strcmp(e.name, "DEBUG") != 0) return e.name;
  return "INFO";
}

bool parse_syslog_facility(std::string_view name, int& out) {
  static const struct {
    const char* name;
    int facility;
  } kFacilities[] = {
      {"DAEMON", LOG_DAEMON},     {"USER", LOG_USER},     {"AUTH", LOG_AUTH},
      {"AUTHPRIV", LOG_AUTHPRIV}, {"LOCAL0", LOG_LOCAL0}, {"LOCAL1", LOG_LOCAL1},
      {"LOCAL2", LOG_LOCAL2},     {"LOCAL3", LOG_LOCAL3}, {"LOCAL4", LOG_LOCAL4},
      {"LOCAL5", LOG_LOCAL5},     {"LOCAL6", LOG_LOCAL6}, {"LOCAL7", LOG_LOCAL7},
  };
  for (const auto& f : kFacilities)
    if (name.size() == strlen(f.name) && strncasecmp(name.data(), f.name, name.size()) == 0) {
      out = f.facility;
      return true;
    }
  return false;
}

void log_init(const LogOptions& options) {
  LogState& s = state();
  s.options = options;
  if (s.file_fd >= 0) ::close(s.file_fd);
  s.file_fd = -1;
  if (!options.log_file.empty()) {
    s.file_fd = ::open(options.log_file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (s.file_fd < 0)
      fprintf(stderr, "Couldn't open logfile %s: %s\n", options.log_file.c_str(), strerror(errno));
  }
  if (s.syslog_open) closelog();
  s.syslog_open = false;
}

LogLevel log_level() {
  return state().options.level;
}

LogLevel log_set_level(LogLevel level) {
  LogLevel old = state().options.level;
  state().options.level = level;
  return old;
}

bool log_enabled(LogLevel level) {
  return level != LogLevel::kQuiet && level <= state().options.level;
}

void log_set_sink(LogSink sink) {
  state().sink = std::move(sink);
}

void log_set_location_filter(LogLocationFilter filter) {
  state().location_filter = std::move(filter);
}

bool log_forced(const char* file, const char* func, int line) {
  const LogLocationFilter& f = state().location_filter;
  if (!f) return false;
  const char* slash = std::strrchr(file, '/');
  char tag[256];
  int n =
      std::snprintf(tag, sizeof tag, "%.100s:%.100s():%d", slash ? slash + 1 : file, func, line);
  if (n < 0) return false;
  return f(std::string_view(tag, std::min(size_t(n), sizeof tag - 1)));
}

int log_set_facility_override(int facility) {
  int old = state().facility_override;
  state().facility_override = facility;
  return old;
}

int log_facility_override() {
  return state().facility_override;
}

void log_line(LogLevel level, std::string_view line) {
  LogState& s = state();
  int facility = s.facility_override;
  if (s.sink) {
    s.sink(level, line);
    return;
  }
  if (s.file_fd >= 0 || s.options.to_stderr) {
    std::string out = stderr_prefix(level);
    out.append(line);
    // -E and stderr lines are CRLF-free; OpenSSH writes "\r\n" only on a tty in raw mode.
    out += '\n';
    write_all(s.file_fd >= 0 ? s.file_fd : STDERR_FILENO, out.data(), out.size());
    return;
  }
  if (!s.syslog_open) {
    openlog(s.options.ident.c_str(), LOG_PID, s.options.facility);
    s.syslog_open = true;
  }
  int priority = syslog_priority(level);
  // Only the facilities SyslogFacility can name: a child's word is not trusted further.
  if (facility != 0 && facility != s.options.facility &&
      ((facility >= LOG_LOCAL0 && facility <= LOG_LOCAL7) || facility == LOG_DAEMON ||
       facility == LOG_USER || facility == LOG_AUTH || facility == LOG_AUTHPRIV))
    priority |= facility;
  syslog(priority, "%.*s", int(line.size()), line.data());
}

void logv(LogLevel level, const char* fmt, va_list ap) {
  char buf[2048];
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  if (n < 0) return;
  size_t len = std::min(size_t(n), sizeof buf - 1);
  // Never let a peer-supplied string put control characters into the log.
  for (size_t i = 0; i < len; ++i) {
    unsigned char c = static_cast<unsigned char>(buf[i]);
    if (c < 0x20 || c == 0x7f) buf[i] = '?';
  }
  log_line(level, std::string_view(buf, len));
}

void logf(LogLevel level, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  logv(level, fmt, ap);
  va_end(ap);
}

void fatal(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  logv(LogLevel::kFatal, fmt, ap);
  va_end(ap);
  _exit(255);
}

}  // namespace postern
