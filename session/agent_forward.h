// Agent forwarding (OpenSSH PROTOCOL.agent): after auth-agent-req@openssh.com the connection
// listens on a Unix socket in a private directory (mkdtemp, mode 0700, owned by the user since
// the session process runs as the user), sessions started afterwards get SSH_AUTH_SOCK, and
// every connection to the socket becomes an auth-agent@openssh.com channel to the client.
#pragma once

#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace postern::session {

class AgentForwarder {
 public:
  AgentForwarder() = default;
  ~AgentForwarder();
  AgentForwarder(const AgentForwarder&) = delete;
  AgentForwarder& operator=(const AgentForwarder&) = delete;

  // Creates the directory and the socket the first time; later calls reuse them.
  Result<void> enable();
  bool enabled() const { return m_fd.valid(); }
  int listen_fd() const { return m_fd.get(); }
  const std::string& socket_path() const { return m_socket; }

 private:
  UniqueFd m_fd;
  std::string m_dir;
  std::string m_socket;
};

}  // namespace postern::session
