// sshd -B: the full-screen target picker's requests (issue 13; common/ipc_picker_messages.h). A
// user logged in without a route and without the keyboard-interactive picker (monitor_picker.cpp)
// and asked for a pty and a shell: sshd-bastion asks for the list of the user's targets, draws
// it, and sends back the choice. The list is what the policy grants, nothing more; the choice is
// decided again here (the session process is untrusted) and audited like the keyboard-interactive
// pick, at login.
#include <string>

#include "bastion/picker.h"
#include "bastion/route.h"
#include "common/ipc_picker_messages.h"
#include "common/log.h"
#include "common/protocol_error.h"
#include "monitor/bastion_session.h"
#include "monitor/monitor.h"

namespace postern::monitor {

using namespace ipc;

namespace {

constexpr size_t kMaxTargetText = 255;
// The reply stays well inside one ipc message (kMaxMessageSize) and its list bound.
constexpr size_t kMaxListBytes = 96 * 1024;
constexpr size_t kMaxListEntries = kMaxListItems;

bool listed(const std::vector<bastion::PickerEntry>& entries, const std::string& user,
            const std::string& target) {
  if (user == "*") return false;  // a "*" grant names no account to log in as
  for (const auto& e : entries) {
    if (e.target != target) continue;
    if (e.target_user == user) return true;
    // A "*" grant: any account the route syntax takes (bastion/route.cpp).
    if (e.target_user == "*" && !user.empty() && user != "*" && user.find('%') == std::string::npos)
      return true;
  }
  return false;
}

}  // namespace

Phase Monitor::on_picker_list(Channel& ch, Message& m) {
  ipc::decode<PickerListRequest>(m.data.view());
  BastionSession& b = bastion();
  if (b.route()) throw ProtocolError("monitor: PICKER_LIST for a login that has its route");
  PickerListReply reply;
  size_t bytes = 0;
  for (const auto& e : bastion::picker_entries(b.policy(), b.subject())) {
    std::string line = bastion::picker_line(e);
    bytes += e.target_user.size() + e.target.size() + line.size() + 12;
    if (reply.targets.size() >= kMaxListEntries || bytes > kMaxListBytes) {
      reply.truncated = true;
      break;
    }
    if (reply.example.empty())
      reply.example =
          (e.target_user == "*" ? std::string("ACCOUNT") : e.target_user) + "%" + e.target;
    reply.target_users.push_back(e.target_user);
    reply.targets.push_back(e.target);
    reply.lines.push_back(std::move(line));
  }
  ch.send(reply);
  return Phase::kBastion;
}

Phase Monitor::on_picker_choose(Channel& ch, Message& m) {
  auto req = ipc::decode<PickerChooseRequest>(m.data.view());
  BastionSession& b = bastion();
  if (req.target.size() > kMaxTargetText || req.target_user.size() > kMaxUserName)
    throw ProtocolError("monitor: malformed PICKER_CHOOSE");
  // Once: the choice becomes the login's route, and a login has one.
  if (b.route()) throw ProtocolError("monitor: PICKER_CHOOSE for a login that has its route");
  PickerChooseReply reply;
  bastion::AuditEvent ev;
  ev.event = "login";
  ev.target = req.target;
  ev.target_user = req.target_user;
  auto refuse = [&](const std::string& reason, const std::string& message) {
    ev.decision = "deny";
    ev.reason = "picked: " + reason;
    b.audit(ev);
    log_info("Refused picker choice for %s from %s port %d: %s", b.subject().user.c_str(),
             m_peer.address.c_str(), m_peer.port, reason.c_str());
    reply.message = message;
    ch.send(reply);
    return Phase::kBastion;
  };
  // The session process could name anything: only what the list offered is taken, so the answer
  // reveals nothing about targets the user may not use.
  if (!listed(bastion::picker_entries(b.policy(), b.subject()), req.target_user, req.target))
    return refuse("not in the user's list", "postern: that target is not in your list");
  // TARGET_OPEN "session" is the login's first target connection (monitor_bastion.cpp).
  if (b.target_count() != 0)
    return refuse("a target connection was opened before the pick",
                  "postern: pick a target before opening other connections");
  auto resolved = bastion::resolve_target(b.policy(), req.target, 0);
  if (!resolved)
    return refuse("not a target name or host name", "postern: that target is not in your list");
  ev.target = resolved->name;
  bastion::Decision d = bastion::decide(b.policy(), b.subject(), *resolved, req.target_user, "");
  ev.role = d.role;
  if (!d.allowed) return refuse(d.reason, "postern: " + d.user_message);
  ev.decision = "allow";
  ev.reason = "picked: " + d.reason;
  if (!b.audit(ev)) {
    reply.message = "postern: the bastion cannot write its audit log";
    ch.send(reply);
    return Phase::kBastion;
  }
  b.set_picked_route(bastion::Route{req.target_user, req.target, 0, "", b.subject().user});
  log_info("Accepted pty picker choice for %s from %s port %d: %s@%s", b.subject().user.c_str(),
           m_peer.address.c_str(), m_peer.port, req.target_user.c_str(), req.target.c_str());
  reply.allowed = true;
  ch.send(reply);
  return Phase::kBastion;
}

}  // namespace postern::monitor
