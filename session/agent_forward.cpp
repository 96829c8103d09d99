#include "session/agent_forward.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "session/forward_listener.h"

namespace postern::session {

AgentForwarder::~AgentForwarder() {
  // The socket and its directory go with the connection, as the agent is no longer reachable.
  if (!m_socket.empty()) ::unlink(m_socket.c_str());
  if (!m_dir.empty()) ::rmdir(m_dir.c_str());
}

Result<void> AgentForwarder::enable() {
  if (m_fd) return {};
  std::string tmpl = "/tmp/ssh-XXXXXXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  // mkdtemp creates the directory with mode 0700 (the umask can only remove bits).
  if (::mkdtemp(buf.data()) == nullptr)
    return Unexpected(std::string("mkdtemp: ") + strerror(errno));
  m_dir = buf.data();
  std::string path = m_dir + "/agent." + std::to_string(::getpid());
  auto l = listen_unix(path, 0177, false);
  if (!l) {
    ::rmdir(m_dir.c_str());
    m_dir.clear();
    return Unexpected(l.error());
  }
  m_socket = path;
  m_fd = std::move(l->fds.front());
  return {};
}

}  // namespace postern::session
