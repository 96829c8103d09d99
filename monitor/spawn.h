// Starting postern's helper processes: fork + exec of a fresh image (docs/architecture.md: a child
// never inherits the parent's memory, so it never holds a secret it was not sent), with chosen
// descriptors at chosen numbers and everything else closed by close-on-exec. ChildProcess owns
// the child: it reaps it and says how it ended.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace postern::monitor {

// `from` (a descriptor of ours) becomes `to` in the child.
struct FdMapping {
  int from;
  int to;
};

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(ChildProcess&& o) noexcept;
  ChildProcess& operator=(ChildProcess&& o) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // A child still running when its owner goes away is killed and reaped.
  ~ChildProcess();

  // argv[0] is the name the child sees; the environment is empty except `env`.
  static Result<ChildProcess> spawn(const std::string& path, const std::vector<std::string>& argv,
                                    const std::vector<FdMapping>& fds,
                                    const std::vector<std::string>& env = {});
  // Adopts a child forked elsewhere.
  explicit ChildProcess(pid_t pid) : m_pid(pid) {}

  pid_t pid() const { return m_pid; }
  bool running() const { return m_pid > 0 && !m_status; }
  // Reaps without blocking; the wait status once the child has ended.
  std::optional<int> try_wait();
  int wait();
  void kill(int sig);
  // Forgets the child without killing it (the listener leaves live sessions alone on exit).
  void detach() { m_pid = -1; }
  // Records a status reaped by someone else (a SIGCHLD loop).
  void set_status(int status) { m_status = status; }

 private:
  pid_t m_pid = -1;
  std::optional<int> m_status;
};

// "exited with status N" / "killed by signal N", for logs.
std::string describe_wait_status(int status);

// Where to look for helper `name`, in order, for a binary running as `exe` (/proc/self/exe).
std::vector<std::string> helper_candidates(const std::string& exe, const std::string& build_root,
                                           const std::string& libexecdir, const std::string& name);

// The path of a sibling binary ("sshd-session", "sshd-net", "sshd-user"): the first of
// helper_candidates() that is executable, else the libexecdir path, so the error names it.
std::string find_helper(const std::string& name);

}  // namespace postern::monitor
