#include "monitor/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "postern_config.h"

namespace postern::monitor {

ChildProcess::ChildProcess(ChildProcess&& o) noexcept
    : m_pid(std::exchange(o.m_pid, -1)), m_status(std::exchange(o.m_status, std::nullopt)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& o) noexcept {
  if (this != &o) {
    if (running()) {
      kill(SIGKILL);
      wait();
    }
    m_pid = std::exchange(o.m_pid, -1);
    m_status = std::exchange(o.m_status, std::nullopt);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (running()) {
    kill(SIGKILL);
    wait();
  }
}

Result<ChildProcess> ChildProcess::spawn(const std::string& path,
                                         const std::vector<std::string>& argv,
                                         const std::vector<FdMapping>& fds,
                                         const std::vector<std::string>& env) {
  // Everything the child needs is prepared before fork: after it only async-signal-safe calls.
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::vector<std::string> child_env = env;
#if defined(POSTERN_SANITIZERS)
  // Sanitizer build only: the runtime options the test run chose (no leak check in a sandboxed
  // child, which may not ptrace) reach every helper, whose environment is otherwise built anew.
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS"})
    if (const char* v = ::getenv(name)) child_env.push_back(std::string(name) + "=" + v);
#endif
  std::vector<char*> cenv;
  for (const auto& e : child_env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);

  // A pipe that reports exec failure: close-on-exec, so a successful exec closes it silently.
  int errpipe[2];
  if (::pipe2(errpipe, O_CLOEXEC) != 0)
    return Unexpected(std::string("pipe: ") + std::strerror(errno));

  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    ::close(errpipe[0]);
    ::close(errpipe[1]);
    return Unexpected(std::string("fork: ") + std::strerror(e));
  }
  if (pid == 0) {
    ::close(errpipe[0]);
    // Move every source above the highest target first, so no dup2 clobbers a later source.
    int high = 64;
    for (const auto& m : fds) high = std::max(high, m.to + 1);
    std::vector<int> moved;
    moved.reserve(fds.size());
    for (const auto& m : fds) {
      int d = ::fcntl(m.from, F_DUPFD_CLOEXEC, high);
      if (d < 0) {
        int e = errno;
        (void)!::write(errpipe[1], &e, sizeof e);
        _exit(127);
      }
      moved.push_back(d);
    }
    for (size_t i = 0; i < fds.size(); ++i) {
      if (::dup2(moved[i], fds[i].to) < 0) {
        int e = errno;
        (void)!::write(errpipe[1], &e, sizeof e);
        _exit(127);
      }
      // dup2 clears close-on-exec on the new descriptor.
    }
    // Nothing else crosses the exec: whatever our own parent left open (and any descriptor
    // someone forgot to mark close-on-exec) is closed, except the error pipe until exec.
    std::vector<int> keep;
    for (const auto& m : fds) keep.push_back(m.to);
    keep.push_back(errpipe[1]);
    for (int std_fd : {0, 1, 2}) keep.push_back(std_fd);
    std::sort(keep.begin(), keep.end());
    unsigned next = 0;
    for (int k : keep) {
      if (unsigned(k) > next) ::close_range(next, unsigned(k) - 1, 0);
      next = std::max(next, unsigned(k) + 1);
    }
    ::close_range(next, ~0U, 0);
    // Signal dispositions and the mask survive exec: give the child a clean slate.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGPIPE, SIGCHLD, SIGTERM, SIGHUP, SIGINT, SIGALRM, SIGQUIT})
      ::signal(sig, SIG_DFL);
    ::execve(path.c_str(), cargv.data(), cenv.data());
    int e = errno;
    (void)!::write(errpipe[1], &e, sizeof e);
    _exit(127);
  }
  ::close(errpipe[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(errpipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(errpipe[0]);
  ChildProcess child(pid);
  if (n > 0) {
    child.wait();
    return Unexpected("exec " + path + ": " + std::strerror(child_errno));
  }
  return child;
}

std::optional<int> ChildProcess::try_wait() {
  if (m_status || m_pid <= 0) return m_status;
  int st = 0;
  pid_t r = ::waitpid(m_pid, &st, WNOHANG);
  if (r == m_pid) m_status = st;
  return m_status;
}

int ChildProcess::wait() {
  if (m_status) return *m_status;
  if (m_pid <= 0) return 0;
  int st = 0;
  pid_t r;
  do {
    r = ::waitpid(m_pid, &st, 0);
  } while (r < 0 && errno == EINTR);
  m_status = r == m_pid ? st : 0;
  return *m_status;
}

void ChildProcess::kill(int sig) {
  if (running()) ::kill(m_pid, sig);
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "ended with status " + std::to_string(status);
}

namespace {

// True when `dir` is `root` or below it, whole components only ("build-old" is not in "build").
bool is_inside(const std::string& dir, std::string root) {
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (root.empty() || root == "/") return false;
  return dir == root || (dir.size() > root.size() && dir.compare(0, root.size(), root) == 0 &&
                         dir[root.size()] == '/');
}

}  // namespace

std::vector<std::string> helper_candidates(const std::string& exe, const std::string& build_root,
                                           const std::string& libexecdir, const std::string& name) {
  std::vector<std::string> out;
  size_t slash = exe.rfind('/');
  // /proc/self/exe of a deleted binary ends in " (deleted)": dropped with the file name.
  std::string dir = slash == std::string::npos ? std::string() : exe.substr(0, slash);
  // Only a binary running from its own build tree may use helpers from outside libexecdir:
  // whoever can write there could replace the binary itself. An installed sshd never looks
  // next to itself, where <prefix>/sbin/../net/ may be writable by others (group staff on
  // older systems' /usr/local).
  if (!dir.empty() && is_inside(dir, build_root)) {
    std::string root = build_root;
    while (root.size() > 1 && root.back() == '/') root.pop_back();
    out.push_back(dir + "/" + name);  // scripts/regress-openssh links them beside reexec's copy
    out.push_back(root + "/net/" + name);
    out.push_back(root + "/monitor/" + name);
    out.push_back(root + "/session/" + name);
    out.push_back(root + "/bastion/" + name);
  }
  out.push_back(libexecdir + "/" + name);
  return out;
}

std::string find_helper(const std::string& name) {
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  std::string exe = n > 0 ? std::string(self, size_t(n)) : std::string();
  // /proc/self/exe has no symlinks in it; the configured root may (e.g. a symlinked home).
  std::string root = POSTERN_BUILD_ROOT;
  if (char* real = ::realpath(root.c_str(), nullptr)) {
    root = real;
    ::free(real);
  }
  for (const std::string& p : helper_candidates(exe, root, POSTERN_LIBEXECDIR, name))
    if (::access(p.c_str(), X_OK) == 0) return p;
  return std::string(POSTERN_LIBEXECDIR) + "/" + name;
}

}  // namespace postern::monitor
