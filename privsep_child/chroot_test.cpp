#include "privsep_child/chroot.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace postern::privsep_child {
namespace {

TEST(ChrootTest, Configured) {
  EXPECT_FALSE(chroot_configured(""));
  EXPECT_FALSE(chroot_configured("none"));
  EXPECT_FALSE(chroot_configured("NONE"));
  EXPECT_TRUE(chroot_configured("/srv/sftp"));
  EXPECT_TRUE(chroot_configured("%h"));
}

TEST(ChrootTest, Tokens) {
  auto p = expand_chroot_path("/srv/%u/%%/%U%h", "bob", "/home/bob", 1001);
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, "/srv/bob/%/1001/home/bob");
  p = expand_chroot_path("~/jail", "bob", "/home/bob", 1001);
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, "/home/bob/jail");
  p = expand_chroot_path("/x~y", "bob", "/home/bob", 1001);
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, "/x~y");
  EXPECT_FALSE(expand_chroot_path("/srv/%d", "bob", "/home/bob", 1));
  EXPECT_FALSE(expand_chroot_path("/srv/%", "bob", "/home/bob", 1));
}

// The checks need root-owned directories; the suite runs as root (regress/ creates users too).
class ChrootCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    char tmpl[] = "/run/postern-chroot-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    m_base = tmpl;
    ::chmod(m_base.c_str(), 0755);
  }
  void TearDown() override {
    if (!m_base.empty()) std::filesystem::remove_all(m_base);
  }
  std::string m_base;
};

TEST_F(ChrootCheckTest, GoodDirectory) {
  std::string d = m_base + "/jail";
  ASSERT_EQ(::mkdir(d.c_str(), 0755), 0);
  EXPECT_TRUE(check_chroot_path(d));
  EXPECT_TRUE(check_chroot_path(d + "/"));
  EXPECT_TRUE(check_chroot_path("/"));
}

TEST_F(ChrootCheckTest, WritableComponent) {
  std::string mid = m_base + "/mid";
  std::string d = mid + "/jail";
  ASSERT_EQ(::mkdir(mid.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(d.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(mid.c_str(), 0775), 0);
  auto r = check_chroot_path(d);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "bad ownership or modes for chroot directory component \"" + mid + "/\"");
}

TEST_F(ChrootCheckTest, UserOwnedDirectoryItself) {
  std::string d = m_base + "/jail";
  ASSERT_EQ(::mkdir(d.c_str(), 0755), 0);
  ASSERT_EQ(::chown(d.c_str(), 65534, 65534), 0);
  auto r = check_chroot_path(d);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "bad ownership or modes for chroot directory \"" + d + "\"");
}

TEST_F(ChrootCheckTest, NotADirectoryOrMissingOrRelative) {
  std::string f = m_base + "/file";
  std::ofstream(f) << "x";
  ::chmod(f.c_str(), 0644);
  auto r = check_chroot_path(f);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "chroot path \"" + f + "\" is not a directory");
  r = check_chroot_path(m_base + "/missing");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("No such file or directory"), std::string::npos);
  EXPECT_FALSE(check_chroot_path("relative/dir"));
}

}  // namespace
}  // namespace postern::privsep_child
