#include "bastion/adopted_channel.h"

#include <algorithm>

#include "common/be_bytes.h"
#include "common/protocol_error.h"
#include "common/ssh_msg.h"
#include "common/wire.h"
#include "session/connection_messages.h"

namespace postern::bastion {

AdoptedChannel::AdoptedChannel(session::PacketSink& client, PickedSession picked)
    : m_client(client), m_picked(std::move(picked)) {}

void AdoptedChannel::open(Relay& relay) {
  m_relay = &relay;
  // RFC 4254 §6.1: a session channel carries no type-specific data.
  session::ChannelOpenMsg open{
      "session", m_picked.client_id, m_picked.client_window, m_picked.client_max_packet, {}};
  relay.adopt_client_channel(m_picked.local_id, std::move(open));
}

bool AdoptedChannel::take_client_message(ByteView msg) {
  // RFC 4254 §5: the messages about an open channel name it first (93 .. 100).
  if (msg.size() < 5 || msg[0] < kMsgChannelWindowAdjust || msg[0] > kMsgChannelFailure)
    return false;
  if (load_be32(msg.data() + 1) != m_picked.local_id) return false;
  if (m_failed) return true;  // the channel ended here; the relay never had it
  if (m_replayed) {
    if (!shimmed()) return false;
    if (m_waiting.size() >= kMaxHeldMessages)
      throw ProtocolError("too many messages for a channel whose target is not ready");
    m_waiting.emplace_back(msg.begin(), msg.end());
    pass_waiting();
    return true;
  }
  if (m_held.size() >= kMaxHeldMessages || m_held_bytes + msg.size() > kMaxHeldBytes)
    throw ProtocolError("too many messages for a channel whose target is not ready");
  m_held.emplace_back(msg.begin(), msg.end());
  m_held_bytes += msg.size();
  return true;
}

void AdoptedChannel::pump() {
  if (!m_confirmed || m_failed || m_relay == nullptr) return;
  if (m_replayed) return pass_waiting();
  Relay& relay = *m_relay;
  m_replayed = true;
  // No reply is wanted: the client had its replies from the picker. A refused shell still ends
  // the channel with the refusal on stderr and exit status 1 (the relay's refuse_command).
  for (const auto& [name, data] : m_picked.requests) {
    Writer w;
    w.u8(kMsgChannelRequest).u32(m_picked.local_id).string(name).boolean(false).raw(data);
    relay.from_client(w.buffer());
  }
  Writer shell;
  shell.u8(kMsgChannelRequest).u32(m_picked.local_id).string("shell").boolean(false);
  relay.from_client(shell.buffer());
  // The keys typed with or right after the choice come before anything the client sent later;
  // RFC 4254 §5.2: no packet over the target's maximum.
  const Bytes& keys = m_picked.typed_ahead;
  size_t most = std::max<size_t>(1, m_target_max_packet);
  std::deque<Bytes> typed;
  for (size_t at = 0; at < keys.size(); at += most) {
    size_t n = std::min(most, keys.size() - at);
    Writer w;
    w.u8(kMsgChannelData).u32(m_picked.local_id).string(ByteView(keys).subspan(at, n));
    typed.push_back(w.take());
  }
  m_held.insert(m_held.begin(), std::make_move_iterator(typed.begin()),
                std::make_move_iterator(typed.end()));
  m_picked.typed_ahead.clear();
  while (!m_held.empty()) {
    Bytes m = std::move(m_held.front());
    m_held.pop_front();
    if (shimmed())
      m_waiting.push_back(std::move(m));
    else
      relay.from_client(m);
  }
  m_held_bytes = 0;
  pass_waiting();
}

// The client's messages that waited, as far as the target's window takes their data.
void AdoptedChannel::pass_waiting() {
  while (!m_waiting.empty()) {
    const Bytes& m = m_waiting.front();
    uint8_t type = m[0];
    if (type == kMsgChannelData || type == kMsgChannelExtendedData) {
      size_t header =
          type == kMsgChannelData ? session::kDataHeaderSize : session::kExtendedDataHeaderSize;
      // A short message is the relay's to refuse; its length is no window's.
      uint64_t len = m.size() >= header ? m.size() - header : 0;
      if (len > m_target_window) return;
      m_target_window -= len;
    }
    Bytes msg = std::move(m_waiting.front());
    m_waiting.pop_front();
    m_relay->from_client(msg);
  }
}

void AdoptedChannel::send(ByteView payload) {
  bool ours = !m_confirmed && !m_failed && payload.size() >= 5 &&
              load_be32(payload.data() + 1) == m_picked.client_id;
  if (ours && payload[0] == kMsgChannelOpenConfirmation) {
    auto c = decode<session::ChannelOpenConfirmationMsg>(payload);
    m_confirmed = true;
    // The relay now lets the client send the target's window (RFC 4254 §5.2); the client still
    // has what the picker granted, and the keys typed ahead need the target's window too as if
    // the client sent them now: the difference is granted to the client, or owed.
    uint64_t holds = uint64_t(m_picked.window_to_bastion) + m_picked.typed_ahead.size();
    if (c.initial_window > holds)
      m_client.send(encode(
          session::ChannelWindowAdjustMsg{m_picked.client_id, uint32_t(c.initial_window - holds)}));
    m_debt = holds > c.initial_window ? holds - c.initial_window : 0;
    m_target_window = c.initial_window;
    m_target_max_packet = c.max_packet;
    return;
  }
  if (shimmed() && payload.size() == 9 && payload[0] == kMsgChannelWindowAdjust &&
      load_be32(payload.data() + 1) == m_picked.client_id) {
    // The target opens its window: the client already holds the debt's part of it.
    uint32_t add = load_be32(payload.data() + 5);
    m_target_window += add;
    uint64_t paid = std::min<uint64_t>(add, m_debt);
    m_debt -= paid;
    if (add > paid)
      m_client.send(
          encode(session::ChannelWindowAdjustMsg{m_picked.client_id, uint32_t(add - paid)}));
    return;
  }
  if (ours && payload[0] == kMsgChannelOpenFailure) {
    auto f = decode<session::ChannelOpenFailureMsg>(payload);
    return refused(f.description);
  }
  m_client.send(payload);
}

// The target would not open a session: the client's channel ends as a failed command does.
void AdoptedChannel::refused(const std::string& description) {
  m_failed = true;
  m_held.clear();
  uint32_t id = m_picked.client_id;
  std::string line = "postern: " + m_picked.target + " refused the session";
  if (!description.empty()) line += ": " + description.substr(0, 200);
  line += "\r\n";
  if (line.size() <= m_picked.client_window) {
    Writer w;
    w.u8(kMsgChannelExtendedData).u32(id).u32(session::kExtendedDataStderr).string(line);
    m_client.send(w.buffer());
  }
  Writer status;  // RFC 4254 §6.10
  status.u8(kMsgChannelRequest).u32(id).string("exit-status").boolean(false).u32(1);
  m_client.send(status.buffer());
  m_client.send(encode(session::ChannelEofMsg{id}));
  m_client.send(encode(session::ChannelCloseMsg{id}));
}

}  // namespace postern::bastion
