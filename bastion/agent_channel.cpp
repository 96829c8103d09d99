#include "bastion/agent_channel.h"

#include <algorithm>

#include "common/be_bytes.h"
#include "common/ssh_msg.h"
#include "common/wire.h"
#include "session/connection_messages.h"

namespace postern::bastion {

using session::ChannelCloseMsg;
using session::ChannelFailureMsg;
using session::ChannelOpenConfirmationMsg;
using session::ChannelOpenFailureMsg;
using session::ChannelOpenMsg;
using session::ChannelRequestMsg;
using session::ChannelWindowAdjustMsg;

AgentChannel::AgentChannel(session::PacketSink& client) : m_client(client) {
  m_window_from_client = kWindow;
  m_client.send(encode(ChannelOpenMsg{"auth-agent@openssh.com", kId, kWindow, kMaxPacket, {}}));
}

bool AgentChannel::owns(ByteView msg) const {
  if (m_state == State::kRefused || m_state == State::kClosed) return false;
  // RFC 4254 §5: every channel message after CHANNEL_OPEN starts with the recipient channel.
  if (msg.size() < 5 || msg[0] < kMsgChannelOpenConfirmation || msg[0] > kMsgChannelFailure)
    return false;
  return load_be32(msg.data() + 1) == kId;
}

void AgentChannel::handle(ByteView msg) {
  uint8_t type = msg.empty() ? 0 : msg[0];
  bool opening = m_state == State::kOpening;
  if (opening != (type == kMsgChannelOpenConfirmation || type == kMsgChannelOpenFailure))
    throw ProtocolError("unexpected message " + std::to_string(type) + " for the agent channel");
  switch (type) {
    case kMsgChannelOpenConfirmation: {
      auto c = decode<ChannelOpenConfirmationMsg>(msg);
      m_client_id = c.sender_channel;
      m_window_to_client = c.initial_window;
      m_client_max_packet = c.max_packet;
      m_state = State::kOpen;
      return flush();
    }
    case kMsgChannelOpenFailure: {
      // OpenSSH's client refuses it when the user did not enable agent forwarding.
      auto f = decode<ChannelOpenFailureMsg>(msg);
      m_state = State::kRefused;
      m_failure = "the client refused the agent channel (" + f.description + ")";
      return;
    }
    case kMsgChannelWindowAdjust: {
      auto a = decode<ChannelWindowAdjustMsg>(msg);
      // RFC 4254 §5.2: a window never exceeds 2^32 - 1 bytes.
      m_window_to_client += a.bytes_to_add;
      if (m_window_to_client > UINT32_MAX) throw ProtocolError("agent channel window overflow");
      return flush();
    }
    case kMsgChannelData:
    case kMsgChannelExtendedData: {
      Reader r(msg);
      r.u8();
      r.u32();
      if (type == kMsgChannelExtendedData) r.u32();
      ByteView data = r.string(kMaxPacket);
      r.expect_done("channel data");
      if (data.size() > m_window_from_client)
        throw ProtocolError("the client overran the agent channel's window");
      m_window_from_client -= data.size();
      // Extended data has no meaning on an agent channel; late data after a failure or our
      // CLOSE is dropped.
      if (type == kMsgChannelData && m_state == State::kOpen && m_failure.empty() &&
          !m_answers.received(data)) {
        m_failure = m_answers.error();
        close();
      }
      return grant_window();
    }
    case kMsgChannelEof:
      m_eof_from_client = true;
      if (m_state == State::kOpen && m_failure.empty()) m_failure = "the agent closed the channel";
      return;
    case kMsgChannelClose:
      if (m_state == State::kOpen) {
        if (m_failure.empty()) m_failure = "the agent closed the channel";
        m_client.send(encode(ChannelCloseMsg{m_client_id}));
      }
      m_state = State::kClosed;
      return;
    case kMsgChannelRequest: {
      // RFC 4254 §5.4: nothing is defined for this channel; refuse what wants an answer.
      auto req = decode<ChannelRequestMsg>(msg);
      if (req.want_reply && m_state == State::kOpen)
        m_client.send(encode(ChannelFailureMsg{m_client_id}));
      return;
    }
    default:  // CHANNEL_SUCCESS / FAILURE: the bastion made no request on it
      throw ProtocolError("unexpected message " + std::to_string(type) + " for the agent channel");
  }
}

void AgentChannel::send_request(ByteView frame) {
  m_out.insert(m_out.end(), frame.begin(), frame.end());
  flush();
}

std::optional<Bytes> AgentChannel::next_answer() {
  auto answer = m_answers.next_frame();
  if (!m_answers.error().empty() && m_failure.empty()) {
    m_failure = m_answers.error();
    close();
  }
  grant_window();
  return answer;
}

void AgentChannel::close() {
  if (m_state == State::kOpen) {
    m_client.send(encode(ChannelCloseMsg{m_client_id}));
    m_state = State::kClosing;
  } else if (m_state == State::kOpening) {
    // Its confirmation (or refusal) is still to come; closing now would leave the client's
    // answer addressed to a channel that no longer exists, so the open finishes first.
    m_close_when_open = true;
  }
}

// RFC 4254 §5.2: no more than the window, no packet over the client's maximum.
void AgentChannel::flush() {
  if (m_state == State::kOpen && m_close_when_open) {
    m_out.clear();
    return close();
  }
  while (m_state == State::kOpen && !m_out.empty() && m_window_to_client > 0 &&
         m_client_max_packet > 0) {
    size_t n = std::min<uint64_t>({m_out.size(), m_window_to_client, m_client_max_packet});
    Writer w;
    w.u8(kMsgChannelData).u32(m_client_id).string(ByteView(m_out.data(), n));
    m_client.send(w.buffer());
    m_out.erase(m_out.begin(), m_out.begin() + ptrdiff_t(n));
    m_window_to_client -= n;
  }
}

// Half the window used: top it up again, unless the largest answer (with its length) is
// already held; short of that the client must be able to finish it.
void AgentChannel::grant_window() {
  if (m_state != State::kOpen || m_eof_from_client || m_window_from_client >= kWindow / 2 ||
      m_answers.buffered() >= kMaxAgentFrame + 4)
    return;
  uint32_t add = uint32_t(kWindow - m_window_from_client);
  m_client.send(encode(ChannelWindowAdjustMsg{m_client_id, add}));
  m_window_from_client = kWindow;
}

}  // namespace postern::bastion
