// One jump channel (ssh -J / -W, BASTION.md "How people connect"): a client's "direct-tcpip"
// channel (RFC 4254 §7.2) relayed as raw bytes to the TCP connection the monitor opened. The
// bytes are the client's end-to-end encrypted session with the target: routed and counted,
// never read.
//
// Flow control is real both ways: the client may send no more than the window advertised here,
// which is the most ever queued for the socket (the window is re-opened as the socket takes the
// bytes); the socket is read only while the client's window and the client's output backlog
// allow.
#pragma once

#include <cstdint>

#include "common/bytes.h"
#include "common/unique_fd.h"
#include "common/wire.h"
#include "session/byte_queue.h"
#include "session/packet_sink.h"

namespace postern::bastion {

class JumpChannel {
 public:
  static constexpr uint32_t kWindow = 1024 * 1024;  // 64 channels stay well inside RLIMIT_DATA
  static constexpr uint32_t kMaxPacket = 32 * 1024;

  // `local_id` is the bastion's number for the channel; the client's number, initial window
  // and maximum packet come from its CHANNEL_OPEN. `fd` is made non-blocking.
  JumpChannel(uint32_t local_id, uint32_t client_id, uint32_t client_window,
              uint32_t client_max_packet, UniqueFd fd);

  // CHANNEL_OPEN_CONFIRMATION for the client.
  Bytes confirmation() const;

  // The client's messages for this channel. Data beyond the advertised window is the client's
  // protocol error.
  void on_client_data(ByteView data);
  void on_client_window_adjust(uint32_t bytes);
  void on_client_eof();
  void on_client_close(session::PacketSink& client);

  // poll() events wanted on fd(), given how much is already waiting to go to the client.
  short poll_events(size_t client_backlog) const;
  void on_readable(session::PacketSink& client);
  void on_writable(session::PacketSink& client);

  int fd() const { return m_fd.get(); }
  uint32_t client_id() const { return m_client_id; }
  // Both CLOSEs went: the channel can be forgotten.
  bool finished() const { return m_close_sent && m_close_received; }
  uint64_t bytes_up() const { return m_bytes_up; }
  uint64_t bytes_down() const { return m_bytes_down; }
  uint32_t client_window() const { return m_client_window; }
  size_t queued_for_socket() const { return m_to_socket.size(); }

  // Above this backlog toward the client the socket is not read (back-pressure).
  static constexpr size_t kClientBacklogLimit = 1024 * 1024;

 private:
  void send_eof(session::PacketSink& client);
  void send_close(session::PacketSink& client);
  void maybe_finish(session::PacketSink& client);

  uint32_t m_local_id;
  uint32_t m_client_id;
  uint32_t m_client_window;  // bytes we may still send to the client
  uint32_t m_client_max_packet;
  uint32_t m_receive_window = kWindow;  // bytes the client may still send us
  uint32_t m_consumed = 0;              // written to the socket, not yet given back
  UniqueFd m_fd;
  session::ByteQueue m_to_socket;
  Bytes m_read_buffer;  // one packet's worth, reused
  bool m_client_eof = false;
  bool m_socket_shut = false;  // our write side of the socket shut down
  bool m_socket_eof = false;   // the socket's read side ended
  bool m_eof_sent = false;
  bool m_close_sent = false;
  bool m_close_received = false;
  uint64_t m_bytes_up = 0, m_bytes_down = 0;
};

// One connection-protocol message for an open TCP-stream channel (direct-tcpip or
// forwarded-tcpip), after its type and recipient id were read from `r`: data, window, EOF and
// close as RFC 4254 §5 has them; extended data means nothing on a stream (§5.2) and every
// request is refused. Returns true when it was the channel's close.
bool route_stream_channel_message(JumpChannel& j, uint8_t type, Reader& r, ByteView msg,
                                  session::PacketSink& client);

}  // namespace postern::bastion
