// The bastion's login to a target with the user's forwarded agent (role credential "agent"):
// RFC 4252 §7 publickey with each key the agent lists, first a query without signature, then on
// PK_OK a request the agent signs; the first success ends it. Free of I/O like TargetLogin:
// the target's messages in through handle_target(), the agent's answers through handle_agent(),
// agent requests out through a callback (the agent channel, agent_channel.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/agent_protocol.h"
#include "common/bytes.h"
#include "net/transport.h"

namespace postern::bastion {

// How an agent key is used in a publickey request: the request's algorithm, the algorithm its
// signature must carry, and the agent's sign flags.
struct AgentKeyAlgorithm {
  std::string algorithm;            // e.g. "rsa-sha2-512-cert-v01@openssh.com"
  std::string signature_algorithm;  // e.g. "rsa-sha2-512"
  uint32_t flags = 0;               // kAgentRsaSha2_512 for RSA
};

// nullopt for key types the bastion cannot name a signature algorithm for (DSA, unknown ones),
// and for those the target's server-sig-algs (RFC 8308 §3.1) leaves out, when it sent one.
// RSA keys sign with SHA-512, or SHA-256 when the target lists only that (RFC 8332).
std::optional<AgentKeyAlgorithm> agent_key_algorithm(
    ByteView key_blob, const std::optional<std::vector<std::string>>& server_sig_algs);

class AgentTargetLogin {
 public:
  // Keys tried at most: each costs the target a publickey attempt (its MaxAuthTries).
  static constexpr size_t kMaxKeysTried = 8;

  enum class State { kWorking, kSucceeded, kFailed };
  enum class Failure {
    kNone,
    kEveryKeyRefused,  // the agent worked; the target took none of its keys
    kAgent,            // the agent could not be used (it refused to list keys, broke framing)
  };

  // Asks the agent for its keys at once, while the target's key exchange may still run.
  AgentTargetLogin(net::Transport& target, std::string user,
                   std::function<void(ByteView frame)> to_agent);

  // Call after the transport took input: sends the service request once the first key
  // exchange is done.
  void progress();
  // One message from the target. Throws ProtocolError on anything RFC 4252 does not allow here.
  void handle_target(ByteView msg);
  // One whole answer from the agent (a frame without its length).
  void handle_agent(ByteView answer);

  State state() const { return m_state; }
  bool done() const { return m_state != State::kWorking; }
  // An agent request is outstanding: a failed agent now means the login cannot go on.
  bool waiting_for_agent() const { return m_waiting_for_agent; }
  Failure failure_kind() const { return m_failure_kind; }
  // kFailed: the detail for the user's line and the audit ("" when there is nothing to add).
  const std::string& failure() const { return m_failure; }
  // kSucceeded: the key that logged in, "ssh-ed25519 SHA256:..." for the audit.
  const std::string& accepted_key() const { return m_accepted; }

 private:
  enum class Step { kStarting, kQuery, kSigning, kSigned };

  void try_next_key();
  void fail(Failure kind, std::string detail);
  Bytes request_body(bool with_signature) const;

  net::Transport& m_target;
  std::string m_user;
  std::function<void(ByteView)> m_to_agent;
  State m_state = State::kWorking;
  Step m_step = Step::kStarting;
  bool m_service_requested = false;
  bool m_service_accepted = false;
  bool m_waiting_for_agent = false;
  std::optional<std::vector<AgentIdentity>> m_keys;
  size_t m_next_key = 0;
  size_t m_keys_tried = 0;
  Bytes m_key_blob;  // the key being tried
  AgentKeyAlgorithm m_algorithm;
  std::string m_last_note;  // why the last key failed on our side, for the final detail
  Failure m_failure_kind = Failure::kNone;
  std::string m_failure;
  std::string m_accepted;
};

}  // namespace postern::bastion
