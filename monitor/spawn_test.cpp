#include "monitor/spawn.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "postern_config.h"

namespace postern::monitor {
namespace {

TEST(Spawn, MapsDescriptorsAndReportsExit) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  // The child writes to its fd 5, which is our pipe's write end; nothing else leaks in.
  auto child = ChildProcess::spawn("/bin/sh", {"sh", "-c", "echo hi >&5; exit 7"}, {{p[1], 5}});
  ASSERT_TRUE(child) << child.error().message;
  ::close(p[1]);
  char buf[16] = {};
  ASSERT_EQ(::read(p[0], buf, sizeof buf), 3);
  EXPECT_EQ(std::string(buf), "hi\n");
  ::close(p[0]);
  int st = child->wait();
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 7);
  EXPECT_EQ(describe_wait_status(st), "exited with status 7");
}

TEST(Spawn, SwappedDescriptorsDoNotClobberEachOther) {
  int a[2], b[2];
  ASSERT_EQ(::pipe2(a, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(b, O_CLOEXEC), 0);
  // Ask for a's write end as b's number and the other way round.
  // (sh redirects only fds 0..9.)
  int wa = 8, wb = 7;
  ASSERT_EQ(::dup3(a[1], wa, O_CLOEXEC), wa);
  ASSERT_EQ(::dup3(b[1], wb, O_CLOEXEC), wb);
  auto child =
      ChildProcess::spawn("/bin/sh", {"sh", "-c", "echo A >&7; echo B >&8"}, {{wa, 7}, {wb, 8}});
  ASSERT_TRUE(child);
  for (int fd : {a[1], b[1], wa, wb}) ::close(fd);
  char buf[8] = {};
  ASSERT_EQ(::read(a[0], buf, sizeof buf), 2);
  EXPECT_EQ(buf[0], 'A');
  ASSERT_EQ(::read(b[0], buf, sizeof buf), 2);
  EXPECT_EQ(buf[0], 'B');
  EXPECT_EQ(child->wait(), 0);
  ::close(a[0]);
  ::close(b[0]);
}

TEST(Spawn, UnmappedDescriptorsDoNotLeak) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);  // deliberately without close-on-exec
  ASSERT_EQ(::dup2(p[1], 9), 9);
  auto child = ChildProcess::spawn("/bin/sh", {"sh", "-c", "test ! -e /proc/self/fd/9"}, {});
  ASSERT_TRUE(child);
  EXPECT_EQ(child->wait(), 0);
  for (int fd : {p[0], p[1], 9}) ::close(fd);
}

TEST(Spawn, ExecFailureIsAnError) {
  auto child = ChildProcess::spawn("/nonexistent/binary", {"x"}, {});
  ASSERT_FALSE(child);
  EXPECT_NE(child.error().message.find("No such file"), std::string::npos);
}

TEST(Spawn, DestructorKillsAndReaps) {
  pid_t pid;
  {
    auto child = ChildProcess::spawn("/bin/sleep", {"sleep", "30"}, {});
    ASSERT_TRUE(child);
    pid = child->pid();
  }
  EXPECT_EQ(::kill(pid, 0), -1);  // reaped: the pid no longer exists
}

TEST(Spawn, FindsHelpersBesideTheBuildTree) {
  // This test runs from the build tree: sshd-net is found there, not in the libexec directory.
  std::string p = find_helper("sshd-net");
  EXPECT_EQ(p, std::string(POSTERN_BUILD_ROOT) + "/net/sshd-net");
}

using Paths = std::vector<std::string>;
constexpr const char* kRoot = "/home/dev/postern/build";
constexpr const char* kLibexec = "/usr/local/libexec";

// An installed sshd runs only the helpers of its libexec directory: /usr/local/sbin/../net/ is
// /usr/local/net/, a directory group staff could create on older systems.
TEST(HelperLookup, InstalledBinaryUsesOnlyTheLibexecDirectory) {
  EXPECT_EQ(helper_candidates("/usr/local/sbin/sshd", kRoot, kLibexec, "sshd-session"),
            Paths{"/usr/local/libexec/sshd-session"});
  EXPECT_EQ(helper_candidates("/usr/local/libexec/sshd-session", kRoot, kLibexec, "sshd-net"),
            Paths{"/usr/local/libexec/sshd-net"});
  // Deleted after start (a package upgrade): still not the build tree.
  EXPECT_EQ(helper_candidates("/usr/sbin/sshd (deleted)", kRoot, "/usr/lib/postern", "sshd-user"),
            Paths{"/usr/lib/postern/sshd-user"});
  // A build without a build root (or a path the kernel did not give) is an installed one.
  EXPECT_EQ(helper_candidates("/usr/sbin/sshd", "", kLibexec, "sshd-net"),
            Paths{"/usr/local/libexec/sshd-net"});
  EXPECT_EQ(helper_candidates("", kRoot, kLibexec, "sshd-net"),
            Paths{"/usr/local/libexec/sshd-net"});
}

// Only a whole path component matches: build-old/ is not inside build/.
TEST(HelperLookup, ASiblingOfTheBuildRootIsNotTheBuildTree) {
  EXPECT_EQ(
      helper_candidates("/home/dev/postern/build-old/monitor/sshd", kRoot, kLibexec, "sshd-net"),
      Paths{"/usr/local/libexec/sshd-net"});
  EXPECT_EQ(helper_candidates("/home/dev/postern/buildsshd", kRoot, kLibexec, "sshd-net"),
            Paths{"/usr/local/libexec/sshd-net"});
}

// In the build tree: next to the binary (OpenSSH's reexec test runs a copy of sshd with the
// helpers linked beside it), then the tree's own net/, monitor/, session/ and bastion/, then the
// libexec directory.
TEST(HelperLookup, BuildTreeBinaryLooksBesideItselfThenInTheTree) {
  EXPECT_EQ(
      helper_candidates("/home/dev/postern/build/monitor/sshd", kRoot, kLibexec, "sshd-net"),
      (Paths{"/home/dev/postern/build/monitor/sshd-net", "/home/dev/postern/build/net/sshd-net",
             "/home/dev/postern/build/monitor/sshd-net", "/home/dev/postern/build/session/sshd-net",
             "/home/dev/postern/build/bastion/sshd-net", "/usr/local/libexec/sshd-net"}));
  EXPECT_EQ(
      helper_candidates("/home/dev/postern/build/regress-openssh.x/reexec/sshd (deleted)", kRoot,
                        kLibexec, "sshd-session"),
      (Paths{"/home/dev/postern/build/regress-openssh.x/reexec/sshd-session",
             "/home/dev/postern/build/net/sshd-session",
             "/home/dev/postern/build/monitor/sshd-session",
             "/home/dev/postern/build/session/sshd-session",
             "/home/dev/postern/build/bastion/sshd-session", "/usr/local/libexec/sshd-session"}));
  // A trailing slash on the configured root changes nothing.
  EXPECT_EQ(helper_candidates("/home/dev/postern/build/monitor/sshd", "/home/dev/postern/build/",
                              kLibexec, "sshd-net")
                .size(),
            6u);
}

}  // namespace
}  // namespace postern::monitor
