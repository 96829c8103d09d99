#include "bastion/extender_connection.h"

#include <sys/socket.h>

#include "common/log.h"
#include "common/protocol_error.h"
#include "common/ssh_msg.h"
#include "common/wire.h"
#include "session/connection_messages.h"

namespace postern::bastion {

using namespace postern::session;

ExtenderConnection::ExtenderConnection(PacketSink& client, Listener listener,
                                       uint32_t allocated_port)
    : m_client(client), m_listener(std::move(listener)), m_allocated_port(allocated_port) {}

size_t ExtenderConnection::open_channels() const {
  size_t n = 0;
  for (const Slot& s : m_slots) n += s.in_use ? 1 : 0;
  return n;
}

void ExtenderConnection::from_client(ByteView msg) {
  if (msg.empty()) throw ProtocolError("empty message");
  switch (msg[0]) {
    case kMsgGlobalRequest:
      return global_request(msg);
    case kMsgChannelOpen: {
      // The extender only carries the bastion's streams: no session, no forwarding of its own.
      auto o = decode<ChannelOpenMsg>(msg);
      m_client.send(
          encode(ChannelOpenFailureMsg{o.sender_channel, kOpenAdministrativelyProhibited,
                                       "an extender's connection opens no channels", ""}));
      return;
    }
    case kMsgChannelOpenConfirmation:
      return open_confirmed(msg);
    case kMsgChannelOpenFailure:
      return open_failed(msg);
    case kMsgChannelData:
    case kMsgChannelExtendedData:
    case kMsgChannelWindowAdjust:
    case kMsgChannelEof:
    case kMsgChannelClose:
    case kMsgChannelRequest:
    case kMsgChannelSuccess:
    case kMsgChannelFailure:
      return channel_message(msg);
    default:
      m_client.send_unimplemented();
  }
}

void ExtenderConnection::global_request(ByteView msg) {
  auto g = decode<GlobalRequestMsg>(msg);
  auto answer = [&](bool ok, bool with_port) {
    if (!g.want_reply) return;
    if (!ok) return m_client.send(encode(RequestFailureMsg{}));
    Writer w;
    w.u8(kMsgRequestSuccess);
    if (with_port) w.u32(m_forward_port);  // RFC 4254 §7.1: the port allocated for port 0
    m_client.send(w.take());
  };
  if (g.request != "tcpip-forward" && g.request != "cancel-tcpip-forward")
    return answer(false, false);  // keepalives, no-more-sessions: nothing to grant
  // RFC 4254 §7.1: string address to bind, uint32 port to bind.
  Reader r(g.data.bytes);
  std::string address(r.text(255));
  uint32_t port = r.u32();
  r.expect_done(g.request.c_str());
  if (g.request == "cancel-tcpip-forward") {
    bool match = m_listen_fd.valid() && address == m_forward_address &&
                 (port == m_requested_port || port == m_forward_port);
    // Streams already carried go on; no new ones (the monitor's socket now refuses them).
    if (match) m_listen_fd.reset();
    return answer(match, false);
  }
  // One forward per connection: the extender's socket is one.
  if (m_listen_fd.valid() || m_refused || port > 65535) return answer(false, false);
  Listening l = m_listener(address, port);
  if (!l.allowed || !l.fd.valid()) {
    m_refused = true;
    log_info("extender: forward refused: %s", l.message.c_str());
    return answer(false, false);
  }
  m_listen_fd = std::move(l.fd);
  m_forward_address = address;
  m_requested_port = port;
  m_forward_port = port != 0 ? port : m_allocated_port;
  answer(true, port == 0);
}

void ExtenderConnection::accept_streams() {
  for (int i = 0; i < kAcceptsPerRound && m_listen_fd.valid(); ++i) {
    UniqueFd fd(::accept4(m_listen_fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) return;  // EAGAIN: no more waiting
    uint32_t id = 0;
    while (id < m_slots.size() && m_slots[id].in_use) ++id;
    // Too many: the stream closes at once, and the user's monitor says the extender refused.
    if (id >= kMaxChannels) continue;
    if (id == m_slots.size()) m_slots.emplace_back();
    Slot& s = m_slots[id];
    s = Slot{};
    s.in_use = true;
    s.pending = std::move(fd);
    // RFC 4254 §7.2: address that was connected, port that was connected, originator address,
    // originator port. OpenSSH finds its forward by the address and port it asked for; the
    // originator is the bastion itself.
    Writer data;
    data.string(m_forward_address).u32(m_forward_port).string("127.0.0.1").u32(0);
    m_client.send(encode(ChannelOpenMsg{"forwarded-tcpip", id, JumpChannel::kWindow,
                                        JumpChannel::kMaxPacket, Rest{data.take()}}));
  }
}

ExtenderConnection::Slot& ExtenderConnection::slot(uint32_t local_id) {
  if (local_id >= m_slots.size() || !m_slots[local_id].in_use)
    throw ProtocolError("message for unknown channel " + std::to_string(local_id));
  return m_slots[local_id];
}

void ExtenderConnection::open_confirmed(ByteView msg) {
  auto c = decode<ChannelOpenConfirmationMsg>(msg);
  Slot& s = slot(c.recipient_channel);
  if (!s.pending.valid()) throw ProtocolError("channel confirmed twice");
  s.open = std::make_unique<JumpChannel>(c.recipient_channel, c.sender_channel, c.initial_window,
                                         c.max_packet, std::move(s.pending));
}

void ExtenderConnection::open_failed(ByteView msg) {
  auto f = decode<ChannelOpenFailureMsg>(msg);
  Slot& s = slot(f.recipient_channel);
  if (!s.pending.valid()) throw ProtocolError("open failure for an open channel");
  log_info("extender: forwarded-tcpip refused by the client: %s", f.description.c_str());
  s = Slot{};  // closing the stream tells the user's monitor
}

void ExtenderConnection::channel_message(ByteView msg) {
  Reader r(msg);
  uint8_t type = r.u8();
  uint32_t id = r.u32();
  Slot& s = slot(id);
  if (!s.open) throw ProtocolError("channel message before the channel was confirmed");
  if (route_stream_channel_message(*s.open, type, r, msg, m_client) && s.open->finished())
    s = Slot{};
}

void ExtenderConnection::add_poll_fds(std::vector<pollfd>& fds, size_t client_backlog) const {
  if (m_listen_fd.valid()) fds.push_back({m_listen_fd.get(), POLLIN, 0});
  for (const Slot& s : m_slots)
    if (s.in_use && s.open) fds.push_back({s.open->fd(), s.open->poll_events(client_backlog), 0});
}

void ExtenderConnection::handle_poll(const pollfd* fds, size_t count) {
  size_t i = 0;
  bool listening = m_listen_fd.valid() && i < count;
  bool accept_now = listening && (fds[i].revents & POLLIN);
  if (listening) ++i;
  for (uint32_t id = 0; id < m_slots.size() && i < count; ++id) {
    Slot& s = m_slots[id];
    if (!s.in_use || !s.open) continue;
    const pollfd& p = fds[i++];
    if (p.revents & (POLLOUT | POLLERR)) s.open->on_writable(m_client);
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) s.open->on_readable(m_client);
  }
  // After the channels: a slot a new stream takes was not in this round's fds.
  if (accept_now) accept_streams();
}

}  // namespace postern::bastion
