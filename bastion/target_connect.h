// Direct mode's way in (BASTION.md "Processes"): sshd-bastion's key exchange and login with the
// target, within the connect_timeout deadline, using the credential the monitor named (RFC 4252
// §7): a certificate for a key made here, a stored key the monitor signs with, or the user's
// forwarded agent. For the agent, sshd-bastion opens an agent channel toward the client
// (agent_channel.h) and so reads the client meanwhile: the channel's messages are handled, every
// other message is held, in order and bounded, for the relay that follows.
#pragma once

#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "bastion/agent_channel.h"
#include "bastion/agent_target_login.h"
#include "bastion/bastion_loop.h"
#include "bastion/target_login.h"
#include "common/ssh_key.h"
#include "session/transport_sink.h"

namespace postern::bastion {

// The client failed (left, or broke the protocol) while the target was set up. `original` is
// what its transport threw, for the caller's catch boundary.
class ClientLost : public std::runtime_error {
 public:
  explicit ClientLost(std::exception_ptr e)
      : std::runtime_error("the client failed during the target's login"), original(e) {}
  std::exception_ptr original;
};

// The target's side, as run_direct has it once the monitor connected the socket.
struct TargetSide {
  ipc::Channel& monitor;
  const ipc::TargetOpenReply& reply;
  const std::string& name;  // as the user typed it, for the messages
  net::Transport& transport;
  int fd;
  // The monitor's line when it refused the target's host key ("" otherwise).
  const std::string& host_key_refusal;
};

class TargetConnector {
 public:
  // Held client messages beyond either limit stop the bastion reading the client until the
  // login ends (the deadline bounds the wait).
  static constexpr size_t kMaxHeldMessages = 64;
  static constexpr size_t kMaxHeldBytes = 256 * 1024;

  TargetConnector(TargetSide target, ClientConnection client);

  // "" once logged in, otherwise the one line for the user. Throws ClientLost.
  std::string log_in(uint64_t deadline_ms, uint32_t timeout_seconds);
  // After log_in() returned "": the target-auth event's detail ("accepted certificate",
  // "accepted agent ssh-ed25519 SHA256:...").
  const std::string& accepted() const { return m_accepted; }
  // The client's messages held during the login, oldest first, for the relay.
  std::deque<Bytes> take_held();
  // The agent channel, closing after the login; nullptr when the credential is not "agent".
  // The relay loop hands it the client's messages it owns() until its state is kClosed.
  AgentChannel* agent_channel() { return m_agent.get(); }

 private:
  bool login_done() const;
  std::string step();
  std::string outcome();
  void client_messages();
  bool held_full() const;

  TargetSide m_target;
  ClientConnection m_client;
  session::TransportSink m_client_sink;
  std::optional<PrivateKey> m_ephemeral;  // the "certificate" credential's key
  std::optional<TargetLogin> m_login;     // "certificate" and "key"
  std::unique_ptr<AgentChannel> m_agent;  // "agent"
  std::optional<AgentTargetLogin> m_agent_login;
  std::deque<Bytes> m_held;
  size_t m_held_bytes = 0;
  std::string m_accepted;
};

}  // namespace postern::bastion
