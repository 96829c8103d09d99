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
  LoginUser user{"alice", 1000, 1000, "/home/alice", "/bin/bash"};
  PeerInfo peer{"192.0.2.7", 50123, "192.0.2.1", 22};
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

  LoginUser root{"root", 0, 0, "/root", "/bin/sh"};
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

}  // namespace
}  // namespace postern::session
