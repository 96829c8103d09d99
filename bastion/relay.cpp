#include "bastion/relay.h"

#include <cstring>

#include "common/be_bytes.h"
#include "common/ssh_msg.h"
#include "common/wire.h"
#include "session/connection_messages.h"

namespace postern::bastion {

using session::ChannelOpenFailureMsg;
using session::ChannelOpenMsg;

Relay::Relay(session::PacketSink& client, session::PacketSink& target, RelayMonitor& monitor)
    : m_client(client), m_target(target), m_monitor(monitor) {}

void Relay::from_client(ByteView msg) {
  client_message(msg);
}

void Relay::from_target(ByteView msg) {
  try {
    target_message(msg);
  } catch (const ProtocolError& e) {
    throw TargetProtocolError(e.what());
  }
}

size_t Relay::open_channels() const {
  size_t n = 0;
  for (const Channel& ch : m_channels) n += ch.in_use ? 1 : 0;
  return n;
}

void Relay::client_message(ByteView msg) {
  if (msg.empty()) throw ProtocolError("empty message");
  switch (msg[0]) {
    case kMsgChannelData:
      return data(msg, Side::kClient, false);
    case kMsgChannelExtendedData:
      return data(msg, Side::kClient, true);
    case kMsgChannelWindowAdjust:
      return window_adjust(msg, Side::kClient);
    case kMsgChannelEof:
      return eof(msg, Side::kClient);
    case kMsgChannelClose:
      return close(msg, Side::kClient);
    case kMsgChannelRequest:
      return channel_request(msg, Side::kClient);
    case kMsgChannelSuccess:
    case kMsgChannelFailure:
      return channel_reply(msg, Side::kClient);
    case kMsgChannelOpen:
      return client_open(msg);
    case kMsgChannelOpenConfirmation:
      return open_confirmation(msg, Side::kClient);
    case kMsgChannelOpenFailure:
      return open_failure(msg, Side::kClient);
    case kMsgGlobalRequest:
      return global_request(msg, Side::kClient);
    case kMsgRequestSuccess:
    case kMsgRequestFailure:
      return global_reply(msg, Side::kClient);
    default:
      // RFC 4253 §11.4; a late USERAUTH_REQUEST is ignored the same way (RFC 4252 §5.1).
      m_client.send_unimplemented();
  }
}

void Relay::target_message(ByteView msg) {
  if (msg.empty()) throw ProtocolError("empty message");
  switch (msg[0]) {
    case kMsgChannelData:
      return data(msg, Side::kTarget, false);
    case kMsgChannelExtendedData:
      return data(msg, Side::kTarget, true);
    case kMsgChannelWindowAdjust:
      return window_adjust(msg, Side::kTarget);
    case kMsgChannelEof:
      return eof(msg, Side::kTarget);
    case kMsgChannelClose:
      return close(msg, Side::kTarget);
    case kMsgChannelRequest:
      return channel_request(msg, Side::kTarget);
    case kMsgChannelSuccess:
    case kMsgChannelFailure:
      return channel_reply(msg, Side::kTarget);
    case kMsgChannelOpen:
      return target_open(msg);
    case kMsgChannelOpenConfirmation:
      return open_confirmation(msg, Side::kTarget);
    case kMsgChannelOpenFailure:
      return open_failure(msg, Side::kTarget);
    case kMsgGlobalRequest:
      return global_request(msg, Side::kTarget);
    case kMsgRequestSuccess:
    case kMsgRequestFailure:
      return global_reply(msg, Side::kTarget);
    case kMsgUserauthSuccess:
    case kMsgUserauthBanner:
      return;  // late userauth chatter (RFC 4252 §5.4): nothing to relay
    default:
      m_target.send_unimplemented();
  }
}

// ---- channel lifetime ------------------------------------------------------------------------

Relay::Channel& Relay::channel(uint32_t local_id, Side from) {
  if (local_id >= m_channels.size() || !m_channels[local_id].in_use)
    throw ProtocolError("message for unknown channel " + std::to_string(local_id));
  Channel& ch = m_channels[local_id];
  // A side that closed its end may not use the channel again (RFC 4254 §5.3).
  if (from == Side::kClient ? ch.close_from_client : ch.close_from_target)
    throw ProtocolError("message for closed channel " + std::to_string(local_id));
  return ch;
}

uint32_t Relay::allocate() {
  for (size_t i = 0; i < m_channels.size(); ++i)
    if (!m_channels[i].in_use) {
      m_channels[i] = Channel{};
      m_channels[i].in_use = true;
      return uint32_t(i);
    }
  if (m_channels.size() >= kMaxChannels) return UINT32_MAX;
  m_channels.emplace_back();
  m_channels.back().in_use = true;
  return uint32_t(m_channels.size() - 1);
}

namespace {

// "host:port" of a direct-tcpip open or a tcpip-forward request (RFC 4254 §7.1, §7.2).
std::string host_port(Reader& r) {
  std::string host(r.text(1024));
  uint32_t port = r.u32();
  return host + ":" + std::to_string(port);
}

void send_open_failure(session::PacketSink& to, uint32_t recipient, uint32_t reason,
                       const std::string& message) {
  to.send(encode(ChannelOpenFailureMsg{recipient, reason, message, ""}));
}

}  // namespace

void Relay::client_open(ByteView msg) {
  auto open = decode<ChannelOpenMsg>(msg);
  // RFC 4254 §5.1: only these are what a client opens toward a server.
  if (open.channel_type == "direct-tcpip") {
    Reader r(open.data.bytes);
    std::string where = host_port(r);
    auto d = m_monitor.decide(open.sender_channel, "direct-tcpip", where);
    if (!d.allowed)
      return send_open_failure(m_client, open.sender_channel,
                               session::kOpenAdministrativelyProhibited, d.message);
  } else if (open.channel_type != "session") {
    return send_open_failure(
        m_client, open.sender_channel, session::kOpenUnknownChannelType,
        "postern: channel type " + open.channel_type + " is not relayed to the target");
  }
  uint32_t id = allocate();
  if (id == UINT32_MAX)
    return send_open_failure(m_client, open.sender_channel, session::kOpenResourceShortage,
                             "too many channels");
  Channel& ch = m_channels[id];
  ch.opened_by_client = true;
  ch.session = open.channel_type == "session";
  ch.client_id = open.sender_channel;
  ch.window_to_client = open.initial_window;
  // The client's window and packet size go to the target unchanged: end to end.
  open.sender_channel = id;
  m_target.send(encode(open));
}

void Relay::adopt_client_channel(uint32_t local_id, ChannelOpenMsg open) {
  if (local_id >= kMaxChannels || open.channel_type != "session")
    throw std::logic_error("adopt_client_channel: not a session channel number");
  if (m_channels.size() <= local_id) m_channels.resize(local_id + 1);
  Channel& ch = m_channels[local_id];
  if (ch.in_use) throw std::logic_error("adopt_client_channel: number in use");
  ch = Channel{};
  ch.in_use = true;
  ch.opened_by_client = true;
  ch.session = true;
  ch.client_id = open.sender_channel;
  ch.window_to_client = open.initial_window;
  open.sender_channel = local_id;
  m_target.send(encode(open));
}

void Relay::target_open(ByteView msg) {
  auto open = decode<ChannelOpenMsg>(msg);
  // Only what the policy let the client ask for may come back (RFC 4254 §7.2, OpenSSH
  // PROTOCOL.agent, RFC 4254 §6.3.2).
  bool allowed = (open.channel_type == "forwarded-tcpip" && m_remote_forward_allowed) ||
                 (open.channel_type == "auth-agent@openssh.com" && m_agent_allowed) ||
                 (open.channel_type == "x11" && m_x11_allowed);
  if (!allowed)
    return send_open_failure(m_target, open.sender_channel,
                             session::kOpenAdministrativelyProhibited, "not requested");
  uint32_t id = allocate();
  if (id == UINT32_MAX)
    return send_open_failure(m_target, open.sender_channel, session::kOpenResourceShortage,
                             "too many channels");
  Channel& ch = m_channels[id];
  ch.opened_by_client = false;
  ch.target_id = open.sender_channel;
  ch.window_to_target = open.initial_window;
  open.sender_channel = id;
  m_client.send(encode(open));
}

void Relay::open_confirmation(ByteView msg, Side from) {
  auto c = decode<session::ChannelOpenConfirmationMsg>(msg);
  Channel& ch = channel(c.recipient_channel, from);
  // Only the side that was asked may confirm, once.
  if (ch.confirmed || ch.opened_by_client != (from == Side::kTarget))
    throw ProtocolError("unexpected channel open confirmation");
  ch.confirmed = true;
  Side to = from == Side::kClient ? Side::kTarget : Side::kClient;
  if (from == Side::kTarget) {
    ch.target_id = c.sender_channel;
    ch.window_to_target = c.initial_window;
  } else {
    ch.client_id = c.sender_channel;
    ch.window_to_client = c.initial_window;
  }
  c.sender_channel = c.recipient_channel;
  c.recipient_channel = peer_id(ch, to);
  sink(to).send(encode(c));
}

void Relay::open_failure(ByteView msg, Side from) {
  auto f = decode<ChannelOpenFailureMsg>(msg);
  Channel& ch = channel(f.recipient_channel, from);
  if (ch.confirmed || ch.opened_by_client != (from == Side::kTarget))
    throw ProtocolError("unexpected channel open failure");
  Side to = from == Side::kClient ? Side::kTarget : Side::kClient;
  f.recipient_channel = peer_id(ch, to);
  sink(to).send(encode(f));
  ch.in_use = false;
}

void Relay::close(ByteView msg, Side from) {
  auto c = decode<session::ChannelCloseMsg>(msg);
  Channel& ch = channel(c.recipient_channel, from);
  if (!ch.confirmed) throw ProtocolError("close of a channel not yet open");
  (from == Side::kClient ? ch.close_from_client : ch.close_from_target) = true;
  Side to = from == Side::kClient ? Side::kTarget : Side::kClient;
  send_close(c.recipient_channel, to);
  release_if_done(c.recipient_channel);
}

void Relay::send_close(uint32_t local_id, Side to) {
  Channel& ch = m_channels[local_id];
  bool& sent = to == Side::kClient ? ch.close_to_client : ch.close_to_target;
  if (sent) return;
  sent = true;
  sink(to).send(encode(session::ChannelCloseMsg{peer_id(ch, to)}));
}

// RFC 4254 §5.3: a channel is gone once each side has sent and received a CLOSE.
void Relay::release_if_done(uint32_t local_id) {
  Channel& ch = m_channels[local_id];
  if (!(ch.close_from_client && ch.close_from_target && ch.close_to_client && ch.close_to_target))
    return;
  report_channel_closed(ch);
  ch = Channel{};
}

void Relay::report_channel_closed(Channel& ch) {
  ch.recording.reset();  // complete on disk before the monitor hashes it at the close event
  if (ch.files && ch.files->sftp) ch.files->sftp->finish();  // files left open, before the close
  ch.files.reset();
  if (ch.confirmed)
    m_monitor.channel_closed(ch.client_id, ch.bytes_up, ch.bytes_down, ch.exit_status);
}

void Relay::target_lost() {
  for (uint32_t id = 0; id < m_channels.size(); ++id) {
    Channel& ch = m_channels[id];
    if (!ch.in_use) continue;
    if (ch.confirmed)
      send_close(id, Side::kClient);
    else if (ch.opened_by_client)
      send_open_failure(m_client, ch.client_id, session::kOpenConnectFailed,
                        "connection to the target lost");
    report_channel_closed(ch);
    ch = Channel{};
  }
}

// ---- data and windows --------------------------------------------------------------------------

void Relay::data(ByteView msg, Side from, bool extended) {
  // RFC 4254 §5.2: byte type, uint32 recipient, [uint32 data type,] string data. Parsed by hand:
  // this is the bulk path, no decode() copy.
  size_t header = extended ? session::kExtendedDataHeaderSize : session::kDataHeaderSize;
  if (msg.size() < header) throw ProtocolError("short channel data");
  uint32_t id = load_be32(msg.data() + 1);
  uint32_t len = load_be32(msg.data() + header - 4);
  if (len != msg.size() - header) throw ProtocolError("bad channel data length");
  Channel& ch = channel(id, from);
  if (!ch.confirmed) throw ProtocolError("data on a channel not yet open");
  uint64_t& window = from == Side::kClient ? ch.window_to_target : ch.window_to_client;
  if (len > window) throw ProtocolError("channel data beyond the window");
  window -= len;
  (from == Side::kClient ? ch.bytes_up : ch.bytes_down) += len;
  if (ch.recording) {
    ByteView payload = msg.subspan(header);
    if (from == Side::kTarget)
      ch.recording->output(payload);
    else
      ch.recording->input(payload);
  }
  // The file transfer's own stream is the channel's data; stderr (extended data) is not part of
  // it. Observing never throws into the relay: a stream the observer cannot follow ends its
  // observation, not the session.
  if (ch.files && !extended) {
    ByteView payload = msg.subspan(header);
    ChannelFileEvents& f = *ch.files;
    if (f.sftp) from == Side::kClient ? f.sftp->from_client(payload) : f.sftp->from_target(payload);
    if (f.scp) from == Side::kClient ? f.scp->from_client(payload) : f.scp->from_target(payload);
  }
  Side to = from == Side::kClient ? Side::kTarget : Side::kClient;
  // After our CLOSE to the receiver, what is still in flight is dropped (RFC 4254 §5.3).
  if (to == Side::kClient ? ch.close_to_client : ch.close_to_target) return;
  forward(to, msg, peer_id(ch, to));
}

void Relay::window_adjust(ByteView msg, Side from) {
  auto a = decode<session::ChannelWindowAdjustMsg>(msg);
  Channel& ch = channel(a.recipient_channel, from);
  if (!ch.confirmed) throw ProtocolError("window adjust on a channel not yet open");
  // The client's adjustment widens what the target may send, and the reverse.
  uint64_t& window = from == Side::kClient ? ch.window_to_client : ch.window_to_target;
  window += a.bytes_to_add;
  // RFC 4254 §5.2: a window never exceeds 2^32 - 1 bytes.
  if (window > UINT32_MAX) throw ProtocolError("channel window beyond 2^32 - 1");
  Side to = from == Side::kClient ? Side::kTarget : Side::kClient;
  if (to == Side::kClient ? ch.close_to_client : ch.close_to_target) return;
  forward(to, msg, peer_id(ch, to));
}

void Relay::eof(ByteView msg, Side from) {
  auto e = decode<session::ChannelEofMsg>(msg);
  Channel& ch = channel(e.recipient_channel, from);
  if (!ch.confirmed) throw ProtocolError("EOF on a channel not yet open");
  Side to = from == Side::kClient ? Side::kTarget : Side::kClient;
  if (to == Side::kClient ? ch.close_to_client : ch.close_to_target) return;
  forward(to, msg, peer_id(ch, to));
}

void Relay::forward(Side to, ByteView msg, uint32_t recipient) {
  session::PacketSink& out = sink(to);
  if (out.can_send_direct()) {
    MutableByteView room = out.begin_packet(msg.size());
    std::memcpy(room.data(), msg.data(), msg.size());
    store_be32(room.data() + 1, recipient);
    out.commit_packet();
    return;
  }
  // During a key exchange the transport queues a copy anyway; the scratch buffer keeps its
  // capacity, so steady traffic allocates nothing here either.
  m_scratch.assign(msg.begin(), msg.end());
  store_be32(m_scratch.data() + 1, recipient);
  out.send(m_scratch);
}

// ---- global requests (RFC 4254 §4) ------------------------------------------------------------

void Relay::global_request(ByteView msg, Side from) {
  auto g = decode<session::GlobalRequestMsg>(msg);
  Side to = from == Side::kClient ? Side::kTarget : Side::kClient;
  // The requester's replies come back in the order of its requests, local answers included.
  std::deque<Reply>& queue = from == Side::kClient ? m_global_to_client : m_global_to_target;
  if (g.want_reply && queue.size() >= kMaxPendingReplies)
    throw ProtocolError("too many global requests awaiting a reply");
  bool relay = true;
  if (from == Side::kClient) {
    if (g.request == "tcpip-forward") {
      Reader r(g.data.bytes);
      std::string where = host_port(r);
      auto d = m_monitor.decide(0, "remote-forward", where);
      relay = d.allowed;
      if (d.allowed) m_remote_forward_allowed = true;
    } else if (g.request == "streamlocal-forward@openssh.com") {
      relay = false;  // Unix socket forwarding is not part of the bastion's policy
    }
  } else if (g.request == "hostkeys-00@openssh.com") {
    // OpenSSH PROTOCOL §2.5: the target's keys mean nothing to the client, whose known host is
    // the bastion.
    relay = false;
  }
  if (!relay) {
    if (!g.want_reply) return;
    queue.push_back(Reply::kLocalFailure);
    return flush_global_replies(queue, from);
  }
  if (g.want_reply) queue.push_back(Reply::kForwarded);
  sink(to).send(msg);
}

void Relay::global_reply(ByteView msg, Side from) {
  // The reply answers the other side's oldest request.
  Side to = from == Side::kClient ? Side::kTarget : Side::kClient;
  std::deque<Reply>& queue = to == Side::kClient ? m_global_to_client : m_global_to_target;
  if (queue.empty() || queue.front() != Reply::kForwarded)
    throw ProtocolError("global request reply without a request");
  queue.pop_front();
  sink(to).send(msg);
  flush_global_replies(queue, to);
}

void Relay::flush_global_replies(std::deque<Reply>& queue, Side to) {
  while (!queue.empty() && queue.front() != Reply::kForwarded) {
    uint8_t type = queue.front() == Reply::kLocalSuccess ? kMsgRequestSuccess : kMsgRequestFailure;
    queue.pop_front();
    sink(to).send(ByteView(&type, 1));
  }
}

}  // namespace postern::bastion
