// The programs the listener and the monitor exec for each connection: postern's sshd-session
// and sshd-net, or those SshdSessionPath and SshdAuthPath name (OpenSSH 9.8 / 10.0,
// man/sshd_config.5).
#pragma once

#include <string>

#include "common/config/server_config.h"
#include "common/result.h"

namespace postern::monitor {

// The listener's per-connection program: SshdSessionPath, else the built-in sshd-session.
std::string sshd_session_program(const config::ServerConfig& cfg);
// The monitor's pre-authentication child: SshdAuthPath, else the built-in sshd-net.
std::string sshd_auth_program(const config::ServerConfig& cfg);

// A configured helper must be an absolute path to an executable regular file owned by root and
// writable by no one else: whoever could replace it would run as root on the next connection.
// The error names the keyword and what is wrong.
Result<void> check_helper_program(const char* keyword, const std::string& path);
// Both configured helpers (an unset one is the built-in and not checked here).
Result<void> check_configured_helpers(const config::ServerConfig& cfg);

}  // namespace postern::monitor
