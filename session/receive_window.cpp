#include "session/receive_window.h"

#include <algorithm>

#include "common/protocol_error.h"

namespace postern::session {

uint64_t WindowBudget::take(uint64_t wanted) {
  uint64_t granted = std::min(wanted, m_limit - std::min(m_limit, m_granted));
  m_granted += granted;
  return granted;
}

WindowBudget& process_window_budget() {
  static WindowBudget budget(kProcessWindowGrowthLimit);
  return budget;
}

void ReceiveWindow::received(uint32_t n) {
  // RFC 4254 §5.2: the peer may not send more than the window we opened.
  if (n > m_available) throw ProtocolError("channel data exceeds the window");
  m_available -= n;
  m_buffered += n;
  if (m_available < kLocalMaxPacket) m_exhausted = true;
}

void ReceiveWindow::consumed(uint64_t n) {
  n = std::min(n, m_buffered);
  m_buffered -= n;
  m_unreturned += uint32_t(n);
}

uint32_t ReceiveWindow::growth_ceiling(uint64_t now_us, uint32_t min_rtt_us) const {
  // A consumer that lags is what limits the stream then, and a larger window would only be
  // buffered here.
  if (m_buffered != 0 || m_target >= kMaxWindow) return 0;
  // The window ran dry: the peer waited for it. On a short link a round trip is microseconds,
  // so this happens when the whole window sits in socket buffers; grow a little.
  if (m_exhausted && m_target < kShortLinkMaxWindow) return kShortLinkMaxWindow;
  if (min_rtt_us == 0 || m_last_adjust_us == 0 || now_us < m_last_adjust_us) return 0;
  // A long link: what we give back now (at least half the window) arrived at a rate that,
  // times the round trip, is at least half the window. A peer limited by the window sends
  // about one window per round trip, so this holds until the window exceeds twice the
  // bandwidth-delay product; a link limited by its bandwidth stops the growth there.
  uint64_t interval = now_us - m_last_adjust_us;
  if (uint64_t(m_unreturned) * min_rtt_us >= interval * (m_target / 2)) return kMaxWindow;
  return 0;
}

uint32_t ReceiveWindow::take_adjust(uint64_t now_us, uint32_t min_rtt_us) {
  uint32_t add = m_unreturned;
  if (uint32_t ceiling = growth_ceiling(now_us, min_rtt_us)) {
    uint32_t wanted = std::min(ceiling, m_target * 2) - m_target;
    uint32_t grown = uint32_t(m_budget.take(wanted));
    m_target += grown;
    add += grown;
    m_exhausted = false;
  }
  m_available += add;
  m_unreturned = 0;
  m_last_adjust_us = now_us;
  return add;
}

}  // namespace postern::session
