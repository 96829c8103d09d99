// The receiving half of a channel's flow control (RFC 4254 §5.2), as pure bookkeeping: how much
// the peer may still send, when to give consumed bytes back with SSH_MSG_CHANNEL_WINDOW_ADJUST,
// and how far the window grows so it covers the link's bandwidth-delay product.
//
// Every byte inside the window we advertised is one we will buffer if the consumer stalls, so
// the window is also the channel's memory bound: it starts at kInitialWindow, only ever grows
// while the consumer keeps up, never past kMaxWindow, and the growth of all channels of the
// process together never past the WindowBudget's limit.
#pragma once

#include <cstdint>

namespace postern::session {

// Start at 2 MiB (what OpenSSH's sshd offers).
inline constexpr uint32_t kInitialWindow = 2 * 1024 * 1024;
// Without a round trip that asks for more, grow only to 4 MiB: OpenSSH's client buffers up to
// the window from its stdin, and on loopback its CPU per GiB doubles at an 8 MiB window while
// 4 MiB costs nothing over 2 MiB.
inline constexpr uint32_t kShortLinkMaxWindow = 4 * 1024 * 1024;
// A long fat link may grow one channel's window to 16 MiB: 160 MB/s at a 100 ms round trip.
inline constexpr uint32_t kMaxWindow = 16 * 1024 * 1024;
// The growth (beyond kInitialWindow) of all channels of one session process together.
inline constexpr uint64_t kProcessWindowGrowthLimit = 64ull * 1024 * 1024;
// The largest data payload we accept per packet (RFC 4254 §5.1 maximum packet size).
inline constexpr uint32_t kLocalMaxPacket = 32 * 1024;

// Bytes of window growth granted to a process's channels, against a limit.
class WindowBudget {
 public:
  explicit WindowBudget(uint64_t limit) : m_limit(limit) {}
  WindowBudget(const WindowBudget&) = delete;
  WindowBudget& operator=(const WindowBudget&) = delete;
  // Grants up to `wanted` bytes and returns how many it granted.
  uint64_t take(uint64_t wanted);
  void give_back(uint64_t n) { m_granted -= n < m_granted ? n : m_granted; }
  uint64_t granted() const { return m_granted; }

 private:
  uint64_t m_limit;
  uint64_t m_granted = 0;
};

// The one budget of this process (a session process serves one connection).
WindowBudget& process_window_budget();

class ReceiveWindow {
 public:
  explicit ReceiveWindow(WindowBudget& budget = process_window_budget()) : m_budget(budget) {}
  ~ReceiveWindow() { m_budget.give_back(m_target - kInitialWindow); }
  ReceiveWindow(const ReceiveWindow&) = delete;
  ReceiveWindow& operator=(const ReceiveWindow&) = delete;

  // What the peer may still send.
  uint32_t available() const { return m_available; }
  // The window we aim to keep open.
  uint32_t target() const { return m_target; }
  // Bytes received and not yet handed on: what the channel buffers now.
  uint64_t buffered() const { return m_buffered; }

  // `n` bytes of CHANNEL_DATA or EXTENDED_DATA arrived. Throws ProtocolError when they exceed
  // the window (RFC 4254 §5.2: the peer may not send more than we opened).
  void received(uint32_t n);
  // `n` received bytes were delivered to the consumer or discarded.
  void consumed(uint64_t n);
  // Whether a WINDOW_ADJUST is due: half the window is used up, early enough that a fast
  // sender never waits for it.
  bool adjust_due() const { return m_unreturned > 0 && m_available <= m_target / 2; }
  // The bytes to add with the WINDOW_ADJUST that is due, growing the window first where the
  // link asks for it. `now_us` is a monotonic clock, `min_rtt_us` the connection's smallest
  // measured round trip (0: unknown).
  uint32_t take_adjust(uint64_t now_us, uint32_t min_rtt_us);

 private:
  // How far the window may grow now (0: not now).
  uint32_t growth_ceiling(uint64_t now_us, uint32_t min_rtt_us) const;

  WindowBudget& m_budget;
  uint32_t m_available = kInitialWindow;
  uint32_t m_target = kInitialWindow;
  uint32_t m_unreturned = 0;      // consumed, not yet given back
  uint64_t m_buffered = 0;        // received, not yet consumed
  bool m_exhausted = false;       // the peer filled the window since the last growth
  uint64_t m_last_adjust_us = 0;  // when the previous adjust went out (0: none yet)
};

}  // namespace postern::session
