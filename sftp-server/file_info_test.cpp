#include "sftp-server/file_info.h"

#include <gtest/gtest.h>

namespace postern::sftp {
namespace {

TEST(SftpFileInfo, ModeString) {
  EXPECT_EQ(mode_string(S_IFREG | 0644), "-rw-r--r--");
  EXPECT_EQ(mode_string(S_IFDIR | 0755), "drwxr-xr-x");
  EXPECT_EQ(mode_string(S_IFLNK | 0777), "lrwxrwxrwx");
  EXPECT_EQ(mode_string(S_IFDIR | 01777), "drwxrwxrwt");
  EXPECT_EQ(mode_string(S_IFREG | 04755), "-rwsr-xr-x");
  EXPECT_EQ(mode_string(S_IFREG | 02644), "-rw-r-Sr--");
  EXPECT_EQ(mode_string(S_IFDIR | 01770), "drwxrwx--T");
}

TEST(SftpFileInfo, LongName) {
  struct stat st = {};
  st.st_mode = S_IFREG | 0600;
  st.st_nlink = 1;
  st.st_uid = 0;
  st.st_gid = 0;
  st.st_size = 1234;
  st.st_mtime = 1700000000;
  NameCache names;
  std::string l = long_name("file name", st, names, 1700000000 + 60);
  EXPECT_EQ(l.substr(0, 10), "-rw-------");
  EXPECT_NE(l.find(" root "), std::string::npos);
  EXPECT_NE(l.find(" 1234 "), std::string::npos);
  EXPECT_EQ(l.substr(l.size() - 10), " file name");
  // Old files show the year.
  std::string old = long_name("f", st, names, 1700000000 + 400 * 86400);
  EXPECT_NE(old.find("2023"), std::string::npos);
  st.st_uid = 0x7ffffff0;
  EXPECT_NE(long_name("f", st, names, 1700000000).find("2147483632"), std::string::npos);
}

TEST(SftpFileInfo, AttrsRoundTrip) {
  struct stat st = {};
  st.st_mode = S_IFREG | 0640;
  st.st_size = 1ll << 40;
  st.st_uid = 1000;
  st.st_gid = 100;
  st.st_atime = 5;
  st.st_mtime = 6;
  Attrs a = attrs_from_stat(st);
  Writer w;
  write_attrs(w, a);
  Reader r(w.buffer());
  EXPECT_EQ(read_attrs(r), a);
  EXPECT_TRUE(r.done());
  EXPECT_EQ(a.size, 1ull << 40);
  EXPECT_EQ(a.permissions, uint32_t(S_IFREG | 0640));
}

}  // namespace
}  // namespace postern::sftp
