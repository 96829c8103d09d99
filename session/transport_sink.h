// The PacketSink over the real transport.
#pragma once

#include "net/transport.h"
#include "session/packet_sink.h"
#include "session/tcp_rtt.h"

namespace postern::session {

class TransportSink final : public PacketSink {
 public:
  // `sock` is the connection's socket, asked for its round trip (-1: none).
  explicit TransportSink(net::Transport& transport, int sock = -1) : m_t(transport), m_sock(sock) {}
  void send(ByteView payload) override { m_t.send(payload); }
  bool can_send_direct() const override { return m_t.can_send_direct(); }
  MutableByteView begin_packet(size_t payload_len) override {
    return m_t.begin_packet(payload_len);
  }
  void commit_packet() override { m_t.commit_packet(); }
  void send_unimplemented() override { m_t.send_unimplemented(); }
  size_t queued_bytes() const override { return m_t.output_backlog(); }
  void forget_secrets() override { m_t.forget_secrets(); }
  uint32_t min_rtt_us() const override { return tcp_min_rtt_us(m_sock); }

 private:
  net::Transport& m_t;
  int m_sock;
};

}  // namespace postern::session
