// The full-screen picker on a session channel in jump mode (issue 13): the client logged in
// without a route, asked for a pty and a shell; this carries the picker (pty_picker.h) over that
// channel (RFC 4254 §5.2 windows both ways, §6.7 window-change) and asks the monitor about the
// choice. Esc or Ctrl-C ends the channel with a line and exit status 1; a choice the monitor
// allows becomes a PickedSession, which the bastion loop hands to the relay (adopted_channel.h),
// with the keys the client typed after the Enter until then (its typed_ahead).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bastion/adopted_channel.h"
#include "bastion/pty_picker.h"
#include "session/packet_sink.h"

namespace postern::bastion {

// pty-req's data (RFC 4254 §6.2) with the size a window-change (§6.7) gave.
void set_pty_size(Bytes& pty_req, uint32_t cols, uint32_t rows, uint32_t wpx, uint32_t hpx);

// The monitor's list of the user's targets (PICKER_LIST).
struct PickerList {
  std::vector<PtyPickerEntry> entries;
  std::string example;  // "deploy%web1", or "" when the user may use no target
};

class PtyPickerChannel {
 public:
  // The monitor's decision (PICKER_CHOOSE): "" allowed, else the one line for the user.
  using Choose = std::function<std::string(const std::string& user, const std::string& target)>;

  // Keys the client may send before the picker grants more: enough to paste a filter, small
  // enough that the target's window (taken over at the handoff) is never smaller.
  static constexpr uint32_t kInputWindow = 1024;
  // A lone ESC with nothing after it for this long was the Esc key.
  static constexpr uint64_t kEscapeTimeoutMs = 150;

  // `session` is the channel as the client set it up: numbers, windows, the requests made.
  PtyPickerChannel(session::PacketSink& client, PickedSession session, uint32_t cols, uint32_t rows,
                   std::vector<PtyPickerEntry> entries, Choose choose);

  void start();
  void on_data(ByteView data, uint64_t now_ms);
  void on_window_adjust(uint32_t bytes);
  void on_window_change(uint32_t cols, uint32_t rows);
  // The client's EOF: no key can come any more, so nothing is chosen.
  void on_eof();
  // The client's CLOSE: ours goes back unless it went already.
  void on_close();
  // A pending Esc whose time has come; the poll loop's timeout until then (-1: none).
  void on_timer(uint64_t now_ms);
  int timeout_ms(uint64_t now_ms) const;

  // Both CLOSEs went: the channel's slot may go.
  bool finished() const { return m_close_sent && m_close_received; }
  // The choice, allowed and its screen written: the caller hands it to the relay.
  std::optional<PickedSession> take_picked();

 private:
  void queue(std::string bytes, bool frame);
  void flush();
  void settle();  // after a key: choice, cancel, or more input window
  void end(const std::string& line);

  session::PacketSink& m_client;
  PickedSession m_session;
  PtyPicker m_picker;
  Choose m_choose;
  // Output waits for the client's window. A redraw replaces one not yet begun, so a client that
  // stops reading holds at most two screens here, however fast it types.
  std::string m_out;
  std::string m_next_frame;
  uint64_t m_escape_deadline = 0;
  bool m_ending = false;  // exit status, EOF and CLOSE follow the output
  bool m_picked = false;
  bool m_close_sent = false, m_close_received = false;
};

}  // namespace postern::bastion
