// The monitor's PASSWORD request: a "password" userauth request (RFC 4252 §8), checked through
// PAM or crypt(3) by the backend (monitor/auth_password.h), which also makes an invalid user
// cost what a wrong password costs.
#include <string>

#include "common/ipc_messages.h"
#include "common/log.h"
#include "monitor/monitor.h"

namespace postern::monitor {

using namespace ipc;

Phase Monitor::on_password(Channel& ch, Message& m) {
  auto req = ipc::decode<PasswordRequest>(m.data.view());
  if (req.password.size() > 1024) throw ProtocolError("monitor: password too long");
  AuthOutcome reply;
  Phase next;
  reply.ok = m_service == "ssh-connection" && m_methods.may_try("password") &&
             m_backend.password_ok(m_user_name, m_user ? &*m_user : nullptr, req.password,
                                   m_effective, m_peer);
  if (reply.ok) {
    next = method_succeeded("password", reply);
    if (!reply.partial)
      log_info("Accepted password for %s from %s port %d ssh2", m_user_name.c_str(),
               m_peer.address.c_str(), m_peer.port);
    // What the account stage said (an expired password), shown before success as sshd does.
    if (m_pam != nullptr) reply.banner = m_pam->take_messages();
  } else {
    next = method_failed(reply);
  }
  ch.send(reply);
  return next;
}

}  // namespace postern::monitor
