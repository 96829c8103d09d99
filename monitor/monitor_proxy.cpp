// The proxy front door's request to the monitor (../shared/BASTION.md "Processes"): on a
// proxy_listen connection sshd-net reads the proxy request and sends the target it names
// (PROXY_TARGET, common/ipc_proxy_messages.h) before anything else. That target is untrusted
// input: checked here again, kept in the bastion session, and decided with the policy only after
// authentication (monitor/bastion_postauth.cpp), like a route typed in a user name.
#include <string>

#include "bastion/proxy_request.h"
#include "common/ipc_proxy_messages.h"
#include "common/log.h"
#include "monitor/bastion_session.h"
#include "monitor/monitor.h"

namespace postern::monitor {

using namespace ipc;

Phase Monitor::on_proxy_target(Channel&, Message& m) {
  auto req = ipc::decode<ProxyTarget>(m.data.view());
  // Only on a proxy front door connection, once, before the key exchange has begun.
  if (m_bastion == nullptr || !m_bastion->proxy_door())
    throw ProtocolError("monitor: PROXY_TARGET on a connection that is no proxy front door");
  if (m_bastion->has_proxy_target() || !m_session_id.empty())
    throw ProtocolError("monitor: PROXY_TARGET again or after the key exchange");
  if (req.kind < uint32_t(bastion::ProxyKind::kHttpConnect) ||
      req.kind > uint32_t(bastion::ProxyKind::kSocks5))
    throw ProtocolError("monitor: PROXY_TARGET of an unknown kind");
  // What the parser hands on, and nothing else (bastion/proxy_request.h).
  if (!bastion::is_proxy_host(req.host)) throw ProtocolError("monitor: PROXY_TARGET host");
  if (req.port == 0 || req.port > 65535) throw ProtocolError("monitor: PROXY_TARGET port");
  std::string door(bastion::proxy_kind_name(bastion::ProxyKind(req.kind)));
  log_verbose("Proxy front door (%s): %s port %d asks for %s port %u", door.c_str(),
              m_peer.address.c_str(), m_peer.port, req.host.c_str(), unsigned(req.port));
  m_bastion->set_proxy_target(door, req.host, int(req.port));
  return m_phase;
}

}  // namespace postern::monitor
