#include "session/user_rc.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "common/data_limit.h"

namespace postern::session {
namespace {

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

std::string choose_rc_file(const std::string& home, bool user_rc_allowed,
                           const std::string& system_rc) {
  if (user_rc_allowed) {
    std::string user_rc = home + (home.empty() || home.back() != '/' ? "/" : "") + kUserRcName;
    if (exists(user_rc)) return user_rc;
  }
  if (!system_rc.empty() && exists(system_rc)) return system_rc;
  return "";
}

std::string rc_input(std::string_view x11_proto, std::string_view x11_cookie) {
  if (x11_proto.empty() || x11_cookie.empty()) return "";
  std::string line;
  line.append(x11_proto).append(" ").append(x11_cookie).append("\n");
  return line;
}

int run_rc_file(const std::string& path, std::string_view input, char* const* envp, int out_fd,
                int err_fd) {
  // Built before fork: the child below only makes system calls.
  const char* argv[] = {"sh", path.c_str(), nullptr};
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return -1;
  }
  if (pid == 0) {
    // dup2 clears close-on-exec on the copies.
    if (::dup2(fds[0], 0) < 0) _exit(127);
    if (out_fd >= 0 && ::dup2(out_fd, 1) < 0) _exit(127);
    if (err_fd >= 0 && ::dup2(err_fd, 2) < 0) _exit(127);
    restore_data_limit_before_exec();
    ::execve(kRcShell, const_cast<char* const*>(argv), envp);
    _exit(127);
  }
  ::close(fds[0]);
  // A script that exits without reading must not kill us with SIGPIPE: in a session child the
  // dispositions are already the defaults.
  struct sigaction ignore = {}, old = {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &old);
  // One short line: the pipe takes it without blocking.
  size_t off = 0;
  while (off < input.size()) {
    ssize_t w = ::write(fds[1], input.data() + off, input.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    off += size_t(w);
  }
  ::close(fds[1]);
  ::sigaction(SIGPIPE, &old, nullptr);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

}  // namespace postern::session
