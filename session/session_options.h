// SessionOptions: what the channel layer needs of the effective (Match-evaluated) configuration
// and of the key that authenticated the user, built in one place from both, so a new
// sshd_config(5) keyword for sessions is one member here and one line in session_options.cpp.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "session/forward_policy.h"

namespace postern::config {
struct ServerConfig;
}
namespace postern::ipc {
struct UserSetup;
}

namespace postern::session {

struct SessionOptions {
  std::vector<std::string> accept_env;                          // AcceptEnv patterns
  std::vector<std::pair<std::string, std::string>> subsystems;  // Subsystem name → command
  std::string force_command;                                    // ForceCommand, "" for none
  bool permit_tty = true;                                       // PermitTTY
  bool print_motd = true;                                       // PrintMotd
  unsigned max_sessions = 10;                                   // MaxSessions
  std::vector<std::pair<std::string, std::string>> set_env;     // SetEnv
  bool force_command_from_key = false;  // force_command is the key's command=, not ForceCommand
  bool permit_user_rc = true;           // PermitUserRC and the key's no-user-rc (user_rc.h)
  bool print_last_log = true;           // PrintLastLog
  std::string permit_user_environment = "no";  // PermitUserEnvironment: no, yes or patterns
  std::vector<std::string> key_environment;    // the key's environment= ("NAME=value")
  ForwardPolicy forward;  // AllowTcpForwarding, PermitOpen, GatewayPorts... (forward_policy.h)
  unsigned client_alive_interval = 0;         // ClientAliveInterval seconds, 0: off
  unsigned client_alive_count_max = 3;        // ClientAliveCountMax
  unsigned unused_connection_timeout = 0;     // UnusedConnectionTimeout seconds, 0: off
  std::vector<std::string> channel_timeouts;  // ChannelTimeout words ("session:command=5m")
  bool x11_forwarding = false;                // X11Forwarding
  unsigned x11_display_offset = 10;           // X11DisplayOffset
  bool x11_use_localhost = true;              // X11UseLocalhost
  std::string xauth_location = "/usr/bin/xauth";
  // ChrootDirectory applied (set by the session process after its privilege drop): a home
  // directory missing inside it is no news to the user (sshd says nothing then), so sessions
  // start in "/" silently.
  bool chrooted = false;
};

// The options of the effective configuration `cfg`, with the authenticating key's restrictions
// (command=, environment=, permitopen=, permitlisten=) and PAM's environment from `setup`.
SessionOptions session_options_from_config(const config::ServerConfig& cfg,
                                           const ipc::UserSetup& setup);

}  // namespace postern::session
