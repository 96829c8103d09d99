// EXTENDER_LISTEN (common/ipc_extender_messages.h): an extender's connection asks for its socket
// when its `ssh -R 0` asks for the dynamic reverse forward. Only on an extender's connection and
// once: the monitor publishes the root-only socket (extender_socket.h), which replaces an older
// connection of the same extender, audits extender_connect and passes the listening descriptor.
#include <string>

#include "common/ipc_extender_messages.h"
#include "common/log.h"
#include "monitor/bastion_session.h"
#include "monitor/monitor.h"

namespace postern::monitor {

using namespace ipc;

Phase Monitor::on_extender_listen(Channel& ch, Message& m) {
  auto req = ipc::decode<ExtenderListenRequest>(m.data.view());
  BastionSession& b = bastion();
  const bastion::Extender* extender = b.extender();
  if (extender == nullptr || b.published_extender() || req.address.size() > 255 || req.port > 65535)
    throw ProtocolError("monitor: EXTENDER_LISTEN on no extender's connection, or twice");
  bastion::AuditEvent ev;
  ev.event = "extender_connect";
  ev.target = extender->name;
  ev.detail = "tcpip-forward " + req.address + " port " + std::to_string(req.port);
  ExtenderListenReply reply;
  auto published = publish_extender_socket(b.policy().bastion.extender_sockets, extender->name,
                                           b.relay_pid(), b.id());
  if (!published) {
    ev.decision = "deny";
    ev.reason = published.error().message;
    b.audit(ev);
    reply.message = "the bastion cannot publish extender " + extender->name;
    ch.send(reply);
    return Phase::kBastion;
  }
  auto& [fd, where] = *published;
  ev.decision = "allow";
  ev.reason =
      where.replaced_session.empty()
          ? "connected"
          : "connected; replaces the older connection (session " + where.replaced_session + ")";
  ev.detail += "; socket " + where.socket_path;
  if (!b.audit(ev)) {
    withdraw_extender_socket(where);
    reply.message = "the bastion cannot write its audit log";
    ch.send(reply);
    return Phase::kBastion;
  }
  b.published_extender() = where;
  log_info("extender %s connected from %s port %d", extender->name.c_str(),
           b.peer().address.c_str(), b.peer().port);
  reply.allowed = true;
  int raw = fd.get();
  ch.send(reply, std::span<const int>(&raw, 1));
  return Phase::kBastion;
}

}  // namespace postern::monitor
