// Logging in OpenSSH's forms: syslog as "sshd[pid]: message" with the configured facility, or
// stderr (-e, -d, -D in the foreground) and -E file. Levels and names follow sshd_config(5)
// LogLevel. Processes that cannot reach syslog (the sandboxed net child) install a sink that
// forwards each line to the monitor, which logs it.
#pragma once

#include <cstdarg>
#include <functional>
#include <string>
#include <string_view>

namespace postern {

enum class LogLevel { kQuiet = 0, kFatal, kError, kInfo, kVerbose, kDebug1, kDebug2, kDebug3 };

// sshd_config(5) names: QUIET, FATAL, ERROR, INFO, VERBOSE, DEBUG, DEBUG1, DEBUG2, DEBUG3.
bool parse_log_level(std::string_view name, LogLevel& out);
const char* log_level_name(LogLevel level);
// SyslogFacility names (DAEMON, USER, AUTH, AUTHPRIV, LOCAL0..7) to syslog(3) facility values.
bool parse_syslog_facility(std::string_view name, int& out);

struct LogOptions {
  std::string ident = "sshd";  // syslog ident / program name
  LogLevel level = LogLevel::kInfo;
  int facility = 4 << 3;   // LOG_AUTH
  bool to_stderr = false;  // -e, -d, -D without syslog
  std::string log_file;    // -E
};

void log_init(const LogOptions& options);
LogLevel log_level();
bool log_enabled(LogLevel level);
// Changes only the level, keeping destinations and sink; returns the previous level (internal-sftp
// logs at its own -l level inside the session process).
LogLevel log_set_level(LogLevel level);

// A syslog facility for this process's lines other than the configured one (internal-sftp's -f),
// 0 for none; returns the previous override. Sinks pass it on (log_facility_override) so the
// process that writes the line uses it.
int log_set_facility_override(int facility);
int log_facility_override();

// A sink replaces the normal destinations (used by the net child to forward to the monitor).
using LogSink = std::function<void(LogLevel, std::string_view)>;
void log_set_sink(LogSink sink);
// Writes an already-formatted line (e.g. one forwarded from a child) to the destinations.
void log_line(LogLevel level, std::string_view line);

// LogVerbose (sshd_config(5)): log calls whose place in the source matches are emitted whatever
// their level. The filter sees one tag per call, "FILE:FUNCTION():LINE", where FILE is the
// source file's base name ("monitor.cpp"), FUNCTION the unqualified name __func__ gives
// ("handle"; "operator()" inside a lambda) and LINE the decimal line. common/config installs it
// from the configuration (apply_log_verbose); none is installed by default.
using LogLocationFilter = std::function<bool(std::string_view tag)>;
void log_set_location_filter(LogLocationFilter filter);
bool log_forced(const char* file, const char* func, int line);

void logv(LogLevel level, const char* fmt, va_list ap);
void logf(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

#define POSTERN_LOG(level, ...)                                                        \
  do {                                                                                 \
    if (::postern::log_enabled(level) ||                                               \
        ::postern::log_forced(__FILE__, static_cast<const char*>(__func__), __LINE__)) \
      ::postern::logf(level, __VA_ARGS__);                                             \
  } while (0)
#define log_error(...) POSTERN_LOG(::postern::LogLevel::kError, __VA_ARGS__)
#define log_info(...) POSTERN_LOG(::postern::LogLevel::kInfo, __VA_ARGS__)
#define log_verbose(...) POSTERN_LOG(::postern::LogLevel::kVerbose, __VA_ARGS__)
#define log_debug(...) POSTERN_LOG(::postern::LogLevel::kDebug1, __VA_ARGS__)
#define log_debug2(...) POSTERN_LOG(::postern::LogLevel::kDebug2, __VA_ARGS__)
#define log_debug3(...) POSTERN_LOG(::postern::LogLevel::kDebug3, __VA_ARGS__)

// Logs at FATAL ("fatal: ..." on stderr) and exits with status 255, as OpenSSH's fatal().
[[noreturn]] void fatal(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace postern
