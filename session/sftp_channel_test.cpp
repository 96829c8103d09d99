#include "session/sftp_channel.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "common/wire.h"
#include "sftp-server/protocol.h"

namespace postern::session {
namespace {

TEST(SftpChannelWords, InternalSftpAndSplitting) {
  EXPECT_TRUE(is_internal_sftp("internal-sftp"));
  EXPECT_TRUE(is_internal_sftp("internal-sftp -d /upload"));
  EXPECT_TRUE(is_internal_sftp("internal-sftp\t-R"));
  EXPECT_FALSE(is_internal_sftp("internal-sftpx"));
  EXPECT_FALSE(is_internal_sftp("/usr/lib/sftp-server"));
  EXPECT_EQ(split_command_words("  internal-sftp  -d '/a b'   -u 027 "),
            (std::vector<std::string>{"internal-sftp", "-d", "/a b", "-u", "027"}));
  EXPECT_EQ(split_command_words(R"(a "b \" c" d\ e)"),
            (std::vector<std::string>{"a", "b \" c", "d e"}));
  EXPECT_TRUE(split_command_words("   ").empty());
}

// Drives an SftpChannel with a fake channel: a settable send room, what was sent, and how much
// window came back.
class SftpChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/postern-sftpch-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    m_dir = tmpl;
    user = Account{"tester", ::getuid(), ::getgid(), m_dir, "/bin/sh"};
    peer = ConnectionEnds{{"192.0.2.7", 50000}, {"127.0.0.1", 22}};
    ASSERT_EQ(::getcwd(m_old_cwd, sizeof m_old_cwd), m_old_cwd);
    ASSERT_EQ(::chdir(m_dir.c_str()), 0);
  }
  void TearDown() override {
    channel.reset();
    log_set_sink(nullptr);
    (void)!::chdir(m_old_cwd);
    std::filesystem::remove_all(m_dir);
  }

  SftpChannel::Io io() {
    return SftpChannel::Io{[this] { return room; },
                           [this](ByteView d) {
                             ASSERT_LE(d.size(), room);
                             room -= d.size();
                             sent.insert(sent.end(), d.begin(), d.end());
                           },
                           [this](size_t n) { given_back += n; }};
  }
  void start(const std::string& command) {
    auto c = SftpChannel::start(command, user, peer, io());
    ASSERT_TRUE(c) << c.error().message;
    channel = std::move(*c);
  }
  static Bytes packet(uint8_t type, const std::function<void(Writer&)>& body = {}) {
    Writer inner;
    inner.u8(type);
    if (body) body(inner);
    Writer w;
    w.string(inner.buffer());
    return w.take();
  }
  // The complete replies sent so far, as (type, body) pairs.
  std::vector<std::pair<uint8_t, Bytes>> replies() const {
    std::vector<std::pair<uint8_t, Bytes>> out;
    Reader r(sent);
    while (r.remaining() >= 4) {
      ByteView p = r.string();
      out.emplace_back(p[0], Bytes(p.begin() + 1, p.end()));
    }
    return out;
  }

  Account user;
  ConnectionEnds peer;
  size_t room = 1 << 20;
  Bytes sent;
  size_t given_back = 0;
  std::unique_ptr<SftpChannel> channel;
  std::string m_dir;
  char m_old_cwd[4096];
};

TEST_F(SftpChannelTest, BadFlagsAreRefused) {
  EXPECT_FALSE(SftpChannel::start("internal-sftp -x", user, peer, io()));
  EXPECT_FALSE(SftpChannel::start("internal-sftp -Q requests", user, peer, io()));
  EXPECT_FALSE(SftpChannel::start("internal-sftp -d %z", user, peer, io()));
  EXPECT_FALSE(SftpChannel::start("sftp-server", user, peer, io()));
}

TEST_F(SftpChannelTest, InitVersionAndEof) {
  start("internal-sftp");
  Bytes init = packet(sftp::kFxpInit, [](Writer& w) { w.u32(3); });
  channel->received(init);
  auto r = replies();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].first, sftp::kFxpVersion);
  EXPECT_EQ(given_back, init.size());
  EXPECT_FALSE(channel->exit_status());
  channel->received_eof();
  ASSERT_TRUE(channel->exit_status());
  EXPECT_EQ(*channel->exit_status(), 0);
}

