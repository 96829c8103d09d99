#include "monitor/login_records.h"

#include <sys/stat.h>
#include <unistd.h>
#include <utmpx.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include <gtest/gtest.h>

namespace postern::monitor {
namespace {

class LoginRecordsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/postern-login-records-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    m_dir = tmpl;
    m_paths = {m_dir + "/utmp", m_dir + "/wtmp", m_dir + "/lastlog"};
    for (const auto& p : {m_paths.utmp, m_paths.wtmp, m_paths.lastlog}) std::ofstream{p};
  }
  void TearDown() override { std::system(("rm -rf " + m_dir).c_str()); }

  std::vector<utmpx> entries(const std::string& path) {
    std::vector<utmpx> out;
    std::ifstream f(path, std::ios::binary);
    utmpx ut;
    while (f.read(reinterpret_cast<char*>(&ut), sizeof ut)) out.push_back(ut);
    return out;
  }
  static std::string str(const char* field, size_t n) {
    return std::string(field, strnlen(field, n));
  }

  std::string m_dir;
  LoginRecordPaths m_paths;
};

TEST_F(LoginRecordsTest, LoginAndLogout) {
  LoginRecords records(m_paths);
  // Only a pty this monitor allocated.
  EXPECT_FALSE(records.login("/dev/pts/7", "alice", 1000, "192.0.2.7", 42));
  EXPECT_FALSE(records.logout("/dev/pts/7"));
  records.pty_allocated("/dev/pts/7");
  auto first = records.login("/dev/pts/7", "alice", 1000, "192.0.2.7", 42);
  ASSERT_TRUE(first);
  EXPECT_FALSE(*first);  // no earlier login
  // Once.
  EXPECT_FALSE(records.login("/dev/pts/7", "alice", 1000, "192.0.2.7", 42));

  auto utmp = entries(m_paths.utmp);
  ASSERT_EQ(utmp.size(), 1u);
  EXPECT_EQ(utmp[0].ut_type, USER_PROCESS);
  EXPECT_EQ(utmp[0].ut_pid, 42);
  EXPECT_EQ(str(utmp[0].ut_line, sizeof utmp[0].ut_line), "pts/7");
  EXPECT_EQ(str(utmp[0].ut_id, sizeof utmp[0].ut_id), "ts/7");
  EXPECT_EQ(str(utmp[0].ut_user, sizeof utmp[0].ut_user), "alice");
  EXPECT_EQ(str(utmp[0].ut_host, sizeof utmp[0].ut_host), "192.0.2.7");
  const unsigned char want_addr[4] = {192, 0, 2, 7};
  EXPECT_EQ(std::memcmp(utmp[0].ut_addr_v6, want_addr, 4), 0);

  auto last = read_lastlog(m_paths.lastlog, 1000);
  ASSERT_TRUE(last);
  EXPECT_EQ(last->line, "pts/7");
  EXPECT_EQ(last->host, "192.0.2.7");
  EXPECT_LE(std::abs(long(last->time - time(nullptr))), 5);

  ASSERT_TRUE(records.logout("/dev/pts/7"));
  EXPECT_FALSE(records.logout("/dev/pts/7"));
  utmp = entries(m_paths.utmp);
  ASSERT_EQ(utmp.size(), 1u);  // the entry is replaced, not appended
  EXPECT_EQ(utmp[0].ut_type, DEAD_PROCESS);
  EXPECT_EQ(str(utmp[0].ut_user, sizeof utmp[0].ut_user), "");
  auto wtmp = entries(m_paths.wtmp);
  ASSERT_EQ(wtmp.size(), 2u);
  EXPECT_EQ(wtmp[0].ut_type, USER_PROCESS);
  EXPECT_EQ(wtmp[1].ut_type, DEAD_PROCESS);
  EXPECT_EQ(str(wtmp[1].ut_line, sizeof wtmp[1].ut_line), "pts/7");
  EXPECT_EQ(wtmp[1].ut_pid, 42);

  // The second login sees the first in lastlog.
  records.pty_allocated("/dev/pts/8");
  auto second = records.login("/dev/pts/8", "alice", 1000, "2001:db8::1", 43);
  ASSERT_TRUE(second && *second);
  EXPECT_EQ((*second)->line, "pts/7");
  EXPECT_EQ(read_lastlog(m_paths.lastlog, 1000)->host, "2001:db8::1");
  EXPECT_FALSE(read_lastlog(m_paths.lastlog, 999));
}

TEST_F(LoginRecordsTest, StillLoggedInAtTheEndIsLoggedOut) {
  {
    LoginRecords records(m_paths);
    records.pty_allocated("/dev/pts/3");
    ASSERT_TRUE(records.login("/dev/pts/3", "bob", 1001, "127.0.0.1", 7));
  }
  auto utmp = entries(m_paths.utmp);
  ASSERT_EQ(utmp.size(), 1u);
  EXPECT_EQ(utmp[0].ut_type, DEAD_PROCESS);
  EXPECT_EQ(entries(m_paths.wtmp).size(), 2u);
}

TEST_F(LoginRecordsTest, MissingFilesAreNoError) {
  LoginRecords records({m_dir + "/no/utmp", m_dir + "/no/wtmp", m_dir + "/no/lastlog"});
  records.pty_allocated("/dev/pts/1");
  auto r = records.login("/dev/pts/1", "carol", 1002, "127.0.0.1", 9);
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  EXPECT_TRUE(records.logout("/dev/pts/1"));
  struct stat st;
  EXPECT_NE(::stat((m_dir + "/no").c_str(), &st), 0);
}

TEST_F(LoginRecordsTest, Message) {
  setenv("TZ", "UTC", 1);
  tzset();
  LastLogin last{1795295082, "pts/0", "127.0.0.1"};
  EXPECT_EQ(last_login_message(last), "Last login: Sat Nov 21 21:04:42 2026 from 127.0.0.1\r\n");
  last.host.clear();
  last.time = 1793574000;  // a single-digit day is padded with a space, as ctime(3) does
  EXPECT_EQ(last_login_message(last), "Last login: Sun Nov  1 23:00:00 2026\r\n");
}

}  // namespace
}  // namespace postern::monitor
