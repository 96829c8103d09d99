#include "session/channel_timeout.h"

#include <gtest/gtest.h>

#include "common/poll_timeout.h"

namespace postern::session {
namespace {

TEST(ChannelTimeout, TimeIntervals) {
  EXPECT_EQ(parse_time_interval("90"), 90u);
  EXPECT_EQ(parse_time_interval("1m30s"), 90u);
  EXPECT_EQ(parse_time_interval("2h"), 7200u);
  EXPECT_EQ(parse_time_interval("1w1d"), 691200u);
  EXPECT_FALSE(parse_time_interval(""));
  EXPECT_FALSE(parse_time_interval("m"));
  EXPECT_FALSE(parse_time_interval("5x"));
}

TEST(ChannelTimeout, FirstMatchingPatternWins) {
  auto t = parse_channel_timeouts({"session:command=1", "session:*=5m", "direct-tcpip=10", "bad"});
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(channel_timeout_for(t, "session:command"), 1u);
  EXPECT_EQ(channel_timeout_for(t, "session:subsystem:sftp"), 300u);
  EXPECT_EQ(channel_timeout_for(t, "direct-tcpip"), 10u);
  EXPECT_EQ(channel_timeout_for(t, "forwarded-tcpip"), 0u);
  EXPECT_TRUE(parse_channel_timeouts({"none"}).empty());
}

TEST(ChannelTimeout, GlobalIsWrittenOutAndNoChannelType) {
  // sshd_config(5): "global" covers all channels together and no wildcard sets it.
  auto t = parse_channel_timeouts({"*=5", "global=1w", "session:command=60"});
  EXPECT_EQ(global_channel_timeout(t), 604800u);
  EXPECT_EQ(channel_timeout_for(t, "global"), 0u);
  EXPECT_EQ(channel_timeout_for(t, "session:command"), 5u);
  EXPECT_EQ(global_channel_timeout(parse_channel_timeouts({"*=5", "glob*=7"})), 0u);
  // An entry typed "global" does not time out a channel that happens to match it.
  EXPECT_EQ(channel_timeout_for(parse_channel_timeouts({"global=3"}), "session:shell"), 0u);
}

TEST(ChannelTimeout, LongIntervalsDoNotOverflowPoll) {
  // 30 days in seconds is past what poll(2)'s int milliseconds hold; the wait is capped.
  EXPECT_EQ(parse_time_interval("30d"), 2592000u);
  EXPECT_EQ(poll_timeout_ms(2592000), kMaxPollWaitSeconds * 1000);
  EXPECT_EQ(poll_timeout_ms(3), 3000);
  EXPECT_EQ(poll_timeout_ms(-1), -1);
  EXPECT_GT(poll_timeout_ms(0xffffffffLL), 0);
}

}  // namespace
}  // namespace postern::session
