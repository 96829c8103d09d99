#include "privsep_child/group_list.h"

#include <grp.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include <gtest/gtest.h>

namespace postern::privsep_child {
namespace {

TEST(GroupList, RoundTripsThroughTheWire) {
  std::vector<gid_t> groups{0, 27, 1000, 65534, 4000000000u};
  Bytes wire = encode_groups(groups);
  ASSERT_EQ(wire.size(), 20u);
  EXPECT_EQ(wire[4], 0);
  EXPECT_EQ(wire[7], 27);
  auto back = decode_groups(wire);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, groups);
}

TEST(GroupList, MalformedListsAreRefused) {
  EXPECT_FALSE(decode_groups(ByteView()));  // not even the primary group
  Bytes ragged{0, 0, 3, 232, 0, 0};         // one u32 and a half
  auto r = decode_groups(ragged);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "group list of 6 bytes: expected 1 to 65536 u32s");
  Bytes too_many(4 * 65537, 0);  // more than setgroups(2) takes
  EXPECT_FALSE(decode_groups(too_many));
  EXPECT_TRUE(decode_groups(Bytes(4 * 65536, 0)));
}

// The set a child gets from initgroups(3) itself, as sshd-user used to call it.
std::vector<gid_t> groups_after_initgroups(const std::string& user, gid_t primary) {
  int pipe_fds[2];
  EXPECT_EQ(::pipe(pipe_fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    gid_t got[4096];
    int n = ::initgroups(user.c_str(), primary) == 0 ? ::getgroups(4096, got) : -1;
    if (n > 0) (void)!::write(pipe_fds[1], got, sizeof(gid_t) * size_t(n));
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::vector<gid_t> out(4096);
  ssize_t r = ::read(pipe_fds[0], out.data(), out.size() * sizeof(gid_t));
  ::close(pipe_fds[0]);
  ::waitpid(pid, nullptr, 0);
  out.resize(r > 0 ? size_t(r) / sizeof(gid_t) : 0);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(GroupList, AccountGroupsAreWhatInitgroupsWouldSet) {
  if (::geteuid() != 0) GTEST_SKIP() << "initgroups needs root";
  int checked = 0;
  setpwent();
  while (passwd* pw = getpwent()) {
    if (checked == 8) break;
    std::string name = pw->pw_name;
    gid_t gid = pw->pw_gid;
    std::vector<gid_t> ours = account_groups(name, gid);
    std::sort(ours.begin(), ours.end());
    EXPECT_EQ(ours, groups_after_initgroups(name, gid)) << name;
    ++checked;
  }
  endpwent();
  EXPECT_GT(checked, 0);
  // A user no database knows still has its primary group.
  EXPECT_EQ(account_groups("postern-no-such-user-here", 4242), std::vector<gid_t>{4242});
}

}  // namespace
}  // namespace postern::privsep_child
