#include "monitor/auth_commands.h"

#include <gtest/gtest.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace postern::monitor {
namespace {

namespace fs = std::filesystem;

Account alice() {
  return Account{"alice", 1001, 1001, "/home/alice"};
}

CommandConnection connection() {
  return CommandConnection{"192.0.2.7", 50022, "198.51.100.1", 22, "vrf-blue"};
}

std::vector<std::string> argv_of(const std::string& line, config::TokenSet set,
                                 const config::TokenValues& values = {}) {
  auto argv = command_argv(line, set, values, alice(), connection());
  EXPECT_TRUE(argv) << (argv ? "" : argv.error().message);
  return argv ? *argv : std::vector<std::string>{};
}

TEST(CommandArgv, TokensExpandPerArgument) {
  config::TokenValues v;
  v.set('i', "Joanne User");
  v.set('s', "42");
  v.set('t', "ssh-ed25519-cert-v01@openssh.com");
  // A key ID with a space stays one argument, as do the four values of %C.
  EXPECT_EQ(
      argv_of("/usr/bin/apc %u %i %s %t %%", config::TokenSet::kAuthorizedPrincipalsCommand, v),
      (std::vector<std::string>{"/usr/bin/apc", "alice", "Joanne User", "42",
                                "ssh-ed25519-cert-v01@openssh.com", "%"}));
  EXPECT_EQ(argv_of("/usr/bin/akc %C %D %U %h", config::TokenSet::kAuthorizedKeysCommand),
            (std::vector<std::string>{"/usr/bin/akc", "192.0.2.7 50022 198.51.100.1 22", "vrf-blue",
                                      "1001", "/home/alice"}));
  // Quotes group words; the program itself is never expanded.
  EXPECT_EQ(argv_of("/opt/%u/akc \"a %u b\" 'c d'", config::TokenSet::kAuthorizedKeysCommand),
            (std::vector<std::string>{"/opt/%u/akc", "a alice b", "c d"}));
}

TEST(CommandArgv, NoArgumentsMeansTheUserName) {
  // sshd_config(5): "If no arguments are specified then the username of the target user is
  // used."
  EXPECT_EQ(argv_of("/usr/bin/akc", config::TokenSet::kAuthorizedKeysCommand),
            (std::vector<std::string>{"/usr/bin/akc", "alice"}));
  EXPECT_EQ(argv_of("  /usr/bin/apc  ", config::TokenSet::kAuthorizedPrincipalsCommand),
            (std::vector<std::string>{"/usr/bin/apc", "alice"}));
}

TEST(CommandArgv, BadLinesAreErrors) {
  config::TokenValues v;
  EXPECT_FALSE(command_argv("", config::TokenSet::kAuthorizedKeysCommand, v, alice(), {}));
  // %i belongs to AuthorizedPrincipalsCommand only.
  auto bad =
      command_argv("/usr/bin/akc %i", config::TokenSet::kAuthorizedKeysCommand, v, alice(), {});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("%i"), std::string::npos);
  EXPECT_FALSE(
      command_argv("/usr/bin/akc 50%", config::TokenSet::kAuthorizedKeysCommand, v, alice(), {}));
}

class CommandPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to make root-owned directories";
    char tmpl[] = "/run/postern-akc-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    m_dir = tmpl;
    ::chmod(m_dir.c_str(), 0755);
  }
  void TearDown() override {
    if (!m_dir.empty()) fs::remove_all(m_dir);
  }
  std::string script(const std::string& name, const std::string& body, mode_t mode = 0755) {
    std::string path = m_dir + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body;
    ::chmod(path.c_str(), mode);
    return path;
  }
  std::string m_dir;
};

TEST_F(CommandPathTest, OnlyRootOwnedPrivatePathsAreSafe) {
  EXPECT_FALSE(unsafe_command_path(script("ok", "true\n")));
  EXPECT_EQ(unsafe_command_path("relative/akc").value_or(""), "must be an absolute path");
  auto writable = unsafe_command_path(script("w", "true\n", 0775));
  ASSERT_TRUE(writable);
  EXPECT_NE(writable->find("bad ownership or modes for file"), std::string::npos);
  std::string inner = m_dir + "/open";
  ::mkdir(inner.c_str(), 0777);
  ::chmod(inner.c_str(), 0777);
  std::ofstream(inner + "/akc") << "#!/bin/sh\n";
  ::chmod((inner + "/akc").c_str(), 0755);
  auto dir = unsafe_command_path(inner + "/akc");
  ASSERT_TRUE(dir);
  EXPECT_NE(dir->find("bad ownership or modes for directory " + inner), std::string::npos);
  EXPECT_TRUE(unsafe_command_path(m_dir));  // not a regular file
  EXPECT_TRUE(unsafe_command_path(m_dir + "/missing"));
  // /tmp is writable by everyone: nothing under it may run.
  EXPECT_TRUE(unsafe_command_path("/tmp"));
}

TEST_F(CommandPathTest, RunsWithAMinimalEnvironment) {
  ::setenv("POSTERN_SECRET_TEST_VAR", "leak", 1);
  std::string path = script("env", "echo \"$# $1\"; env | sort\n");
  std::string me = ::getpwuid(::geteuid())->pw_name;
  auto out = run_keys_command({path, "one arg"}, me);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->substr(0, out->find('\n')), "1 one arg");
  EXPECT_NE(out->find("PATH=/usr/bin:/bin:/usr/sbin:/sbin\n"), std::string::npos);
  EXPECT_NE(out->find("USER=" + me + "\n"), std::string::npos);
  EXPECT_EQ(out->find("POSTERN_SECRET_TEST_VAR"), std::string::npos);
  ::unsetenv("POSTERN_SECRET_TEST_VAR");
}

TEST_F(CommandPathTest, ExitStatusIsTheProgramsOwn) {
  // The end of output comes just before the exit: the status read must still be the
  // program's exit status, every time (no signal sent to an exiting program).
  std::string me = ::getpwuid(::geteuid())->pw_name;
  std::string path = script("cat", "exec echo principal\n");
  for (int i = 0; i < 200; ++i) {
    auto out = run_keys_command({path}, me);
    ASSERT_TRUE(out) << "run " << i;
    EXPECT_EQ(*out, "principal\n");
  }
}

TEST_F(CommandPathTest, FailuresGiveNothing) {
  std::string me = ::getpwuid(::geteuid())->pw_name;
  EXPECT_FALSE(run_keys_command({script("fail", "echo key; exit 3\n")}, me));
  EXPECT_FALSE(run_keys_command({script("ok", "echo key\n")}, "no-such-user-postern"));
  EXPECT_FALSE(run_keys_command({script("w", "echo key\n", 0777)}, me));
  EXPECT_FALSE(run_keys_command({}, me));
}

}  // namespace
}  // namespace postern::monitor
