#include "session/login_env.h"

#include <gtest/gtest.h>

namespace postern::session {
namespace {

TEST(LoginEnv, ShellArgv) {
  EXPECT_EQ(shell_argv("/bin/bash", std::nullopt), std::vector<std::string>{"-bash"});
  EXPECT_EQ(shell_argv("/usr/bin/zsh", std::string("ls -l")),
            (std::vector<std::string>{"zsh", "-c", "ls -l"}));
  EXPECT_EQ(shell_argv("sh", std::string("")), (std::vector<std::string>{"sh", "-c", ""}));
}

TEST(LoginEnv, AcceptEnvPatterns) {
  std::vector<std::string> accept = {"LANG", "LC_*", "!LC_SECRET"};
  EXPECT_TRUE(env_name_acceptable("LANG", accept));
  EXPECT_TRUE(env_name_acceptable("LC_ALL", accept));
  EXPECT_FALSE(env_name_acceptable("LC_SECRET", accept));
  EXPECT_FALSE(env_name_acceptable("PATH", accept));
  EXPECT_FALSE(env_name_acceptable("LC_A=B", accept));
  EXPECT_FALSE(env_name_acceptable("", {"*"}));
  EXPECT_FALSE(env_name_acceptable("LANG", {}));
}

TEST(LoginEnv, Variables) {
  Account user{"alice", 1000, 1000, "/home/alice", "/bin/bash"};
  ConnectionEnds peer{{"192.0.2.7", 50123}, {"192.0.2.1", 22}};
  std::vector<std::pair<std::string, std::string>> client = {
      {"LANG", "C.UTF-8"}, {"_A", "1"}, {"_A", "11"}, {"_B", "2"}, {"HOME", "/tmp"}};
  std::vector<std::pair<std::string, std::string>> server = {{"_B", "23"}, {"_B", "42"}};
  SessionEnvInputs in;
  in.user = &user;
  in.peer = &peer;
  in.client_env = &client;
  in.server_env = &server;
  in.tty_name = "/dev/pts/3";
  in.term = "xterm";
  in.original_command = "ls";
  Environment env = build_session_env(in);
  EXPECT_EQ(env.get("USER"), "alice");
  EXPECT_EQ(env.get("LOGNAME"), "alice");
  EXPECT_EQ(env.get("SHELL"), "/bin/bash");
  EXPECT_EQ(env.get("PATH"), kUserPath);
  EXPECT_EQ(env.get("MAIL"), "/var/mail/alice");
  EXPECT_EQ(env.get("SSH_CLIENT"), "192.0.2.7 50123 22");
  EXPECT_EQ(env.get("SSH_CONNECTION"), "192.0.2.7 50123 192.0.2.1 22");
  EXPECT_EQ(env.get("SSH_TTY"), "/dev/pts/3");
  EXPECT_EQ(env.get("TERM"), "xterm");
  EXPECT_EQ(env.get("SSH_ORIGINAL_COMMAND"), "ls");
  EXPECT_EQ(env.get("LANG"), "C.UTF-8");
  EXPECT_EQ(env.get("_A"), "1");       // the client's first value wins
  EXPECT_EQ(env.get("_B"), "23");      // the server's SetEnv wins, its first value
  EXPECT_EQ(env.get("HOME"), "/tmp");  // AcceptEnv let the client set it, as OpenSSH does

  Account root{"root", 0, 0, "/root", "/bin/sh"};
  in.user = &root;
  in.client_env = nullptr;
  in.server_env = nullptr;
  in.tty_name = "";
  in.term = "";
  in.original_command.reset();
  env = build_session_env(in);
  EXPECT_EQ(env.get("PATH"), kRootPath);
  EXPECT_EQ(env.get("HOME"), "/root");
  EXPECT_FALSE(env.get("SSH_TTY"));
  EXPECT_FALSE(env.get("TERM"));
  EXPECT_FALSE(env.get("SSH_ORIGINAL_COMMAND"));
}

TEST(LoginEnv, UserEnvironmentPolicy) {
  EXPECT_FALSE(user_environment_allowed("A", "no"));
  EXPECT_FALSE(user_environment_allowed("A", ""));
  EXPECT_TRUE(user_environment_allowed("A", "yes"));
  EXPECT_TRUE(user_environment_allowed("LANG", "LANG,LC_*"));
  EXPECT_TRUE(user_environment_allowed("LC_ALL", "LANG,LC_*"));
  EXPECT_FALSE(user_environment_allowed("LD_PRELOAD", "LANG,LC_*"));
  EXPECT_FALSE(user_environment_allowed("LC_X", "LC_*,!LC_X"));
  EXPECT_FALSE(user_environment_allowed("", "yes"));
}

TEST(LoginEnv, UserEnvironmentFile) {
  std::vector<std::pair<std::string, std::string>> out;
  parse_user_environment("# comment\n\nA=1\n  B=two words\r\nnoequals\n=x\nC=a=b\nLD_PRELOAD=x",
                         "A,B,C", out);
  std::vector<std::pair<std::string, std::string>> want = {
      {"A", "1"}, {"B", "two words"}, {"C", "a=b"}};
  EXPECT_EQ(out, want);
  out.clear();
  parse_user_environment("A=1\n", "no", out);
  EXPECT_TRUE(out.empty());
  // Bounded: no more than kMaxUserEnvVars entries, over-long lines skipped.
  std::string many;
  for (int i = 0; i < 2000; ++i) many += "V" + std::to_string(i) + "=x\n";
  many += "LONG=" + std::string(kMaxUserEnvLine, 'y') + "\n";
  out.clear();
  parse_user_environment(many, "yes", out);
  EXPECT_EQ(out.size(), kMaxUserEnvVars);
  out.clear();
  parse_user_environment("LONG=" + std::string(kMaxUserEnvLine, 'y') + "\nOK=1", "yes", out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].first, "OK");
  out.clear();
  read_user_environment("/nonexistent/.ssh/environment", "yes", out);
  EXPECT_TRUE(out.empty());
}

TEST(LoginEnv, UserEnvironmentOrder) {
  // Defaults < client (AcceptEnv) < the user's (key, then file) < SetEnv, as sshd.
  Account user{"alice", 1000, 1000, "/home/alice", "/bin/bash"};
  ConnectionEnds peer{{"192.0.2.7", 50123}, {"192.0.2.1", 22}};
  std::vector<std::pair<std::string, std::string>> client = {
      {"A", "cli"}, {"B", "cli"}, {"D", "cli"}};
  std::vector<std::pair<std::string, std::string>> mine = {
      {"A", "key"}, {"B", "key"}, {"E", "key"}, {"A", "file"}, {"B", "file"}};
  std::vector<std::pair<std::string, std::string>> server = {{"A", "setenv"}};
  SessionEnvInputs in;
  in.user = &user;
  in.peer = &peer;
  in.client_env = &client;
  in.user_env = &mine;
  in.server_env = &server;
  Environment env = build_session_env(in);
  EXPECT_EQ(env.get("A"), "setenv");
  EXPECT_EQ(env.get("B"), "file");
  EXPECT_EQ(env.get("D"), "cli");
  EXPECT_EQ(env.get("E"), "key");
}

}  // namespace
}  // namespace postern::session
