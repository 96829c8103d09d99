#include "monitor/command_line.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern::monitor {
namespace {

Result<CommandLine> parse(std::vector<std::string> args) {
  std::vector<char*> argv;
  static std::string name = "sshd";
  argv.push_back(name.data());
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return parse_command_line(int(argv.size() - 1), argv.data());
}

TEST(CommandLine, OptionsBecomeConfigLines) {
  auto cl = parse({"-D", "-e", "-f", "/etc/x", "-p", "2222", "-h", "/k", "-o", "LogLevel=DEBUG3",
                   "-4", "-E", "/tmp/log"});
  ASSERT_TRUE(cl) << cl.error().message;
  EXPECT_TRUE(cl->foreground);
  EXPECT_TRUE(cl->log_stderr);
  EXPECT_EQ(cl->config_file, "/etc/x");
  EXPECT_EQ(cl->log_file, "/tmp/log");
  EXPECT_EQ(cl->config_options,
            (std::vector<std::string>{"Port 2222", "HostKey /k", "LogLevel=DEBUG3",
                                      "AddressFamily inet"}));
}

TEST(CommandLine, DebugLevelsAndTestModes) {
  // OpenSSH 10's -G prints the configuration as -T does.
  auto g = parse({"-G", "-C", "user=u"});
  ASSERT_TRUE(g);
  EXPECT_EQ(g->test, 2);
  auto cl = parse({"-ddd", "-d", "-T", "-C", "user=u,host=h,addr=1.2.3.4"});
  ASSERT_TRUE(cl);
  EXPECT_EQ(cl->debug, 3);
  EXPECT_EQ(cl->test, 2);
  EXPECT_EQ(cl->connection_spec, "user=u,host=h,addr=1.2.3.4");
  auto t = parse({"-t", "-i", "-q"});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->test, 1);
  EXPECT_TRUE(t->inetd);
  EXPECT_TRUE(t->quiet);
}

TEST(CommandLine, BadInputIsRefused) {
  EXPECT_FALSE(parse({"-p", "0"}));
  EXPECT_FALSE(parse({"-p", "70000"}));
  EXPECT_FALSE(parse({"-p", "22x"}));
  EXPECT_FALSE(parse({"-Z"}));
  EXPECT_FALSE(parse({"-f"}));
  EXPECT_FALSE(parse({"extra"}));
}

}  // namespace
}  // namespace postern::monitor
