#include "bastion/jump_connection.h"

#include "bastion/jump_session_notice.h"
#include "common/be_bytes.h"
#include "common/ssh_msg.h"
#include "common/wire.h"
#include "session/connection_messages.h"

namespace postern::bastion {

using namespace postern::session;

JumpConnection::JumpConnection(PacketSink& client, Opener opener, ClosedEvent closed, Notice notice)
    : m_client(client),
      m_opener(std::move(opener)),
      m_closed(std::move(closed)),
      m_notice(std::move(notice)) {}

size_t JumpConnection::open_channels() const {
  size_t n = 0;
  for (const Slot& s : m_slots) n += s.in_use ? 1 : 0;
  return n;
}

void JumpConnection::from_client(ByteView msg) {
  if (msg.empty()) throw ProtocolError("empty message");
  switch (msg[0]) {
    case kMsgChannelOpen:
      return open(msg);
    case kMsgChannelData:
    case kMsgChannelExtendedData:
    case kMsgChannelWindowAdjust:
    case kMsgChannelEof:
    case kMsgChannelClose:
    case kMsgChannelRequest:
    case kMsgChannelSuccess:
    case kMsgChannelFailure:
      return channel_message(msg);
    case kMsgGlobalRequest: {
      // RFC 4254 §4: nothing to forward to in jump mode (keepalives get their failure).
      auto g = decode<GlobalRequestMsg>(msg);
      if (g.want_reply) m_client.send(encode(RequestFailureMsg{}));
      return;
    }
    default:
      m_client.send_unimplemented();
  }
}

void JumpConnection::open(ByteView msg) {
  auto o = decode<ChannelOpenMsg>(msg);
  auto fail = [&](uint32_t reason, const std::string& why) {
    m_client.send(encode(ChannelOpenFailureMsg{o.sender_channel, reason, why, ""}));
  };
  if (o.channel_type != "direct-tcpip" && o.channel_type != "session")
    return fail(kOpenUnknownChannelType, "unknown channel type");
  // The picked session becomes the login's only target connection (monitor_pty_picker.cpp).
  for (const Slot& other : m_slots)
    if (other.in_use && other.picker)
      return fail(kOpenAdministrativelyProhibited, "postern: the target picker is running");
  uint32_t id = 0;
  while (id < m_slots.size() && m_slots[id].in_use) ++id;
  if (id >= kMaxChannels) return fail(kOpenResourceShortage, "too many channels");
  if (id == m_slots.size()) m_slots.emplace_back();
  if (o.channel_type == "session") {
    Slot& s = m_slots[id];
    s = Slot{};
    s.in_use = true;
    s.client_id = o.sender_channel;
    s.client_window = o.initial_window;
    s.client_max_packet = o.max_packet;
    m_client.send(encode(ChannelOpenConfirmationMsg{o.sender_channel, id, 0, 32768}));
    return;
  }
  // RFC 4254 §7.2: host to connect, port, originator address, originator port.
  Reader r(o.data.bytes);
  std::string host(r.text(1024));
  uint32_t port = r.u32();
  std::string orig_host(r.text(1024));
  uint32_t orig_port = r.u32();
  r.expect_done("direct-tcpip");
  if (port == 0 || port > 65535) return fail(kOpenConnectFailed, "bad port");
  Opened opened = m_opener(host, port, orig_host + ":" + std::to_string(orig_port));
  if (!opened.allowed || !opened.fd.valid())
    return fail(kOpenAdministrativelyProhibited, opened.message);
  Slot& s = m_slots[id];
  s = Slot{};
  s.in_use = true;
  s.client_id = o.sender_channel;
  s.target_id = opened.target_id;
  s.jump = std::make_unique<JumpChannel>(id, o.sender_channel, o.initial_window, o.max_packet,
                                         std::move(opened.fd));
  m_client.send(s.jump->confirmation());
}

JumpConnection::Slot& JumpConnection::slot(uint32_t local_id) {
  if (local_id >= m_slots.size() || !m_slots[local_id].in_use)
    throw ProtocolError("message for unknown channel " + std::to_string(local_id));
  return m_slots[local_id];
}

void JumpConnection::channel_message(ByteView msg) {
  Reader r(msg);
  uint8_t type = r.u8();
  uint32_t id = r.u32();
  Slot& s = slot(id);
  if (s.jump) {
    if (route_stream_channel_message(*s.jump, type, r, msg, m_client)) release(id);
    return;
  }
  if (s.picker) return picker_message(s, type, r, msg);
  // A session channel: requests, the close, and a certificate command's stdin mean anything.
  if (s.certificate) {
    CertificateExec& c = *s.certificate;
    switch (type) {
      case kMsgChannelData: {
        ByteView data = r.string(UINT32_MAX);
        r.expect_done("channel data");
        return c.on_data(data);
      }
      case kMsgChannelEof:
        return c.on_eof();
      case kMsgChannelWindowAdjust:
        return c.on_window_adjust(r.u32());
      case kMsgChannelRequest: {
        auto req = decode<ChannelRequestMsg>(msg);  // the command runs already: nothing more
        if (req.want_reply && !c.closed()) m_client.send(encode(ChannelFailureMsg{s.client_id}));
        return;
      }
      case kMsgChannelClose:
        if (!c.closed()) m_client.send(encode(ChannelCloseMsg{s.client_id}));
        s = Slot{};
        return;
      default:
        return;  // extended data (no meaning for stdin), replies
    }
  }
  switch (type) {
    case kMsgChannelRequest:
      return session_request(s, msg);
    case kMsgChannelWindowAdjust: {
      uint64_t w = uint64_t(s.client_window) + r.u32();
      if (w > UINT32_MAX) throw ProtocolError("channel window beyond 2^32 - 1");
      s.client_window = uint32_t(w);
      return;
    }
    case kMsgChannelClose:
      if (!s.notice_closed) m_client.send(encode(ChannelCloseMsg{s.client_id}));
      s = Slot{};
      return;
    case kMsgChannelData:
      // Our window for it is 0 (RFC 4254 §5.2).
      throw ProtocolError("channel data beyond the window");
    default:
      return;  // EOF, extended data (also beyond the window: 0 bytes), replies
  }
}

void JumpConnection::session_request(Slot& s, ByteView msg) {
  auto req = decode<ChannelRequestMsg>(msg);
  if (s.notice_closed) return;
  const std::string& name = req.request.value;
  // Kept for the target a picker may choose (RFC 4254 §6.2 pty-req, §6.4 env, PROTOCOL.agent,
  // §6.3.1 x11-req): answered now, decided by the policy when they are replayed there.
  if (name == "pty-req" || name == "env" || name == "auth-agent-req@openssh.com" ||
      name == "x11-req") {
    bool kept = keep_request(s, name, req.data.bytes);
    if (req.want_reply) {
      Writer w;
      w.u8(kept ? kMsgChannelSuccess : kMsgChannelFailure).u32(s.client_id);
      m_client.send(w.buffer());
    }
    return;
  }
  if (name == "window-change") {  // RFC 4254 §6.7: no reply
    Reader wc(req.data.bytes);
    uint32_t cols = wc.u32(), rows = wc.u32(), wpx = wc.u32(), hpx = wc.u32();
    s.cols = cols;
    s.rows = rows;
    for (auto& [kept, data] : s.requests)
      if (kept == "pty-req") set_pty_size(data, cols, rows, wpx, hpx);
    return;
  }
  if (name == "shell" && s.pty && m_picker.list) {
    if (req.want_reply) m_client.send(encode(ChannelSuccessMsg{s.client_id}));
    if (start_picker(s)) return;
    // No picker after all: the notice, as for a shell without a pty (its reply went).
    req.want_reply = false;
  }
  if (req.request.value == "exec" && m_issuer) {
    // RFC 4254 §6.5: string command.
    Reader cr(req.data.bytes);
    std::string command(cr.text(4096));
    cr.expect_done("exec");
    if (is_certificate_command(command)) {
      if (req.want_reply) m_client.send(encode(ChannelSuccessMsg{s.client_id}));
      auto parsed = parse_certificate_command(command);
      s.certificate = std::make_unique<CertificateExec>(
          m_client, s.client_id, s.client_window, s.client_max_packet,
          parsed ? std::move(*parsed) : CertificateCommand{}, m_issuer);
      if (!parsed) return s.certificate->refuse("postern: " + parsed.error().message);
      s.certificate->start();
      return;
    }
  }
  // The one line that says how to name a target; a terminal needs its carriage return.
  bool command = name == "shell" || name == "exec" || name == "subsystem";
  std::string notice = command ? m_notice() + (s.pty ? "\r\n" : "\n") : "";
  s.notice_closed = answer_jump_session_request(m_client, s.client_id, s.client_window, name,
                                                req.want_reply, notice);
}

bool JumpConnection::keep_request(Slot& s, const std::string& name, ByteView data) {
  if (s.requests.size() >= kMaxKeptRequests || s.request_bytes + data.size() > kMaxKeptRequestBytes)
    return false;
  if (name == "pty-req") {
    try {
      Reader r(data);
      r.text(256);  // TERM
      uint32_t cols = r.u32(), rows = r.u32();
      s.cols = cols;
      s.rows = rows;
    } catch (const ProtocolError&) {
      return false;
    }
    s.pty = true;
  }
  s.requests.emplace_back(name, Bytes(data.begin(), data.end()));
  s.request_bytes += data.size();
  return true;
}

// The picker runs when the monitor lists a target and the session is the connection's only
// channel (what the picked target becomes is the login's target: monitor_pty_picker.cpp).
bool JumpConnection::start_picker(Slot& s) {
  if (open_channels() != 1) return false;
  PickerList list = m_picker.list();
  if (list.entries.empty()) return false;
  PickedSession session;
  session.local_id = uint32_t(&s - m_slots.data());
  session.client_id = s.client_id;
  session.client_window = s.client_window;
  session.client_max_packet = s.client_max_packet;
  session.requests = std::move(s.requests);
  s.requests.clear();
  s.picker = std::make_unique<PtyPickerChannel>(m_client, std::move(session), s.cols, s.rows,
                                                std::move(list.entries), m_picker.choose);
  s.picker->start();
  after_picker(s);
  return true;
}

void JumpConnection::picker_message(Slot& s, uint8_t type, Reader& r, ByteView msg) {
  PtyPickerChannel& p = *s.picker;
  switch (type) {
    case kMsgChannelData: {
      ByteView data = r.string(UINT32_MAX);
      r.expect_done("channel data");
      p.on_data(data, m_now_ms);
      break;
    }
    case kMsgChannelWindowAdjust:
      p.on_window_adjust(r.u32());
      break;
    case kMsgChannelEof:
      p.on_eof();
      break;
    case kMsgChannelClose:
      p.on_close();
      break;
    case kMsgChannelRequest: {
      auto req = decode<ChannelRequestMsg>(msg);
      if (req.request.value == "window-change") {
        Reader wc(req.data.bytes);
        uint32_t cols = wc.u32(), rows = wc.u32();
        p.on_window_change(cols, rows);
      } else if (req.want_reply) {
        m_client.send(encode(ChannelFailureMsg{s.client_id}));  // the picker runs: nothing else
      }
      break;
    }
    default:
      break;  // extended data (no meaning toward the picker), replies
  }
  after_picker(s);
}

void JumpConnection::after_picker(Slot& s) {
  if (auto picked = s.picker->take_picked()) {
    m_picked = std::move(picked);
    s = Slot{};  // the relay's now
    return;
  }
  if (s.picker->finished()) s = Slot{};
}

void JumpConnection::tick(uint64_t now_ms) {
  m_now_ms = now_ms;
  for (Slot& s : m_slots)
    if (s.in_use && s.picker) {
      s.picker->on_timer(now_ms);
      after_picker(s);
    }
}

int JumpConnection::timeout_ms() const {
  int best = -1;
  for (const Slot& s : m_slots)
    if (s.in_use && s.picker) {
      int t = s.picker->timeout_ms(m_now_ms);
      if (t >= 0 && (best < 0 || t < best)) best = t;
    }
  return best;
}

void JumpConnection::release(uint32_t local_id) {
  Slot& s = m_slots[local_id];
  if (s.jump && s.jump->finished()) {
    m_closed(s.target_id, s.client_id, s.jump->bytes_up(), s.jump->bytes_down());
    s = Slot{};
  }
}

void JumpConnection::add_poll_fds(std::vector<pollfd>& fds, size_t client_backlog) const {
  for (const Slot& s : m_slots)
    if (s.in_use && s.jump) fds.push_back({s.jump->fd(), s.jump->poll_events(client_backlog), 0});
}

void JumpConnection::handle_poll(const pollfd* fds, size_t count) {
  size_t i = 0;
  for (uint32_t id = 0; id < m_slots.size() && i < count; ++id) {
    Slot& s = m_slots[id];
    if (!s.in_use || !s.jump) continue;
    const pollfd& p = fds[i++];
    if (p.revents & (POLLOUT | POLLERR)) s.jump->on_writable(m_client);
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) s.jump->on_readable(m_client);
  }
}

}  // namespace postern::bastion
