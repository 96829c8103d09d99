#include "monitor/helper_path.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "monitor/spawn.h"

namespace postern::monitor {
namespace {

namespace fs = std::filesystem;

class HelperPath : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::temp_directory_path() / ("postern_helper_" + std::to_string(::getpid()));
    fs::create_directories(m_dir);
    m_prog = (m_dir / "sshd-session").string();
    std::ofstream(m_prog) << "#!/bin/sh\n";
    ::chmod(m_prog.c_str(), 0755);
  }
  void TearDown() override { fs::remove_all(m_dir); }
  std::string error_of(const std::string& path) {
    auto r = check_helper_program("SshdSessionPath", path);
    return r ? "" : r.error().message;
  }
  fs::path m_dir;
  std::string m_prog;
};

TEST_F(HelperPath, UnsetMeansTheBuiltInHelper) {
  config::ServerConfig cfg;
  EXPECT_EQ(sshd_session_program(cfg), find_helper("sshd-session"));
  EXPECT_EQ(sshd_auth_program(cfg), find_helper("sshd-net"));
  EXPECT_TRUE(check_configured_helpers(cfg));
  cfg.sshd_session_path = "/opt/x/sshd-session";
  cfg.sshd_auth_path = "/opt/x/sshd-net";
  EXPECT_EQ(sshd_session_program(cfg), "/opt/x/sshd-session");
  EXPECT_EQ(sshd_auth_program(cfg), "/opt/x/sshd-net");
}

TEST_F(HelperPath, RefusesWhatAnotherUserCouldReplace) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to make root-owned files";
  EXPECT_EQ(error_of(m_prog), "");
  EXPECT_EQ(error_of("sshd-session"), "SshdSessionPath sshd-session: must be an absolute path");
  EXPECT_EQ(error_of((m_dir / "missing").string()),
            "SshdSessionPath " + (m_dir / "missing").string() + ": No such file or directory");
  EXPECT_EQ(error_of(m_dir.string()), "SshdSessionPath " + m_dir.string() + ": not a regular file");
  ::chmod(m_prog.c_str(), 0644);
  EXPECT_EQ(error_of(m_prog), "SshdSessionPath " + m_prog + ": not executable");
  ::chmod(m_prog.c_str(), 0775);
  EXPECT_EQ(error_of(m_prog), "SshdSessionPath " + m_prog + ": writable by group or others");
  ::chmod(m_prog.c_str(), 0757);
  EXPECT_EQ(error_of(m_prog), "SshdSessionPath " + m_prog + ": writable by group or others");
  ::chmod(m_prog.c_str(), 0755);
  ASSERT_EQ(::chown(m_prog.c_str(), 65534, 0), 0);
  EXPECT_EQ(error_of(m_prog), "SshdSessionPath " + m_prog + ": not owned by root");
  ASSERT_EQ(::chown(m_prog.c_str(), 0, 0), 0);
  config::ServerConfig cfg;
  cfg.sshd_auth_path = (m_dir / "gone").string();
  auto r = check_configured_helpers(cfg);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.rfind("SshdAuthPath ", 0), 0u);
}

}  // namespace
}  // namespace postern::monitor
