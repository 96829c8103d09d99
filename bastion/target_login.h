// The bastion's login to a target (RFC 4252): after the key exchange, the "ssh-userauth"
// service and one publickey attempt with a signature (§7), using the credential the monitor
// chose. Free of I/O: it sends through the target's transport and takes the messages the
// transport delivers, so a test runs it against a server transport in memory.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/result.h"
#include "net/transport.h"

namespace postern::bastion {

// What the bastion logs in with: the algorithm and key (or certificate) blob of the publickey
// request, and who signs. For "certificate" an ephemeral key of this process signs; for "key"
// the monitor does.
struct TargetCredential {
  std::string method;     // "certificate" | "key", for the messages and the audit
  std::string algorithm;  // e.g. "ssh-ed25519-cert-v01@openssh.com"
  Bytes key_blob;
  std::function<Result<Bytes>(std::string_view algorithm, ByteView data)> sign;
};

class TargetLogin {
 public:
  enum class State { kKeyExchange, kService, kAuth, kSucceeded, kFailed };

  TargetLogin(net::Transport& target, std::string user, TargetCredential credential);

  // Call after the transport took input: sends the service request once the first key
  // exchange is done.
  void progress();
  // One message from the target while logging in. Throws ProtocolError on anything the
  // userauth protocol does not allow here.
  void handle(ByteView msg);

  State state() const { return m_state; }
  bool done() const { return m_state == State::kSucceeded || m_state == State::kFailed; }
  // kFailed: why, for the user ("refused the certificate ...") and the audit.
  const std::string& failure() const { return m_failure; }

 private:
  void send_publickey();

  net::Transport& m_target;
  std::string m_user;
  TargetCredential m_credential;
  State m_state = State::kKeyExchange;
  std::string m_failure;
};

}  // namespace postern::bastion
