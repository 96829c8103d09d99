// sshd-bastion's jail (bastion_main.cpp enters privsep_child::enter_net_jail(), the same as
// sshd-net): a jailed process cannot open a file or make a socket, while the descriptors the
// monitor passes it (a target's TCP connection in TargetOpenReply) still work.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

#include "common/ipc.h"
#include "common/ipc_bastion_messages.h"
#include "net/sandbox.h"
#include "postern_config.h"
#include "privsep_child/privilege_drop.h"

namespace postern {
namespace {

// Runs body in a forked child after `enter` and returns its exit code (or 200 + signal).
template <typename Enter, typename Body>
int run_in_jail(Enter enter, Body body) {
  pid_t pid = fork();
  if (pid == 0) {
    enter();
    _exit(body());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) return 200 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

void seccomp_only() {
  if (!net::SandboxPolicy::net_child().apply()) _exit(100);
}

int try_open_and_socket() {
  if (::open("/etc/hostname", O_RDONLY) >= 0 || errno != EACCES) return 1;
  if (::openat(AT_FDCWD, "/etc/hostname", O_RDONLY) >= 0 || errno != EACCES) return 2;
  if (::socket(AF_INET, SOCK_STREAM, 0) >= 0 || errno != EACCES) return 3;
  if (::socket(AF_UNIX, SOCK_STREAM, 0) >= 0 || errno != EACCES) return 4;
  return 0;
}

TEST(BastionSandbox, NoFileNoSocketUnderThePolicy) {
  EXPECT_EQ(run_in_jail(seccomp_only, try_open_and_socket), 0);
}

// Calls outside the allow-list do not fail politely: the process dies (SIGSYS).
TEST(BastionSandbox, SocketpairAndExecKillTheProcess) {
  EXPECT_EQ(run_in_jail(seccomp_only,
                        [] {
                          int sv[2];
                          return ::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 ? 1 : 2;
                        }),
            200 + SIGSYS);
  EXPECT_EQ(run_in_jail(seccomp_only,
                        [] {
                          char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
                          ::execve("/bin/true", argv, environ);
                          return 3;
                        }),
            200 + SIGSYS);
}

// accept4 is an extender's connection's alone (enter_net_jail's accept_streams): without it the
// call kills the process; with it, a listening socket made before the jail takes a stream, and
// socket() still fails.
TEST(BastionSandbox, AcceptOnlyWhereAnExtenderNeedsIt) {
  auto listening = [] {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::string name = "postern-sandbox-accept-" + std::to_string(::getpid());
    std::memcpy(sa.sun_path + 1, name.data(), name.size());
    socklen_t len = socklen_t(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    ::bind(fd, reinterpret_cast<sockaddr*>(&sa), len);
    ::listen(fd, 1);
    int c = ::socket(AF_UNIX, SOCK_STREAM, 0);
    ::connect(c, reinterpret_cast<sockaddr*>(&sa), len);
    return fd;  // the connecting end stays open in the child
  };
  EXPECT_EQ(run_in_jail([] {},
                        [&] {
                          int l = listening();
                          seccomp_only();
                          return ::accept4(l, nullptr, nullptr, 0) >= 0 ? 1 : 2;
                        }),
            200 + SIGSYS);
  EXPECT_EQ(run_in_jail([] {},
                        [&] {
                          int l = listening();
                          if (!net::SandboxPolicy::net_child().allow_accept().apply()) return 100;
                          if (::accept4(l, nullptr, nullptr, SOCK_CLOEXEC) < 0) return 1;
                          return try_open_and_socket();
                        }),
            0);
}

// The fd arrives over the ipc channel inside the jail, as TargetOpenReply's does, and carries
// bytes both ways.
TEST(BastionSandbox, DescriptorsFromTheMonitorStillWork) {
  auto [monitor, child] = ipc::Channel::make_pair();
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  int code = -1;
  pid_t pid = fork();
  if (pid == 0) {
    seccomp_only();
    try {
      ipc::Message m = child.receive();
      if (m.fds.size() != 1) _exit(10);
      auto reply = ipc::decode<ipc::TargetOpenReply>(m.data.view());
      if (!reply.allowed) _exit(11);
      if (::write(m.fds[0].get(), "hello", 5) != 5) _exit(12);
      char buf[8];
      if (::read(m.fds[0].get(), buf, sizeof buf) != 3) _exit(13);
      _exit(try_open_and_socket());
    } catch (...) {
      _exit(14);
    }
  }
  ipc::TargetOpenReply reply;
  reply.allowed = true;
  int fd = sv[1];
  monitor.send(reply, std::span<const int>(&fd, 1));
  char buf[8] = {};
  ASSERT_EQ(::read(sv[0], buf, sizeof buf), 5);
  EXPECT_EQ(std::string(buf, 5), "hello");
  ASSERT_EQ(::write(sv[0], "bye", 3), 3);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  code = WEXITSTATUS(status);
  EXPECT_EQ(code, 0);
  ::close(sv[0]);
  ::close(sv[1]);
}

// The whole jail as sshd-bastion enters it: chroot, privsep user, no capabilities, seccomp.
// Needs root and the privsep user and directory.
TEST(BastionSandbox, TheRealJailAsSshdBastionEntersIt) {
  struct stat st {};
  if (::geteuid() != 0 || getpwnam(POSTERN_PRIVSEP_USER) == nullptr ||
      ::stat(POSTERN_PRIVSEP_PATH, &st) != 0)
    GTEST_SKIP() << "needs root, user " POSTERN_PRIVSEP_USER " and " POSTERN_PRIVSEP_PATH;
  int code = run_in_jail([] { privsep_child::enter_net_jail(); },
                         [] {
                           if (::getuid() == 0 || ::geteuid() == 0) return 20;
                           return try_open_and_socket();
                         });
  EXPECT_EQ(code, 0);
}

}  // namespace
}  // namespace postern