TEST_F(SftpChannelTest, RepliesWaitForTheWindow) {
  start("internal-sftp");
  room = 7;
  Bytes init = packet(sftp::kFxpInit, [](Writer& w) { w.u32(3); });
  channel->received(init);
  EXPECT_EQ(sent.size(), 7u);
  // EOF with replies still queued: the server ends only once they are out.
  channel->received_eof();
  EXPECT_FALSE(channel->exit_status());
  while (!channel->exit_status()) {
    size_t before = sent.size();
    room = 5;
    channel->pump();
    if (!channel->exit_status()) {
      ASSERT_GT(sent.size(), before);
    }
  }
  auto r = replies();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].first, sftp::kFxpVersion);
  EXPECT_EQ(*channel->exit_status(), 0);
}

TEST_F(SftpChannelTest, WindowStaysShutWhileRepliesBackUp) {
  start("internal-sftp");
  channel->received(packet(sftp::kFxpInit, [](Writer& w) { w.u32(3); }));
  sent.clear();
  size_t back = given_back;
  room = 0;
  // Many REALPATH requests whose replies cannot leave: past the backlog limit the server
  // stops taking input, and the window is not given back for it.
  Bytes many;
  for (uint32_t id = 0; id < 20000; ++id) {
    Bytes p = packet(sftp::kFxpRealpath, [id](Writer& w) { w.u32(id).string("."); });
    many.insert(many.end(), p.begin(), p.end());
  }
  channel->received(many);
  EXPECT_EQ(given_back, back);
  room = SIZE_MAX;
  channel->pump();
  EXPECT_EQ(given_back, back + many.size());
  EXPECT_EQ(replies().size(), 20000u);
}

TEST_F(SftpChannelTest, FramingViolationEndsWith255) {
  start("internal-sftp");
  Bytes huge = {0x7f, 0xff, 0xff, 0xff, sftp::kFxpInit};
  channel->received(huge);
  ASSERT_TRUE(channel->exit_status());
  EXPECT_EQ(*channel->exit_status(), 255);
  EXPECT_EQ(given_back, huge.size());
  channel->received(huge);  // dropped, window given back
  EXPECT_EQ(given_back, 2 * huge.size());
}

TEST_F(SftpChannelTest, RefusalSaysSoAndExits1) {
  channel = SftpChannel::refuse_non_sftp(io());
  room = 10;
  channel->received(packet(sftp::kFxpInit, [](Writer& w) { w.u32(3); }));
  EXPECT_EQ(given_back, 9u);
  channel->pump();
  EXPECT_FALSE(channel->exit_status());
  room = 1000;
  channel->pump();
  EXPECT_EQ(std::string(sent.begin(), sent.end()), "This service allows sftp connections only.\n");
  ASSERT_TRUE(channel->exit_status());
  EXPECT_EQ(*channel->exit_status(), 1);
}

TEST_F(SftpChannelTest, UmaskAppliesToTheServerOnly) {
  mode_t old = ::umask(022);
  start("internal-sftp -u 077");
  EXPECT_EQ(::umask(022), 022) << "the session's umask changed";
  channel->received(packet(sftp::kFxpInit, [](Writer& w) { w.u32(3); }));
  channel->received(packet(sftp::kFxpMkdir, [](Writer& w) { w.u32(1).string("d").u32(0); }));
  struct stat st;
  ASSERT_EQ(::stat((m_dir + "/d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(::umask(old), 022);
}

TEST_F(SftpChannelTest, LogsAtItsOwnLevel) {
  LogOptions lo;
  lo.level = LogLevel::kInfo;
  log_init(lo);
  std::vector<std::string> lines;
  log_set_sink([&](LogLevel, std::string_view l) { lines.emplace_back(l); });
  // sftp-server(8): ERROR unless -l says otherwise, whatever the session's level.
  start("internal-sftp -d %d");
  channel.reset();
  EXPECT_TRUE(lines.empty());
  EXPECT_EQ(log_level(), LogLevel::kInfo);
  start("internal-sftp -l INFO");
  channel.reset();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "session opened for local user tester from [192.0.2.7]");
  EXPECT_EQ(lines[1], "session closed for local user tester from [192.0.2.7]");
  EXPECT_EQ(log_level(), LogLevel::kInfo);
}

}  // namespace
}  // namespace postern::session
