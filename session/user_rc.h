// ~/.ssh/rc and the system-wide sshrc (sshd(8) LOGIN PROCESS step 8 and SSHRC): a shell script
// the user's session runs with /bin/sh just before the shell or command, given the X11
// authentication protocol and cookie on its standard input when X11 forwarding is on.
#pragma once

#include <string>
#include <string_view>

#include "postern_config.h"

namespace postern::session {

// OpenSSH's _PATH_SSH_SYSTEM_RC, under postern's configuration directory.
inline constexpr const char* kSystemRcPath = POSTERN_SYSCONFDIR "/sshrc";
inline constexpr const char* kUserRcName = ".ssh/rc";
inline constexpr const char* kRcShell = "/bin/sh";

// The rc file a session runs, "" for none. ~/.ssh/rc when `user_rc_allowed` (PermitUserRC, the
// key's no-user-rc, and neither a subsystem nor a ForceCommand from the configuration: sshd
// runs the user's rc only for the user's own commands) and it exists; otherwise `system_rc`
// when it exists. Checked as the user, after ChrootDirectory.
std::string choose_rc_file(const std::string& home, bool user_rc_allowed,
                           const std::string& system_rc = kSystemRcPath);

// What the rc file reads on its standard input: "proto cookie\n" with X11 forwarding (the
// client's x11-req data, sshd(8) SSHRC), nothing without.
std::string rc_input(std::string_view x11_proto, std::string_view x11_cookie);

// Runs `/bin/sh path` with `input` on its standard input and `envp` as its environment and
// waits for it. Its stdout and stderr are `out_fd` and `err_fd` (-1: inherited). Made to run in
// a forked session child before exec (system calls only after the argument vector is built) as
// well as in the session process. Returns the wait status, or -1 when it could not be started.
int run_rc_file(const std::string& path, std::string_view input, char* const* envp, int out_fd = -1,
                int err_fd = -1);

}  // namespace postern::session
