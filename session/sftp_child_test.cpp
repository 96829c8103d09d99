// internal-sftp's child (sftp_child.h): it serves SFTP on its pipes, holds no descriptor of its
// parent's but those, runs the wipe before any SFTP code, and its log lines come back through
// the relay with their level and -f facility.
#include "session/sftp_child.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/wire.h"
#include "sftp-server/protocol.h"

namespace postern::session {
namespace {

std::vector<int> open_fds(pid_t pid) {
  std::vector<int> fds;
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
    fds.push_back(std::stoi(e.path().filename().string()));
  std::sort(fds.begin(), fds.end());
  return fds;
}

TEST(SftpChild, ServesOnItsPipesAloneAndLogsThroughTheRelay) {
  char tmpl[] = "/tmp/postern-sftpchild-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  Account user{"tester", ::getuid(), ::getgid(), tmpl, "/bin/sh"};
  ConnectionEnds peer{{"192.0.2.7", 50000}, {"127.0.0.1", 22}};
  // A descriptor of the parent's, standing in for the monitor channel.
  int secret = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(secret, 3);
  // The wipe runs in the child once every other descriptor is gone: it reports what it saw.
  auto wipe = [secret] {
    if (::fcntl(secret, F_GETFD) < 0) log_info("wipe ran without the parent's descriptors");
  };
  std::vector<std::pair<LogLevel, std::string>> lines;
  std::vector<int> facilities;
  log_set_sink([&](LogLevel level, std::string_view line) {
    lines.emplace_back(level, std::string(line));
    facilities.push_back(log_facility_override());
  });

  EXPECT_FALSE(start_sftp_child("internal-sftp -x", user, peer, wipe));
  auto child = start_sftp_child("internal-sftp -l INFO -f LOCAL3", user, peer, wipe);
  ASSERT_TRUE(child) << child.error().message;

  Writer body;
  body.u8(sftp::kFxpInit).u32(3);
  Writer init;
  init.string(body.buffer());
  ASSERT_EQ(::write(child->stdin_fd.get(), init.buffer().data(), init.buffer().size()),
            ssize_t(init.buffer().size()));
  uint8_t reply[256];
  pollfd p{child->stdout_fd.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10000), 1);
  ssize_t n = ::read(child->stdout_fd.get(), reply, sizeof reply);
  ASSERT_GT(n, 5);
  EXPECT_EQ(reply[4], sftp::kFxpVersion);
  // While it serves: its data pipes and its log socket, nothing else.
  EXPECT_EQ(open_fds(child->pid), (std::vector<int>{0, 1, 2}));

  child->stdin_fd.reset();  // the client's EOF
  int status = 0;
  ASSERT_EQ(::waitpid(child->pid, &status, 0), child->pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  drain_sftp_log(child->log_fd.get(), 0);
  log_set_sink(nullptr);
  ::close(secret);
  std::filesystem::remove_all(tmpl);

  std::vector<std::string> texts;
  for (const auto& [level, line] : lines) texts.push_back(line);
  ASSERT_GE(texts.size(), 3u);
  EXPECT_EQ(texts[0], "wipe ran without the parent's descriptors");
  EXPECT_EQ(texts[1], "session opened for local user tester from [192.0.2.7]");
  EXPECT_EQ(texts.back(), "session closed for local user tester from [192.0.2.7]");
  EXPECT_EQ(lines[1].first, LogLevel::kInfo);
  EXPECT_EQ(facilities[1], 19 << 3);  // LOG_LOCAL3, from -f
}

TEST(SftpChild, MalformedLogRecordsAreDropped) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
  std::vector<std::string> lines;
  log_set_sink([&](LogLevel, std::string_view line) { lines.emplace_back(line); });
  const uint8_t bad_level[] = {99, 0, 0, 0, 0, 'x'};
  const uint8_t short_rec[] = {3, 0};
  const uint8_t good[] = {3, 0, 0, 0, 0, 'o', 'k', '\n'};
  ASSERT_GT(::send(sv[1], bad_level, sizeof bad_level, 0), 0);
  ASSERT_GT(::send(sv[1], short_rec, sizeof short_rec, 0), 0);
  ASSERT_GT(::send(sv[1], good, sizeof good, 0), 0);
  ::close(sv[1]);
  EXPECT_FALSE(relay_sftp_log(sv[0]));
  ::close(sv[0]);
  log_set_sink(nullptr);
  // Only the well-formed line, its control character made harmless.
  EXPECT_EQ(lines, (std::vector<std::string>{"ok?"}));
}

}  // namespace
}  // namespace postern::session
