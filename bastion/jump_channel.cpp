#include "bastion/jump_channel.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/be_bytes.h"
#include "common/ssh_msg.h"
#include "common/wire.h"
#include "session/connection_messages.h"

namespace postern::bastion {

JumpChannel::JumpChannel(uint32_t local_id, uint32_t client_id, uint32_t client_window,
                         uint32_t client_max_packet, UniqueFd fd)
    : m_local_id(local_id),
      m_client_id(client_id),
      m_client_window(client_window),
      m_client_max_packet(client_max_packet),
      m_fd(std::move(fd)) {
  ::fcntl(m_fd.get(), F_SETFL, ::fcntl(m_fd.get(), F_GETFL) | O_NONBLOCK);
  // A packet's payload must fit the client's maximum with the data header (RFC 4254 §5.2).
  size_t chunk = std::min<size_t>(kMaxPacket, m_client_max_packet);
  m_read_buffer.resize(chunk > session::kDataHeaderSize ? chunk : 1);
}

Bytes JumpChannel::confirmation() const {
  return encode(session::ChannelOpenConfirmationMsg{m_client_id, m_local_id, kWindow, kMaxPacket});
}

void JumpChannel::on_client_data(ByteView data) {
  if (m_client_eof || m_close_received) throw ProtocolError("channel data after EOF");
  if (data.size() > m_receive_window) throw ProtocolError("channel data beyond the window");
  m_receive_window -= uint32_t(data.size());
  m_bytes_up += data.size();
  // After the socket failed the bytes have nowhere to go; the window still counts them.
  if (!m_socket_shut) m_to_socket.push(data);
}

void JumpChannel::on_client_window_adjust(uint32_t bytes) {
  if (uint64_t(m_client_window) + bytes > UINT32_MAX)
    throw ProtocolError("channel window beyond 2^32 - 1");  // RFC 4254 §5.2
  m_client_window += bytes;
}

void JumpChannel::on_client_eof() {
  m_client_eof = true;
}

void JumpChannel::on_client_close(session::PacketSink& client) {
  m_close_received = true;
  m_fd.reset();
  m_to_socket.clear();
  send_close(client);
}

short JumpChannel::poll_events(size_t client_backlog) const {
  if (!m_fd.valid()) return 0;
  short ev = 0;
  if (!m_socket_eof && !m_close_sent && m_client_window > 0 && client_backlog < kClientBacklogLimit)
    ev |= POLLIN;
  if (!m_to_socket.empty()) ev |= POLLOUT;
  return ev;
}

void JumpChannel::on_readable(session::PacketSink& client) {
  if (!m_fd.valid() || m_socket_eof || m_close_sent) return;
  size_t want = std::min<size_t>({m_client_window, m_read_buffer.size(),
                                  m_client_max_packet > session::kDataHeaderSize
                                      ? m_client_max_packet - session::kDataHeaderSize
                                      : 1});
  if (want == 0) return;
  ssize_t n = ::read(m_fd.get(), m_read_buffer.data(), want);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    // EOF or a reset: the target's side of the stream ended (RFC 4254 §5.3).
    m_socket_eof = true;
    if (n < 0) {
      m_socket_shut = true;
      m_to_socket.clear();
    }
    send_eof(client);
    maybe_finish(client);
    return;
  }
  size_t len = size_t(n);
  size_t total = session::kDataHeaderSize + len;
  auto fill = [&](uint8_t* p) {
    p[0] = kMsgChannelData;
    store_be32(p + 1, m_client_id);
    store_be32(p + 5, uint32_t(len));
    std::memcpy(p + 9, m_read_buffer.data(), len);
  };
  if (client.can_send_direct()) {
    fill(client.begin_packet(total).data());
    client.commit_packet();
  } else {
    Bytes msg(total);
    fill(msg.data());
    client.send(msg);
  }
  m_client_window -= uint32_t(len);
  m_bytes_down += len;
}

void JumpChannel::on_writable(session::PacketSink& client) {
  while (m_fd.valid() && !m_to_socket.empty()) {
    ByteView out = m_to_socket.front();
    ssize_t n = ::write(m_fd.get(), out.data(), out.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n < 0) {
      // The target's side went away: what the client still sends is dropped, the channel ends.
      m_to_socket.clear();
      m_socket_shut = true;
      m_socket_eof = true;
      send_eof(client);
      send_close(client);
      return;
    }
    m_to_socket.pop(size_t(n));
    m_consumed += uint32_t(n);
  }
  // Re-open the window in eighths, as the bytes leave: never more queued than advertised, and the
  // sender never waits for half a window to drain first (a half-window threshold halved -J
  // uploads).
  if (m_consumed >= kWindow / 8 && !m_client_eof && !m_close_sent) {
    client.send(encode(session::ChannelWindowAdjustMsg{m_client_id, m_consumed}));
    m_receive_window += m_consumed;
    m_consumed = 0;
  }
  maybe_finish(client);
}

void JumpChannel::send_eof(session::PacketSink& client) {
  if (m_eof_sent || m_close_sent) return;
  m_eof_sent = true;
  client.send(encode(session::ChannelEofMsg{m_client_id}));
}

void JumpChannel::send_close(session::PacketSink& client) {
  if (m_close_sent) return;
  m_close_sent = true;
  client.send(encode(session::ChannelCloseMsg{m_client_id}));
}

// The client's EOF is passed on once its bytes are written; both directions done ends the
// channel.
void JumpChannel::maybe_finish(session::PacketSink& client) {
  if (m_client_eof && m_to_socket.empty() && !m_socket_shut && m_fd.valid()) {
    ::shutdown(m_fd.get(), SHUT_WR);
    m_socket_shut = true;
  }
  if (m_socket_eof && (m_socket_shut || !m_fd.valid())) send_close(client);
}

bool route_stream_channel_message(JumpChannel& j, uint8_t type, Reader& r, ByteView msg,
                                  session::PacketSink& client) {
  using session::ChannelFailureMsg;
  using session::ChannelRequestMsg;
  switch (type) {
    case kMsgChannelData: {
      ByteView data = r.string(UINT32_MAX);
      r.expect_done("channel data");
      j.on_client_data(data);
      return false;
    }
    case kMsgChannelExtendedData:
      return false;
    case kMsgChannelWindowAdjust:
      j.on_client_window_adjust(r.u32());
      return false;
    case kMsgChannelEof:
      j.on_client_eof();
      return false;
    case kMsgChannelClose:
      j.on_client_close(client);
      return true;
    case kMsgChannelRequest: {
      auto req = decode<ChannelRequestMsg>(msg);
      if (req.want_reply) client.send(encode(ChannelFailureMsg{j.client_id()}));
      return false;
    }
    default:
      throw ProtocolError("unexpected channel reply");
  }
}

}  // namespace postern::bastion
