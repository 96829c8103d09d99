#include "session/receive_window.h"

#include <gtest/gtest.h>

#include "common/protocol_error.h"

namespace postern::session {
namespace {

constexpr uint32_t kMiB = 1024 * 1024;

// A peer that sends packets as long as the window allows and a consumer that takes each at
// once, until an adjust is due; the adjust goes out `interval_us` after the previous one.
// Returns the bytes the adjust gave back.
uint32_t half_window_in(ReceiveWindow& w, uint64_t& now_us, uint64_t interval_us,
                        uint32_t min_rtt_us) {
  while (!w.adjust_due()) {
    uint32_t n = std::min(kLocalMaxPacket, w.available());
    w.received(n);
    w.consumed(n);
    EXPECT_LE(w.available() + w.buffered(), w.target());
  }
  now_us += interval_us;
  return w.take_adjust(now_us, min_rtt_us);
}

TEST(ReceiveWindow, DataBeyondTheWindowIsAProtocolError) {
  WindowBudget budget(kProcessWindowGrowthLimit);
  ReceiveWindow w(budget);
  EXPECT_EQ(w.available(), kInitialWindow);
  w.received(kInitialWindow - 10);
  EXPECT_THROW(w.received(11), ProtocolError);
  w.received(10);
  EXPECT_EQ(w.available(), 0u);
}

TEST(ReceiveWindow, GivesBackWhatWasConsumedOnceHalfIsUsed) {
  WindowBudget budget(kProcessWindowGrowthLimit);
  ReceiveWindow w(budget);
  w.received(kInitialWindow / 2 - 1);
  w.consumed(kInitialWindow / 2 - 1);
  EXPECT_FALSE(w.adjust_due());
  w.received(1);
  w.consumed(1);
  ASSERT_TRUE(w.adjust_due());
  EXPECT_EQ(w.take_adjust(1000, 0), kInitialWindow / 2);
  EXPECT_EQ(w.available(), kInitialWindow);
  EXPECT_EQ(w.target(), kInitialWindow);
}

TEST(ReceiveWindow, ConsumingMoreThanReceivedCountsOnlyWhatWasReceived) {
  WindowBudget budget(kProcessWindowGrowthLimit);
  ReceiveWindow w(budget);
  w.received(kInitialWindow / 2);
  w.consumed(uint64_t(kInitialWindow) * 4);
  EXPECT_EQ(w.take_adjust(1, 0), kInitialWindow / 2);
  EXPECT_EQ(w.available(), kInitialWindow);
}

TEST(ReceiveWindow, ShortLinkGrowsOnlyToItsCeilingWhenTheWindowRunsDry) {
  WindowBudget budget(kProcessWindowGrowthLimit);
  ReceiveWindow w(budget);
  uint64_t now = 1;
  // The peer fills the whole window before we give any back (the window sits in socket
  // buffers): each round drains it completely.
  for (int i = 0; i < 10; ++i) {
    uint32_t n = w.available();
    while (n > 0) {
      uint32_t k = std::min(kLocalMaxPacket, n);
      w.received(k);
      w.consumed(k);
      n -= k;
    }
    now += 1000;
    w.take_adjust(now, 30);
  }
  EXPECT_EQ(w.target(), kShortLinkMaxWindow);
}

TEST(ReceiveWindow, APeerThatNeverFillsTheWindowKeepsIt) {
  WindowBudget budget(kProcessWindowGrowthLimit);
  ReceiveWindow w(budget);
  uint64_t now = 1;
  // No round trip known: the long-link rule has nothing to go on.
  for (int i = 0; i < 20; ++i) half_window_in(w, now, 10, 0);
  EXPECT_EQ(w.target(), kInitialWindow);
  // Loopback: a round trip of 30 us, half the window every 2 ms (500 MB/s).
  for (int i = 0; i < 20; ++i) half_window_in(w, now, 2000, 30);
  EXPECT_EQ(w.target(), kInitialWindow);
}

TEST(ReceiveWindow, LongLinkDoublesUpToTheCapWhileTheWindowLimits) {
  WindowBudget budget(kProcessWindowGrowthLimit);
  ReceiveWindow w(budget);
  uint64_t now = 1;
  const uint32_t rtt = 100000;     // 100 ms
  half_window_in(w, now, 0, rtt);  // the first adjust has no interval to measure
  std::vector<uint32_t> targets;
  for (int i = 0; i < 12; ++i) {
    // A window-limited peer sends about a window per round trip: half of it in 2/3 of one.
    half_window_in(w, now, rtt * 2 / 3, rtt);
    targets.push_back(w.target());
  }
  EXPECT_EQ(targets[0], 2 * kInitialWindow);
  EXPECT_EQ(targets[1], 4 * kInitialWindow);
  EXPECT_EQ(targets[2], kMaxWindow);
  EXPECT_EQ(targets.back(), kMaxWindow);
  EXPECT_EQ(budget.granted(), kMaxWindow - kInitialWindow);
}

TEST(ReceiveWindow, ABandwidthLimitedLinkStopsTheGrowth) {
  WindowBudget budget(kProcessWindowGrowthLimit);
  ReceiveWindow w(budget);
  uint64_t now = 1;
  const uint32_t rtt = 100000;
  // 20 MB/s over 100 ms: a 2 MB bandwidth-delay product. Half a window takes
  // target/2 / 20 MB/s; the window grows while that is under one round trip.
  auto interval = [&] { return uint64_t(w.target() / 2) * 1000000 / (20 * 1000 * 1000); };
  half_window_in(w, now, 0, rtt);
  for (int i = 0; i < 20; ++i) half_window_in(w, now, interval(), rtt);
  EXPECT_EQ(w.target(), 4 * kMiB);  // between twice and four times the product, not the cap
}

TEST(ReceiveWindow, ALaggingConsumerStopsTheGrowth) {
  WindowBudget budget(kProcessWindowGrowthLimit);
  ReceiveWindow w(budget);
  const uint32_t rtt = 100000;
  w.received(kInitialWindow / 2);
  w.consumed(kInitialWindow / 2);
  w.take_adjust(1, rtt);
  // Half a window in a tenth of the round trip, but part of it still waits for the consumer.
  w.received(kInitialWindow / 2 + kLocalMaxPacket);
  w.consumed(kInitialWindow / 2);
  ASSERT_TRUE(w.adjust_due());
  w.take_adjust(1 + rtt / 10, rtt);
  EXPECT_EQ(w.target(), kInitialWindow);
  EXPECT_LE(w.available() + w.buffered(), w.target());
}

TEST(ReceiveWindow, TheProcessBudgetBoundsTheGrowthOfAllWindows) {
  WindowBudget budget(6 * kMiB);
  const uint32_t rtt = 100000;
  uint64_t now = 1;
  auto grow_fully = [&](ReceiveWindow& w) {
    half_window_in(w, now, 0, rtt);
    for (int i = 0; i < 12; ++i) half_window_in(w, now, rtt / 2, rtt);
  };
  {
    ReceiveWindow first(budget);
    grow_fully(first);
    EXPECT_EQ(first.target(), kInitialWindow + 6 * kMiB);
    ReceiveWindow second(budget);
    grow_fully(second);
    EXPECT_EQ(second.target(), kInitialWindow);
    EXPECT_EQ(budget.granted(), 6 * kMiB);
  }
  // Closed channels give their growth back.
  EXPECT_EQ(budget.granted(), 0u);
  ReceiveWindow third(budget);
  grow_fully(third);
  EXPECT_EQ(third.target(), kInitialWindow + 6 * kMiB);
}

}  // namespace
}  // namespace postern::session
