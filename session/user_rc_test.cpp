#include "session/user_rc.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace postern::session {
namespace {

class UserRc : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/postern-user-rc-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    m_dir = tmpl;
    ::mkdir((m_dir + "/.ssh").c_str(), 0700);
  }
  void TearDown() override { std::system(("rm -rf " + m_dir).c_str()); }
  void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }
  std::string read(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  std::string m_dir;
};

TEST_F(UserRc, Choice) {
  std::string system_rc = m_dir + "/sshrc";
  EXPECT_EQ(choose_rc_file(m_dir, true, system_rc), "");
  write(system_rc, "true\n");
  EXPECT_EQ(choose_rc_file(m_dir, true, system_rc), system_rc);
  write(m_dir + "/.ssh/rc", "true\n");
  EXPECT_EQ(choose_rc_file(m_dir, true, system_rc), m_dir + "/.ssh/rc");
  EXPECT_EQ(choose_rc_file(m_dir + "/", true, system_rc), m_dir + "/.ssh/rc");
  // PermitUserRC no, no-user-rc, a subsystem or ForceCommand: the system rc still runs.
  EXPECT_EQ(choose_rc_file(m_dir, false, system_rc), system_rc);
  ::unlink(system_rc.c_str());
  EXPECT_EQ(choose_rc_file(m_dir, false, system_rc), "");
}

TEST_F(UserRc, Input) {
  EXPECT_EQ(rc_input("MIT-MAGIC-COOKIE-1", "00ff"), "MIT-MAGIC-COOKIE-1 00ff\n");
  EXPECT_EQ(rc_input("", ""), "");
}

TEST_F(UserRc, RunsWithInputAndEnvironment) {
  std::string rc = m_dir + "/.ssh/rc", out = m_dir + "/out";
  write(rc,
        "if read proto cookie; then echo \"$proto/$cookie/$DISPLAY/$0\"; else echo none; fi > " +
            out + "\nexit 3\n");
  std::string display = "DISPLAY=localhost:10.0";
  char* envp[] = {display.data(), nullptr};
  int status = run_rc_file(rc, "P C\n", envp);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
  EXPECT_EQ(read(out), "P/C/localhost:10.0/" + rc + "\n");
  // Without X11 the script sees end of file on its standard input.
  status = run_rc_file(rc, "", envp);
  EXPECT_EQ(read(out), "none\n");
}

TEST_F(UserRc, ScriptThatDoesNotReadDoesNotKillUs) {
  std::string rc = m_dir + "/.ssh/rc";
  write(rc, "exec 0<&-\nexit 0\n");
  char* envp[] = {nullptr};
  std::string big(1 << 20, 'x');  // more than a pipe holds: the write meets EPIPE, not SIGPIPE
  int status = run_rc_file(rc, big, envp);
  EXPECT_TRUE(WIFEXITED(status));
  status = run_rc_file(m_dir + "/missing", "", envp);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0);
}

}  // namespace
}  // namespace postern::session
