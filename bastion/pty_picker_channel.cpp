#include "bastion/pty_picker_channel.h"

#include <algorithm>

#include "common/be_bytes.h"
#include "common/protocol_error.h"
#include "common/ssh_msg.h"
#include "common/wire.h"
#include "session/connection_messages.h"

namespace postern::bastion {

// pty-req (RFC 4254 §6.2): string TERM, then the size as uint32 columns, rows, width and height
// in pixels. A window-change (§6.7) brings the same four; the replayed pty-req carries them.
void set_pty_size(Bytes& pty_req, uint32_t cols, uint32_t rows, uint32_t wpx, uint32_t hpx) {
  if (pty_req.size() < 4) return;
  size_t at = 4 + size_t(load_be32(pty_req.data()));
  if (at + 16 > pty_req.size()) return;
  store_be32(pty_req.data() + at, cols);
  store_be32(pty_req.data() + at + 4, rows);
  store_be32(pty_req.data() + at + 8, wpx);
  store_be32(pty_req.data() + at + 12, hpx);
}

PtyPickerChannel::PtyPickerChannel(session::PacketSink& client, PickedSession session,
                                   uint32_t cols, uint32_t rows,
                                   std::vector<PtyPickerEntry> entries, Choose choose)
    : m_client(client),
      m_session(std::move(session)),
      m_picker(std::move(entries), cols, rows),
      m_choose(std::move(choose)) {}

void PtyPickerChannel::start() {
  // The channel was confirmed with an empty window (jump mode reads nothing from a session);
  // the picker reads keys.
  m_client.send(encode(session::ChannelWindowAdjustMsg{m_session.client_id, kInputWindow}));
  m_session.window_to_bastion += kInputWindow;
  queue(m_picker.start(), false);
  flush();
}

void PtyPickerChannel::on_data(ByteView data, uint64_t now_ms) {
  if (data.size() > m_session.window_to_bastion)
    throw ProtocolError("channel data beyond the window");  // RFC 4254 §5.2
  m_session.window_to_bastion -= uint32_t(data.size());
  if (m_ending) return;  // nothing was chosen: these keys have nowhere to go
  if (m_picked) {
    // Chosen, the last screen still waiting for the client's window: type-ahead for the target.
    m_session.typed_ahead.insert(m_session.typed_ahead.end(), data.begin(), data.end());
    return;
  }
  std::string out = m_picker.input(data);
  ByteView rest = data.subspan(m_picker.input_used());
  m_escape_deadline = m_picker.escape_pending() ? now_ms + kEscapeTimeoutMs : 0;
  queue(std::move(out), m_picker.state() == PtyPicker::State::kPicking);
  settle();
  // What followed the Enter in the same packet was typed for the target (the window bounds it).
  if (m_picked) m_session.typed_ahead.insert(m_session.typed_ahead.end(), rest.begin(), rest.end());
  flush();
}

void PtyPickerChannel::on_window_adjust(uint32_t bytes) {
  uint64_t w = uint64_t(m_session.client_window) + bytes;
  if (w > UINT32_MAX) throw ProtocolError("channel window beyond 2^32 - 1");
  m_session.client_window = uint32_t(w);
  flush();
}

void PtyPickerChannel::on_window_change(uint32_t cols, uint32_t rows) {
  for (auto& [name, data] : m_session.requests)
    if (name == "pty-req") set_pty_size(data, cols, rows, 0, 0);
  if (m_ending || m_picked) return;
  queue(m_picker.resize(cols, rows), true);
  flush();
}

void PtyPickerChannel::on_eof() {
  if (m_ending || m_picked) return;
  queue(m_picker.abandon(), false);
  settle();
  flush();
}

void PtyPickerChannel::on_close() {
  m_close_received = true;
  m_ending = true;
  m_picked = false;  // the client left: nothing to hand over
  if (!m_close_sent) {
    m_client.send(encode(session::ChannelCloseMsg{m_session.client_id}));
    m_close_sent = true;
  }
}

void PtyPickerChannel::on_timer(uint64_t now_ms) {
  if (m_escape_deadline == 0 || now_ms < m_escape_deadline) return;
  m_escape_deadline = 0;
  queue(m_picker.escape_timeout(), false);
  settle();
  flush();
}

int PtyPickerChannel::timeout_ms(uint64_t now_ms) const {
  if (m_escape_deadline == 0) return -1;
  return m_escape_deadline <= now_ms ? 0 : int(m_escape_deadline - now_ms);
}

std::optional<PickedSession> PtyPickerChannel::take_picked() {
  if (!m_picked || !m_out.empty() || !m_next_frame.empty()) return std::nullopt;
  m_picked = false;
  m_close_sent = true;  // the channel is the relay's now: nothing more from here
  return std::move(m_session);
}

void PtyPickerChannel::queue(std::string bytes, bool frame) {
  if (bytes.empty()) return;
  if (frame) {
    m_next_frame = std::move(bytes);
    return;
  }
  m_next_frame.clear();  // a screen that ends the picker makes the last redraw moot
  m_out += bytes;
}

void PtyPickerChannel::settle() {
  switch (m_picker.state()) {
    case PtyPicker::State::kPicking:
      // More keys may come: the window is topped up once half of it is used.
      if (m_session.window_to_bastion < kInputWindow / 2) {
        uint32_t more = kInputWindow - m_session.window_to_bastion;
        m_client.send(encode(session::ChannelWindowAdjustMsg{m_session.client_id, more}));
        m_session.window_to_bastion += more;
      }
      return;
    case PtyPicker::State::kCancelled:
      return end("");
    case PtyPicker::State::kChosen:
      if (m_picked || m_ending) return;
      if (std::string refusal = m_choose(m_picker.chosen_user(), m_picker.chosen_target());
          !refusal.empty())
        return end(refusal);
      m_picked = true;
      m_session.target_user = m_picker.chosen_user();
      m_session.target = m_picker.chosen_target();
      return;
  }
}

void PtyPickerChannel::end(const std::string& line) {
  if (!line.empty()) queue(line + "\r\n", false);
  m_ending = true;
}

// RFC 4254 §5.2: no more than the client's window, no packet over its maximum.
void PtyPickerChannel::flush() {
  uint32_t id = m_session.client_id;
  size_t packet = std::clamp<size_t>(m_session.client_max_packet, 1, 32768);
  while (m_session.client_window > 0 && !m_close_sent) {
    if (m_out.empty()) m_out.swap(m_next_frame);
    if (m_out.empty()) break;
    size_t n = std::min({m_out.size(), size_t(m_session.client_window), packet});
    Writer w;
    w.u8(kMsgChannelData).u32(id).string(std::string_view(m_out).substr(0, n));
    m_client.send(w.buffer());
    m_session.client_window -= uint32_t(n);
    m_out.erase(0, n);
  }
  if (m_ending && !m_picked && m_out.empty() && !m_close_sent) {
    // The way a command that failed ends (RFC 4254 §6.10, §5.3).
    Writer status;
    status.u8(kMsgChannelRequest).u32(id).string("exit-status").boolean(false).u32(1);
    m_client.send(status.buffer());
    m_client.send(encode(session::ChannelEofMsg{id}));
    m_client.send(encode(session::ChannelCloseMsg{id}));
    m_close_sent = true;
  }
}

}  // namespace postern::bastion
