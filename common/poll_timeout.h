#pragma once
// poll(2) takes milliseconds in an int: a timer of more than about 24 days (a long
// ChannelTimeout, UnusedConnectionTimeout or RekeyLimit interval) would overflow it. Waits are
// capped at a day instead; the loop wakes, finds nothing due, and waits again.

#include <algorithm>

namespace postern {

inline constexpr int kMaxPollWaitSeconds = 86400;

// -1 (no timer) stays -1.
inline int poll_timeout_ms(long long seconds) {
  if (seconds < 0) return -1;
  return int(std::min<long long>(seconds, kMaxPollWaitSeconds) * 1000);
}

}  // namespace postern
