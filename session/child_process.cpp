#include "session/child_process.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "common/data_limit.h"
#include "common/log.h"

namespace postern::session {
namespace {

// A bigger pipe means fewer wakeups per megabyte in both directions; 1 MiB is the default
// limit for unprivileged processes (/proc/sys/fs/pipe-max-size). Failure is harmless.
constexpr int kPipeSize = 1024 * 1024;

Result<void> make_pipe(UniqueFd& read_end, UniqueFd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Unexpected(std::string("pipe: ") + strerror(errno));
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  ::fcntl(fds[0], F_SETPIPE_SZ, kPipeSize);
  return {};
}

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

void write_all(int fd, const char* s, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, s, n);
    if (w <= 0) return;
    s += w;
    n -= size_t(w);
  }
}

[[noreturn]] void child_fail(const char* what, const char* arg) {
  char buf[512];
  int n = std::snprintf(buf, sizeof buf, "%s %s: %s\n", what, arg, strerror(errno));
  if (n > 0) write_all(2, buf, std::min(size_t(n), sizeof buf - 1));
  _exit(1);
}

// Runs in the forked child; never returns.
[[noreturn]] void exec_child(const ChildSpec& spec, char* const* argv, char* const* envp, int in_fd,
                             int out_fd, int err_fd) {
  // Handlers are reset by exec, ignored signals are not: give the child the defaults (a shell
  // started with SIGPIPE ignored would make `yes | head` spin forever).
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  if (::setsid() < 0) child_fail("setsid", "");
  if (spec.pty_slave >= 0) {
    if (::ioctl(spec.pty_slave, TIOCSCTTY, 0) < 0) child_fail("TIOCSCTTY", "");
    in_fd = out_fd = err_fd = spec.pty_slave;
  }
  // Lift the descriptors above 2 first: if the parent ran with stdio closed, a pipe may sit
  // on 0..2 and one dup2 would clobber another.
  in_fd = ::fcntl(in_fd, F_DUPFD, 3);
  out_fd = ::fcntl(out_fd, F_DUPFD, 3);
  err_fd = ::fcntl(err_fd, F_DUPFD, 3);
  if (in_fd < 0 || out_fd < 0 || err_fd < 0) child_fail("dup", "");
  if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0)
    child_fail("dup2", "");
  ::close_range(3, ~0U, 0);

  if (spec.cwd.empty() || ::chdir(spec.cwd.c_str()) != 0) {
    char buf[512];
    int n = std::snprintf(buf, sizeof buf, "Could not chdir to home directory %s: %s\n",
                          spec.cwd.c_str(), strerror(errno));
    if (n > 0) write_all(2, buf, std::min(size_t(n), sizeof buf - 1));
    if (::chdir("/") != 0) _exit(1);
  }

  if (!spec.motd_path.empty()) {
    int fd = ::open(spec.motd_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0) write_all(1, buf, size_t(n));
      ::close(fd);
    }
  }

  if (spec.before_exec) spec.before_exec(envp);
  restore_data_limit_before_exec();

  ::execve(spec.path.c_str(), argv, envp);
  child_fail("exec", spec.path.c_str());
}

}  // namespace

Result<UniqueFd> pidfd_or_kill(pid_t pid) {
  UniqueFd fd(int(::syscall(SYS_pidfd_open, pid, 0)));
  if (fd) return fd;
  int err = errno;
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return Unexpected(std::string("pidfd_open: ") + strerror(err));
}

Result<ChildProcess> spawn_child(const ChildSpec& spec) {
  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  ChildProcess child;
  UniqueFd in_r, out_w, err_w;
  if (spec.pty_slave < 0) {
    if (auto r = make_pipe(in_r, child.stdin_fd); !r) return Unexpected(r.error());
    if (auto r = make_pipe(child.stdout_fd, out_w); !r) return Unexpected(r.error());
    if (auto r = make_pipe(child.stderr_fd, err_w); !r) return Unexpected(r.error());
  }

  pid_t pid = ::fork();
  if (pid < 0) return Unexpected(std::string("fork: ") + strerror(errno));
  if (pid == 0) exec_child(spec, argv.data(), envp.data(), in_r.get(), out_w.get(), err_w.get());

  child.pid = pid;
  auto pidfd = pidfd_or_kill(pid);
  if (!pidfd) return Unexpected(pidfd.error());
  child.pidfd = std::move(*pidfd);
  for (UniqueFd* fd : {&child.stdin_fd, &child.stdout_fd, &child.stderr_fd}) {
    if (*fd) set_nonblocking(fd->get());
  }
  return child;
}

}  // namespace postern::session
