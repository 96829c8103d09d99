// The "auth-agent@openssh.com" channel sshd-bastion opens toward the client for the role
// credential "agent" (OpenSSH PROTOCOL "agent forwarding"; RFC 4254 §5): the client connects it
// to the user's agent when forwarding is on (ssh -A) and refuses it otherwise. Free of I/O:
// messages out through the client's PacketSink, the client's messages in through handle(), so
// tests drive it with fabricated messages. Both directions are bounded: the bastion sends one
// request at a time within the client's window, and grants the client more window only while
// less than one largest answer (kMaxAgentFrame and its length) is held.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "bastion/relay.h"
#include "common/agent_protocol.h"
#include "common/bytes.h"
#include "session/packet_sink.h"

namespace postern::bastion {

class AgentChannel {
 public:
  // The bastion's number for the channel. Relay::allocate() hands out 0..kMaxChannels-1 only,
  // so the relay that takes over the client afterwards never gives a channel this number.
  static constexpr uint32_t kId = uint32_t(Relay::kMaxChannels);
  static constexpr uint32_t kWindow = 64 * 1024;
  static constexpr uint32_t kMaxPacket = 32 * 1024;

  enum class State {
    kOpening,  // CHANNEL_OPEN sent
    kOpen,
    kRefused,  // the client answered OPEN_FAILURE: no forwarded agent
    kClosing,  // our CLOSE sent, the client's not yet seen
    kClosed,   // both CLOSEs exchanged: the number is free of messages
  };

  // Sends the CHANNEL_OPEN (RFC 4254 §5.1; the type carries no data).
  explicit AgentChannel(session::PacketSink& client);

  // Whether the client's message `msg` belongs to this channel: a channel message (RFC 4254 §5)
  // addressed to kId while the channel exists.
  bool owns(ByteView msg) const;
  // One message for which owns() is true. Throws ProtocolError for what RFC 4254 forbids (data
  // beyond the window, a second confirmation ...).
  void handle(ByteView msg);

  // Queues one framed agent request; it goes out once the channel is open, within the client's
  // window and packet size.
  void send_request(ByteView frame);
  // The next whole answer from the agent, or nullopt.
  std::optional<Bytes> next_answer();
  // Sends CLOSE (RFC 4254 §5.3) unless already sent; the channel ends at the client's CLOSE.
  void close();

  State state() const { return m_state; }
  // Why the agent is no longer usable ("" while it is): refused, closed by the client, broken
  // framing. The login reports it.
  const std::string& failure() const { return m_failure; }

 private:
  void flush();
  void grant_window();

  session::PacketSink& m_client;
  State m_state = State::kOpening;
  uint32_t m_client_id = 0;         // the client's number, from its confirmation
  uint64_t m_window_to_client = 0;  // bytes we may still send
  uint32_t m_client_max_packet = 0;
  uint64_t m_window_from_client = 0;  // bytes the client may still send us
  bool m_eof_from_client = false;
  bool m_close_when_open = false;  // close() came before the client's confirmation
  Bytes m_out;                     // request bytes not yet sent
  AgentFrameReader m_answers;
  std::string m_failure;
};

}  // namespace postern::bastion
