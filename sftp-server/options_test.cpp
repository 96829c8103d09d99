#include "sftp-server/options.h"

#include <gtest/gtest.h>
#include <syslog.h>

namespace postern::sftp {
namespace {

TEST(SftpOptions, Defaults) {
  auto cl = parse_command_line({});
  ASSERT_TRUE(cl);
  EXPECT_EQ(cl->log_level, LogLevel::kError);
  EXPECT_EQ(cl->log_facility, LOG_AUTH);
  EXPECT_FALSE(cl->log_stderr);
  EXPECT_FALSE(cl->options.read_only);
  EXPECT_FALSE(cl->options.umask);
  EXPECT_FALSE(cl->options.denied);
  EXPECT_FALSE(cl->options.allowed);
}

TEST(SftpOptions, AllFlags) {
  auto cl = parse_command_line({"-e", "-R", "-d", "/srv/%u", "-f", "LOCAL3", "-l", "VERBOSE", "-P",
                                "mkdir,rmdir", "-p", "open,read", "-u", "027"});
  ASSERT_TRUE(cl) << cl.error().message;
  EXPECT_TRUE(cl->log_stderr);
  EXPECT_TRUE(cl->options.read_only);
  EXPECT_EQ(cl->start_directory_template, "/srv/%u");
  EXPECT_EQ(cl->log_facility, LOG_LOCAL3);
  EXPECT_EQ(cl->log_level, LogLevel::kVerbose);
  EXPECT_EQ(*cl->options.denied, "mkdir,rmdir");
  EXPECT_EQ(*cl->options.allowed, "open,read");
  EXPECT_EQ(*cl->options.umask, 027u);
}

TEST(SftpOptions, CombinedAndAttachedArguments) {
  auto cl = parse_command_line({"-eRlINFO", "-u0"});
  ASSERT_TRUE(cl) << cl.error().message;
  EXPECT_TRUE(cl->log_stderr);
  EXPECT_TRUE(cl->options.read_only);
  EXPECT_EQ(cl->log_level, LogLevel::kInfo);
  EXPECT_EQ(*cl->options.umask, 0u);
  cl = parse_command_line({"-Q", "requests"});
  ASSERT_TRUE(cl);
  EXPECT_EQ(*cl->query, "requests");
}

TEST(SftpOptions, Errors) {
  EXPECT_FALSE(parse_command_line({"-x"}));
  EXPECT_FALSE(parse_command_line({"-l"}));
  EXPECT_FALSE(parse_command_line({"-l", "LOUD"}));
  EXPECT_FALSE(parse_command_line({"-f", "NOWHERE"}));
  EXPECT_FALSE(parse_command_line({"-u", "999"}));
  EXPECT_FALSE(parse_command_line({"-u", "0x7"}));
  EXPECT_FALSE(parse_command_line({"-u", "1000"}));
}

TEST(SftpOptions, TrailingWordsIgnored) {
  // scp -D appends the host name.
  auto cl = parse_command_line({"-e", "somehost", "-R"});
  ASSERT_TRUE(cl);
  EXPECT_TRUE(cl->log_stderr);
  EXPECT_FALSE(cl->options.read_only);
}

TEST(SftpOptions, StartDirectoryTokens) {
  auto d = expand_start_directory("/home/%u/%%/%d", "alice", "/home/alice");
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, "/home/alice/%//home/alice");
  EXPECT_FALSE(expand_start_directory("/x/%z", "a", "/h"));
  EXPECT_FALSE(expand_start_directory("/x/%", "a", "/h"));
}

TEST(SftpOptions, InternalSftp) {
  auto in = internal_sftp_options({"-d", "/%u/in", "-R", "-l", "INFO", "-u", "002"}, "bob",
                                  "/home/bob", "192.0.2.1");
  ASSERT_TRUE(in) << in.error().message;
  EXPECT_EQ(in->options.start_directory, "/bob/in");
  EXPECT_EQ(in->options.user, "bob");
  EXPECT_EQ(in->options.home, "/home/bob");
  EXPECT_EQ(in->options.client_address, "192.0.2.1");
  EXPECT_TRUE(in->options.read_only);
  EXPECT_EQ(*in->options.umask, 002u);
  EXPECT_TRUE(in->log_level_given);
  EXPECT_EQ(in->log_level, LogLevel::kInfo);
  EXPECT_FALSE(in->log_facility_given);
  in = internal_sftp_options({"-P", "fsync", "-dlf"}, "bob", "/h", "a");
  ASSERT_TRUE(in);
  EXPECT_FALSE(in->log_level_given);
  EXPECT_FALSE(in->log_facility_given);
  EXPECT_EQ(in->options.start_directory, "lf");
  EXPECT_FALSE(internal_sftp_options({"-Q", "requests"}, "bob", "/h", "a"));
  EXPECT_FALSE(internal_sftp_options({"-d", "%x"}, "bob", "/h", "a"));
}

}  // namespace
}  // namespace postern::sftp
