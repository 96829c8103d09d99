// sshd -B: the target picker over keyboard-interactive (issue 13; bastion/picker.h holds the
// choice logic). A user name without a route ("alice") whose roles grant any target gets, after
// the user's own authentication, one more keyboard-interactive step (RFC 4252 §5.1 partial
// success, RFC 4256 rounds) whose answer becomes the route, as if the name had been
// "deploy%web1%alice".
//
// Only a client that has itself sent a keyboard-interactive request on this connection is
// asked. The server cannot otherwise know whether the client could answer, and a partial
// success it cannot continue locks it out: `ssh -J`, BatchMode scripts and machine-to-machine
// callers log in with their key at the first try and must keep working without a route.
#include <string>

#include "bastion/picker.h"
#include "common/ipc_messages.h"
#include "common/log.h"
#include "common/protocol_error.h"
#include "common/wire.h"
#include "monitor/auth_backend.h"
#include "monitor/bastion_session.h"
#include "monitor/monitor.h"

namespace postern::monitor {

using namespace ipc;

namespace {
// The answer's bound: longer than any account@target (bastion/picker.cpp cuts it further).
constexpr size_t kMaxPickerAnswer = 1024;
}  // namespace

void Monitor::prepare_picker() {
  m_picker.reset();
  m_picker_pending = false;
  m_picker_asking = false;
  m_picker_probing = false;
  // An extender's connection only forwards (monitor_extender.cpp): nothing to pick.
  if (m_bastion == nullptr || m_bastion->route() || m_bastion->extender() != nullptr || !m_user ||
      m_service != "ssh-connection")
    return;
  bastion::Subject subject{m_user_name,
                           m_backend.system_account(*m_user)
                               ? account_group_names(m_user->name.c_str(), m_user->gid)
                               : std::vector<std::string>{},
                           m_peer.address};
  auto entries = bastion::picker_entries(m_bastion->policy(), subject);
  if (!entries.empty())
    m_picker = std::make_unique<bastion::PickerConversation>(std::move(entries));
}

bool Monitor::picker_step_due(AuthOutcome& outcome) {
  if (m_picker == nullptr || !m_client_tried_kbdint) return false;
  m_picker_pending = true;
  outcome.partial = true;
  outcome.methods = {"keyboard-interactive"};
  return true;
}

// A client that tries keyboard-interactive before its key (PreferredAuthentications
// keyboard-interactive,publickey) is answered with an empty round (RFC 4256 §3.2: zero prompts),
// then a failure that leaves keyboard-interactive out of the methods that may continue. Why not
// a plain failure: OpenSSH's client gives up keyboard-interactive for the connection when an
// attempt saw no info request, and it retries a method the server still lists until its
// NumberOfPasswordPrompts are spent; either way it would have no attempt left for the picker.
// The list without it sends the client to its key; the partial success after the key lists
// keyboard-interactive again. Nothing of the list is shown before the user is authenticated.
Phase Monitor::picker_probe_start(Channel& ch) {
  m_picker_probing = true;
  KbdintReply reply;
  ch.send(reply);
  return m_phase;
}

Phase Monitor::picker_probe_answer(Channel& ch, const KbdintResponseRequest& req) {
  m_picker_probing = false;
  Reader r(req.responses.view());
  if (r.u32() != 0) throw ProtocolError("monitor: keyboard-interactive: answers to no prompt");
  r.expect_done("keyboard-interactive responses");
  KbdintReply reply;
  reply.done = true;
  Phase next = method_failed(reply.outcome);
  for (const std::string& method : m_methods.next(enabled_methods()))
    if (method != "keyboard-interactive") reply.outcome.methods.push_back(method);
  // Nothing else may continue: the list stays as it was, and the client's attempts run out.
  if (reply.outcome.methods.empty()) reply.outcome.methods = m_methods.next(enabled_methods());
  ch.send(reply);
  return next;
}

Phase Monitor::picker_kbdint_start(Channel& ch) {
  // RFC 4256 §3.2: a new request abandons the running conversation; the rounds start over.
  m_picker->restart();
  m_picker_asking = true;
  KbdintReply reply;
  reply.instruction = m_picker->instruction();
  reply.prompts.push_back(std::string(bastion::PickerConversation::kPrompt));
  reply.echo.push_back(1);
  ch.send(reply);
  return m_phase;
}

Phase Monitor::picker_kbdint_answer(Channel& ch, const KbdintResponseRequest& req) {
  Reader r(req.responses.view());
  if (r.u32() != 1) throw ProtocolError("monitor: keyboard-interactive: one answer to one prompt");
  ByteView raw = r.string(kMaxPickerAnswer);
  r.expect_done("keyboard-interactive responses");
  std::string_view answer(reinterpret_cast<const char*>(raw.data()), raw.size());

  bastion::PickOutcome picked = m_picker->answer(answer);
  KbdintReply reply;
  if (picked.kind == bastion::PickOutcome::kChosen) {
    m_picker_asking = false;
    m_picker_pending = false;
    m_bastion->set_picked_route(
        bastion::Route{picked.target_user, picked.target, 0, "", m_user_name});
    log_info("Accepted keyboard-interactive/picker for %s from %s port %d ssh2: %s@%s",
             m_user_name.c_str(), m_peer.address.c_str(), m_peer.port, picked.target_user.c_str(),
             picked.target.c_str());
    reply.done = true;
    reply.outcome.ok = true;
    ch.send(reply);
    return Phase::kAuthenticated;
  }
  if (m_picker->exhausted()) {
    m_picker_asking = false;
    log_info(
        "Failed keyboard-interactive/picker for %s from %s port %d ssh2: no choice in %u rounds",
        m_user_name.c_str(), m_peer.address.c_str(), m_peer.port,
        bastion::PickerConversation::kMaxRounds);
    reply.done = true;
    Phase next = method_failed(reply.outcome);
    ch.send(reply);
    return next;
  }
  // Another round: the narrowed list, or the full one with a note.
  reply.instruction = m_picker->instruction();
  reply.prompts.push_back(std::string(bastion::PickerConversation::kPrompt));
  reply.echo.push_back(1);
  ch.send(reply);
  return m_phase;
}

}  // namespace postern::monitor
