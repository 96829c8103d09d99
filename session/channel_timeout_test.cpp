#include "session/channel_timeout.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace postern::session
