// ClientAliveInterval and ClientAliveCountMax (sshd_config(5)): when the client has sent nothing
// for the interval, ask it for a reply through the encrypted channel; a client that leaves
// ClientAliveCountMax of these unanswered is gone, and the connection ends.
#include "common/log.h"
#include "session/connection.h"

namespace postern::session {

bool Connection::client_alive_check() {
  if (m_alive_unanswered >= m_options.client_alive_count_max) {
    log_info("Timeout, client not responding from user %s %s port %d", m_user.name.c_str(),
             m_peer.remote_addr.c_str(), m_peer.remote_port);
    return false;
  }
  ++m_alive_unanswered;
  // RFC 4254 §4: an unknown global request with want_reply gets REQUEST_FAILURE, which is all
  // the answer needed.
  Writer w;
  w.u8(kMsgGlobalRequest).string("keepalive@openssh.com").boolean(true);
  m_out.send(w.buffer());
  return true;
}

}  // namespace postern::session
