// A sandboxed child that makes a forbidden syscall is asserted to fail or die
// (docs/architecture.md).
#include "net/sandbox.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string>

namespace postern::net {
namespace {

// Runs body in a forked child under the net child's policy and returns the wait status.
template <typename F>
int run_sandboxed(F body) {
  pid_t pid = fork();
  if (pid == 0) {
    auto r = SandboxPolicy::net_child().apply();
    if (!r) _exit(100);
    _exit(body());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

TEST(Sandbox, OpenFailsWithEacces) {
  int st = run_sandboxed([] {
    int fd = ::open("/etc/passwd", O_RDONLY);
    if (fd >= 0) return 1;
    return errno == EACCES ? 0 : 2;
  });
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0);
}

TEST(Sandbox, SocketFailsWithEacces) {
  int st = run_sandboxed([] {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd >= 0) return 1;
    return errno == EACCES ? 0 : 2;
  });
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0);
}

TEST(Sandbox, ExecveKillsTheProcess) {
  int st = run_sandboxed([] {
    char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
    ::execve("/bin/true", argv, environ);
    return 3;
  });
  ASSERT_TRUE(WIFSIGNALED(st)) << "status " << st;
  EXPECT_EQ(WTERMSIG(st), SIGSYS);
}

struct Pipe {
  int fds[2] = {-1, -1};
  Pipe() { EXPECT_EQ(::pipe(fds), 0); }
  ~Pipe() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
  int operator[](int i) const { return fds[i]; }
};

// The filter's answer to a call outside the allow-list: SIGSYS kills the whole process.
void expect_refused(int st) {
  ASSERT_TRUE(WIFSIGNALED(st)) << "the call went through (status " << st << ")";
  EXPECT_EQ(WTERMSIG(st), SIGSYS);
}

// W^X for the jail: a compromised child must not get executable memory to run injected code in.
TEST(Sandbox, MmapWithProtExecIsRefused) {
  expect_refused(run_sandboxed([] {
    void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? 2 : 0;
  }));
}

TEST(Sandbox, MprotectToProtExecIsRefused) {
  expect_refused(run_sandboxed([] {
    void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 2;
    return ::mprotect(p, 4096, PROT_READ | PROT_EXEC) == 0 ? 0 : 3;
  }));
}

// F_SETOWN/F_SETSIG/O_ASYNC would make the kernel send signals on the child's behalf to a pid
// of its choosing, e.g. another connection's child running as the same privsep user.
TEST(Sandbox, FcntlSetownIsRefused) {
  Pipe fds;  // made outside the jail, which has no pipe()
  expect_refused(run_sandboxed([&] { return ::fcntl(fds[0], F_SETOWN, ::getpid()) == 0 ? 0 : 3; }));
}

TEST(Sandbox, FcntlSetsigIsRefused) {
  Pipe fds;  // made outside the jail, which has no pipe()
  expect_refused(run_sandboxed([&] { return ::fcntl(fds[0], F_SETSIG, SIGUSR1) == 0 ? 0 : 3; }));
}

TEST(Sandbox, FcntlSetflWithOAsyncIsRefused) {
  Pipe fds;  // made outside the jail, which has no pipe()
  expect_refused(
      run_sandboxed([&] { return ::fcntl(fds[0], F_SETFL, O_NONBLOCK | O_ASYNC) == 0 ? 0 : 3; }));
}

// What the child does use (net/net_main.cpp, glibc's malloc) keeps working.
TEST(Sandbox, NonExecutableMemoryAndPlainFcntlStillWork) {
  Pipe fds;
  int st = run_sandboxed([&] {
    void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 2;
    if (::mprotect(p, 4096, PROT_READ) != 0) return 3;
    if (::mprotect(p, 4096, PROT_NONE) != 0) return 4;
    if (::munmap(p, 4096) != 0) return 5;
    int fl = ::fcntl(fds[0], F_GETFL);
    if (fl < 0 || ::fcntl(fds[0], F_SETFL, fl | O_NONBLOCK) != 0) return 7;
    if ((::fcntl(fds[0], F_GETFL) & O_NONBLOCK) == 0) return 8;
    if (::fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0) return 9;
    if ((::fcntl(fds[0], F_GETFD) & FD_CLOEXEC) == 0) return 10;
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(st)) << "status " << st;
  EXPECT_EQ(WEXITSTATUS(st), 0);
}

std::string proc_status_field(pid_t pid, const std::string& name) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(name + ":", 0) == 0) {
      size_t v = line.find_first_not_of(" \t", name.size() + 1);
      return v == std::string::npos ? "" : line.substr(v);
    }
  return "";
}

TEST(Sandbox, AllowedCallsWorkAndStateIsVisible) {
  int up[2], down[2];
  ASSERT_EQ(pipe(up), 0);
  ASSERT_EQ(pipe(down), 0);
  pid_t pid = fork();
  if (pid == 0) {
    if (!SandboxPolicy::net_child().apply()) _exit(100);
    void* m = malloc(1 << 20);  // the mmap path of malloc
    if (m == nullptr) _exit(2);
    free(m);
    char c = 'x';
    if (::write(up[1], &c, 1) != 1) _exit(1);
    if (::read(down[0], &c, 1) != 1) _exit(3);
    _exit(0);
  }
  char c = 0;
  ASSERT_EQ(read(up[0], &c, 1), 1);
  EXPECT_EQ(proc_status_field(pid, "Seccomp"), "2");
  EXPECT_EQ(proc_status_field(pid, "NoNewPrivs"), "1");
  ASSERT_EQ(write(down[1], "y", 1), 1);
  int st = 0;
  waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFEXITED(st)) << "status " << st;
  EXPECT_EQ(WEXITSTATUS(st), 0);
  for (int fd : {up[0], up[1], down[0], down[1]}) close(fd);
}

TEST(Sandbox, JailDropsEverything) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  pid_t pid = fork();
  if (pid == 0) {
    JailSpec spec{"/", 65534, 65534};
    if (!enter_jail(spec)) _exit(1);
    if (getuid() != 65534 || geteuid() != 65534 || getgid() != 65534) _exit(2);
    std::ifstream status("/proc/self/status");
    std::string line;
    bool ok_eff = false, ok_bnd = false;
    while (std::getline(status, line)) {
      if (line == "CapEff:\t0000000000000000") ok_eff = true;
      if (line == "CapBnd:\t0000000000000000") ok_bnd = true;
    }
    if (!ok_eff || !ok_bnd) _exit(3);
    if (setuid(0) == 0) _exit(4);
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0);
}

}  // namespace
}  // namespace postern::net
