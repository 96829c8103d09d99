// The files the listening daemon keeps on the system: the privilege separation directory and
// the PidFile (sshd_config(5)), with OpenSSH's messages when either is wrong.
#pragma once

#include <string>

namespace postern::monitor {

// POSTERN_PRIVSEP_PATH exists (made 0755 if missing), is a directory, root's and not group or
// world-writable; otherwise logs why and returns false.
bool ensure_privsep_dir();

// Writes our pid to `path` (nothing when empty); false, logged, when it cannot.
bool write_pid_file(const std::string& path);

}  // namespace postern::monitor
