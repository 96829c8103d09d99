// The pty picker's session channel handed from jump mode to the relay (issue 13). The client
// opened it, asked for a pty and a shell and picked a target while the bastion had none; once the
// target is logged in, the channel is opened there as if the client had opened it now: the
// target's confirmation is kept from the client (which has its channel already), the requests
// the client made (pty-req with the size it has now, env, agent and X11 forwarding) and the shell
// are replayed in order, and what the client sent meanwhile follows them. From then on it is an
// ordinary relayed channel. No I/O: the relay's client sink is this class, over the real one.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "bastion/relay.h"
#include "common/bytes.h"
#include "session/packet_sink.h"

namespace postern::bastion {

// What the picker leaves behind for the relay.
struct PickedSession {
  std::string target_user, target;
  uint32_t local_id = 0;       // the bastion's number for the channel, as the client knows it
  uint32_t client_id = 0;      // the client's
  uint32_t client_window = 0;  // bytes the client still lets the bastion send
  uint32_t client_max_packet = 0;
  uint32_t window_to_bastion = 0;  // bytes the client may still send before an adjust
  // The client's requests before the shell, in order: name and request-specific data.
  std::vector<std::pair<std::string, Bytes>> requests;
};

class AdoptedChannel final : public session::PacketSink {
 public:
  // What the client may send for the channel before the replay, at most; beyond it the client
  // is breaking its window or flooding requests.
  static constexpr size_t kMaxHeldMessages = 1024;
  static constexpr size_t kMaxHeldBytes = 256 * 1024;

  AdoptedChannel(session::PacketSink& client, PickedSession picked);

  // Opens the channel on the target through the relay.
  void open(Relay& relay);
  // A client message: true when it was taken here (held until the replay, or dropped after the
  // target refused the channel); false: the relay's.
  bool take_client_message(ByteView msg);
  // After the target's messages: once it confirmed, the replay (requests, shell, held messages).
  void replay_when_confirmed(Relay& relay);
  bool replayed() const { return m_replayed; }

  // session::PacketSink, toward the client.
  void send(ByteView payload) override;
  bool can_send_direct() const override { return m_client.can_send_direct(); }
  MutableByteView begin_packet(size_t len) override { return m_client.begin_packet(len); }
  void commit_packet() override { m_client.commit_packet(); }
  void send_unimplemented() override { m_client.send_unimplemented(); }
  size_t queued_bytes() const override { return m_client.queued_bytes(); }

 private:
  void refused(const std::string& description);

  session::PacketSink& m_client;
  PickedSession m_picked;
  bool m_confirmed = false, m_replayed = false, m_failed = false;
  std::deque<Bytes> m_held;
  size_t m_held_bytes = 0;
};

}  // namespace postern::bastion
