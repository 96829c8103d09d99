// How many host key signatures the monitor gives the session process after login.
//
// After authentication the only thing the session process may have signed is the exchange hash
// of a re-key (RFC 4253 §9): one signature per key exchange. The monitor cannot see inside the
// encrypted transport, so it cannot know that a key exchange is really running; what it can do
// is bound how often it signs, so that a session process taken over by a bug yields a handful of
// signatures, not a signing service. The bound is a token bucket: kBurst signatures at once
// (clients with a tiny RekeyLimit, such as OpenSSH's rekey regress test at 16 bytes, re-key
// dozens of times within seconds), then one per kRefillSeconds on average, which is far more
// than any RekeyLimit time or volume that is not a test (OpenSSH's default volume limit is
// gigabytes; at 1 MiB a second that is a re-key every 17 minutes).
#pragma once

#include <algorithm>
#include <cstdint>

namespace postern::monitor {

class RekeySignBudget {
 public:
  static constexpr uint64_t kBurst = 128;
  static constexpr uint64_t kRefillSeconds = 10;

  // Takes one signature at `now_ms` (a monotonic clock in milliseconds); false when the budget
  // is spent, which ends the connection.
  bool take(uint64_t now_ms) {
    if (!m_started) {
      m_started = true;
      m_last_ms = now_ms;
    }
    // Whole refill periods since the last refill, counted in milliseconds so that none is lost.
    uint64_t elapsed = now_ms > m_last_ms ? now_ms - m_last_ms : 0;
    uint64_t earned = elapsed / (kRefillSeconds * 1000);
    if (earned > 0) {
      m_tokens = std::min(kBurst, m_tokens + earned);
      m_last_ms += earned * kRefillSeconds * 1000;
    }
    if (m_tokens == 0) return false;
    --m_tokens;
    return true;
  }

 private:
  bool m_started = false;
  uint64_t m_tokens = kBurst;
  uint64_t m_last_ms = 0;
};

}  // namespace postern::monitor
