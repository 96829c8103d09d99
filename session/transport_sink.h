// The PacketSink over the real transport.
#pragma once

#include "net/transport.h"
#include "session/packet_sink.h"

namespace postern::session {

class TransportSink final : public PacketSink {
 public:
  explicit TransportSink(net::Transport& transport) : m_t(transport) {}
  void send(ByteView payload) override { m_t.send(payload); }
  bool can_send_direct() const override { return m_t.can_send_direct(); }
  MutableByteView begin_packet(size_t payload_len) override {
    return m_t.begin_packet(payload_len);
  }
  void commit_packet() override { m_t.commit_packet(); }
  void send_unimplemented() override { m_t.send_unimplemented(); }
  size_t queued_bytes() const override { return m_t.output_backlog(); }
  void forget_secrets() override { m_t.forget_secrets(); }

 private:
  net::Transport& m_t;
};

}  // namespace postern::session
