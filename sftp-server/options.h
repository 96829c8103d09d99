// The sftp-server(8) command line, shared by the sftp-server binary and internal-sftp (the
// session process parses the words after "internal-sftp" in a Subsystem or ForceCommand line
// with the same function).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "common/result.h"

namespace postern::sftp {

struct ServerOptions {
  // Who and where, for the "session opened for local user U from [A]" log lines, -d tokens,
  // "~" in expand-path@openssh.com and home-directory.
  std::string user;
  std::string home;
  std::string client_address = "UNKNOWN";
  // -d: the directory relative paths start from, tokens already expanded (empty: the current
  // directory, which the session process has set to the home directory).
  std::string start_directory;
  bool read_only = false;              // -R
  std::optional<mode_t> umask;         // -u
  std::optional<std::string> denied;   // -P: comma-separated request names
  std::optional<std::string> allowed;  // -p
  uint32_t max_handles = 0;            // 0: derived from RLIMIT_NOFILE
};

struct CommandLine {
  ServerOptions options;
  std::string start_directory_template;   // -d as given, before %d/%u/%% expansion
  LogLevel log_level = LogLevel::kError;  // -l (sftp-server(8): the default is ERROR)
  int log_facility = 4 << 3;              // -f, LOG_AUTH
  bool log_level_given = false;
  bool log_facility_given = false;
  bool log_stderr = false;           // -e
  bool help = false;                 // -h
  std::optional<std::string> query;  // -Q
};

// Parses the flags sftp-server(8) documents; args excludes the program name. The error text
// is what to print before the usage line.
Result<CommandLine> parse_command_line(const std::vector<std::string>& args);

const char* usage_text();

// For internal-sftp: parses the words after "internal-sftp" (Subsystem or ForceCommand) and
// fills in who the session is for, with -d's tokens expanded, ready for Server. -Q and -h make
// no sense in a session and are refused. The caller applies log_level/log_facility when the
// words carried -l/-f (log_level_given), since its log already goes where sshd's goes.
struct InternalSftp {
  ServerOptions options;
  bool log_level_given = false;
  LogLevel log_level = LogLevel::kError;
  bool log_facility_given = false;
  int log_facility = 0;
};
Result<InternalSftp> internal_sftp_options(const std::vector<std::string>& args, std::string user,
                                           std::string home, std::string client_address);

// Expands %d (home), %u (user) and %% in a -d argument; an unknown token is an error.
Result<std::string> expand_start_directory(std::string_view tmpl, std::string_view user,
                                           std::string_view home);

}  // namespace postern::sftp
