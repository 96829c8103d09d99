// The pty picker's session channel handed from jump mode to the relay (issue 13). The client
// opened it, asked for a pty and a shell and picked a target while the bastion had none; once the
// target is logged in, the channel is opened there as if the client had opened it now: the
// target's confirmation is kept from the client (which has its channel already), the requests
// the client made (pty-req with the size it has now, env, agent and X11 forwarding) and the shell
// are replayed in order, and what the client sent meanwhile follows them. From then on it is an
// ordinary relayed channel. No I/O: the relay's client sink is this class, over the real one.
//
// Windows (RFC 4254 §5.2): the client may still send what the picker granted. A target that
// grants more at its confirmation: the client is granted the difference. One that grants less
// (OpenSSH's sshd confirms a session with 0 and opens it when the shell starts): the difference
// is a debt. The target's next adjustments pay it off instead of reaching the client, and the
// client's data waits here (at most the debt, a picker's window) until the target's window
// takes it; then the channel is the relay's alone again. Keys typed after the choice that the
// picker kept (typed_ahead) are sent first, in packets the target's maximum allows; the window
// they used counts as the client's for the sums above.
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
  // Keys the client sent after its choice while the picker still had the channel (in the
  // packet of the Enter, or before the picker's last screen went): the target's first data,
  // ahead of everything newer. Already counted off window_to_bastion, so at most the picker's
  // input window.
  Bytes typed_ahead;
};

class AdoptedChannel final : public session::PacketSink {
 public:
  // What the client may send for the channel before the replay, at most; beyond it the client
  // is breaking its window or flooding requests.
  static constexpr size_t kMaxHeldMessages = 1024;
  static constexpr size_t kMaxHeldBytes = 256 * 1024;

  AdoptedChannel(session::PacketSink& client, PickedSession picked);

  // Opens the channel on the target through the relay, which must outlive this.
  void open(Relay& relay);
  // A client message: true when it was taken here (held until the replay or while the window
  // debt lasts, or dropped after the target refused the channel); false: the relay's.
  bool take_client_message(ByteView msg);
  // After the target's messages: once it confirmed, the replay (requests, shell, held
  // messages); then what waited for the target's window.
  void pump();
  bool replayed() const { return m_replayed; }
  // The window the client holds beyond the target's, still to be paid off.
  uint64_t window_debt() const { return m_debt; }

  // session::PacketSink, toward the client.
  void send(ByteView payload) override;
  // While the debt lasts, window adjustments must pass send().
  bool can_send_direct() const override { return !shimmed() && m_client.can_send_direct(); }
  MutableByteView begin_packet(size_t len) override { return m_client.begin_packet(len); }
  void commit_packet() override { m_client.commit_packet(); }
  void send_unimplemented() override { m_client.send_unimplemented(); }
  size_t queued_bytes() const override { return m_client.queued_bytes(); }

 private:
  void refused(const std::string& description);
  bool shimmed() const { return m_debt != 0 || !m_waiting.empty(); }
  void pass_waiting();

  session::PacketSink& m_client;
  PickedSession m_picked;
  Relay* m_relay = nullptr;
  bool m_confirmed = false, m_replayed = false, m_failed = false;
  std::deque<Bytes> m_held;  // before the replay
  size_t m_held_bytes = 0;
  // While shimmed(): the target's window as the relay counts it, and the client's messages
  // waiting for it, in order.
  uint64_t m_debt = 0;
  uint64_t m_target_window = 0;
  uint32_t m_target_max_packet = 0;
  std::deque<Bytes> m_waiting;
};

}  // namespace postern::bastion
