// Where the connection protocol sends its messages. The real one is the transport
// (transport_sink.h); unit tests collect the payloads instead, so the channel layer runs
// without sockets (payloads in through Connection::handle_message, payloads out here).
#pragma once

#include <cstddef>

#include "common/bytes.h"

namespace postern::session {

class PacketSink {
 public:
  virtual ~PacketSink() = default;
  // Queues one message (the payload is copied).
  virtual void send(ByteView payload) = 0;
  // Zero-copy path for bulk data (net::Transport::begin_packet): room for exactly
  // `payload_len` bytes, valid until commit_packet().
  virtual bool can_send_direct() const = 0;
  virtual MutableByteView begin_packet(size_t payload_len) = 0;
  virtual void commit_packet() = 0;
  // SSH_MSG_UNIMPLEMENTED for the message just received (RFC 4253 §11.4).
  virtual void send_unimplemented() = 0;
  // Bytes queued for the peer and not yet written to the socket. The channel layer stops
  // reading from its children while this is high, so a slow client is pushed back onto the
  // children instead of growing our buffers.
  virtual size_t queued_bytes() const = 0;
  // The connection's smallest measured round trip in microseconds (0: unknown); it lets the
  // channels size their receive windows to the link (receive_window.h).
  virtual uint32_t min_rtt_us() const { return 0; }
  // Called only in a forked child that will never send (sftp_child.h): wipes the transport's
  // keys from this copy of the process. Nothing to wipe by default.
  virtual void forget_secrets() {}
};

}  // namespace postern::session
