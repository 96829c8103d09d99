// Starting a session's child: fork, a new session (setsid), stdio on pipes or on the pty slave
// as controlling terminal, default signal dispositions, no inherited descriptors, the home
// directory, then exec.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace postern::session {

struct ChildSpec {
  std::string path;               // the program to exec (the user's shell)
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;   // NAME=value
  std::string cwd;                // the home directory; "/" when it cannot be entered
  int pty_slave = -1;             // >= 0: the child's controlling terminal and stdio
  std::string motd_path;          // printed to the child's stdout before exec when non-empty
  // Runs in the child after the motd, just before exec, with the child's environment (~/.ssh/rc,
  // session/user_rc.h). Only system calls: the parent may have held locks when it forked.
  std::function<void(char* const* envp)> before_exec;
};

struct ChildProcess {
  pid_t pid = -1;
  UniqueFd pidfd;     // readable when the child exits (pidfd_open(2))
  UniqueFd stdin_fd;  // pipes, non-blocking and close-on-exec; unset with a pty
  UniqueFd stdout_fd;
  UniqueFd stderr_fd;
};

// Everything the child needs is prepared before fork, so the child only makes system calls.
Result<ChildProcess> spawn_child(const ChildSpec& spec);

// A pidfd for a child just forked (ours and not yet reaped, so its pid cannot have been reused).
// Without one we could not notice the exit: the child is then killed and reaped, not left
// running unseen.
Result<UniqueFd> pidfd_or_kill(pid_t pid);

}  // namespace postern::session
