// The monitor's side of keyboard-interactive (RFC 4256) through PAM, and PAM's account stage for
// every method. The net child only relays: it sends the client's request and answers and gets
// back the questions of each PAM conversation call, or the outcome. The PAM handle is the
// monitor's (monitor/pam_context.h).
#include <chrono>
#include <string>
#include <vector>

#include "common/ipc_messages.h"
#include "common/log.h"
#include "common/protocol_error.h"
#include "common/wire.h"
#include "monitor/auth_password.h"
#include "monitor/monitor.h"

namespace postern::monitor {

using namespace ipc;

namespace {

// PAM_MAX_NUM_MSG is 32: no conversation call asks more.
constexpr uint32_t kMaxAnswers = 32;
constexpr size_t kMaxAnswer = 1024;

// What the session runs instead of anything else when PAM says the password has expired, as
// sshd does: the warning, then passwd(1) on a terminal, or the refusal without one. Exec'd
// through /bin/sh so the user's own shell only needs to understand "exec".
constexpr const char* kPasswordChangeCommand =
    "exec /bin/sh -c 'echo \"WARNING: Your password has expired.\" >&2; "
    "if [ -t 0 ]; then echo \"You must change your password now and login again!\" >&2; "
    "exec passwd; fi; echo \"Password change required but no TTY available.\" >&2; exit 1'";

}  // namespace

// A conversation PAM refused is answered no sooner than the password method's floor, or the
// delay PAM's modules asked for, after the request that ended it (monitor/auth_password.h),
// whatever the user.
Phase Monitor::on_kbdint_start(Channel& ch, Message& m) {
  auto start = std::chrono::steady_clock::now();
  auto req = ipc::decode<KbdintStartRequest>(m.data.view());
  if (req.submethods.size() > 1024) throw ProtocolError("monitor: submethods too long");
  m_client_tried_kbdint = true;  // the picker's rule (monitor_picker.cpp)
  // RFC 4256 §3.2: a new request abandons a running conversation.
  m_picker_asking = false;
  m_picker_probing = false;
  if (m_picker_pending) return picker_kbdint_start(ch);
  if (!m_totp_secret.empty() && (m_picker == nullptr || m_methods.may_try("keyboard-interactive")))
    return totp_kbdint_start(ch);
  KbdintReply reply;
  // A bastion policy user is no account PAM knows: keyboard-interactive is only its TOTP step
  // or the picker, never a PAM conversation for a name the system does not have.
  bool policy_user = m_bastion != nullptr && m_user && !m_backend.system_account(*m_user);
  bool usable = !policy_user && m_pam != nullptr && m_effective.use_pam &&
                m_effective.kbd_interactive_authentication && m_service == "ssh-connection" &&
                m_methods.may_try("keyboard-interactive");
  if (!usable && m_picker != nullptr) return picker_probe_start(ch);
  if (!usable) {
    log_debug("keyboard-interactive not available for %s", m_user_name.c_str());
    Phase next = kbdint_outcome(PamStep{true, false, {}, {}}, reply);
    ch.send(reply);
    return next;
  }
  log_debug("keyboard-interactive devs %s", req.submethods.c_str());
  PamStep step = m_pam->kbdint_start(m_user_name, m_effective.permit_empty_passwords);
  if (!step.done)
    log_verbose("Postponed keyboard-interactive for %s%s from %s port %d ssh2 [preauth]",
                m_user ? "" : "invalid user ", m_user_name.c_str(), m_peer.address.c_str(),
                m_peer.port);
  Phase next = kbdint_outcome(step, reply);
  if (reply.done && !reply.outcome.ok) pad_failure(start, m_pam->fail_delay());
  ch.send(reply);
  return next;
}

Phase Monitor::on_kbdint_response(Channel& ch, Message& m) {
  auto start = std::chrono::steady_clock::now();
  auto req = ipc::decode<KbdintResponseRequest>(m.data.view());
  if (m_picker_asking) return picker_kbdint_answer(ch, req);
  if (m_picker_probing) return picker_probe_answer(ch, req);
  if (!m_totp_secret.empty()) return totp_kbdint_answer(ch, req, start);
  // Only a conversation that asked something may be answered (docs/architecture.md: out of phase
  // kills).
  if (!m_kbdint_active || m_pam == nullptr)
    throw ProtocolError("monitor: keyboard-interactive response without a question");
  Reader r(req.responses.view());
  uint32_t n = r.u32();
  if (n != m_kbdint_prompts)
    throw ProtocolError("monitor: keyboard-interactive: " + std::to_string(n) + " responses to " +
                        std::to_string(m_kbdint_prompts) + " prompts");
  if (n > kMaxAnswers) throw ProtocolError("monitor: too many keyboard-interactive responses");
  std::vector<SecretBytes> answers;
  answers.reserve(n);
  for (uint32_t i = 0; i < n; ++i) answers.emplace_back(r.string(kMaxAnswer));
  r.expect_done("keyboard-interactive responses");
  // An invalid user, and root when PermitRootLogin is not "yes" (sshd_config(5)), cannot log
  // in whatever they answer. PAM still runs the conversation for the name the client gave,
  // as for a wrong answer, but is given kImpossiblePassword for every answer (as OpenSSH's
  // sshd does): a denied account's right password is then refused like a wrong one, PAM's
  // failure delay included, instead of faster.
  bool may_succeed = m_user.has_value() && (m_user->uid != 0 || m_effective.permit_root_login ==
                                                                    config::PermitRootLogin::kYes);
  if (!may_succeed)
    for (auto& a : answers) a = SecretBytes(as_bytes(kImpossiblePassword));
  // A count other than the prompts asked is a ProtocolError thrown by the PAM driver.
  PamStep step = m_pam->kbdint_answer(std::move(answers));
  if (!step.done)
    log_verbose("Postponed keyboard-interactive/pam for %s%s from %s port %d ssh2 [preauth]",
                m_user ? "" : "invalid user ", m_user_name.c_str(), m_peer.address.c_str(),
                m_peer.port);
  KbdintReply reply;
  Phase next = kbdint_outcome(step, reply);
  if (reply.done && !reply.outcome.ok) pad_failure(start, m_pam->fail_delay());
  ch.send(reply);
  return next;
}

// A step that asks something goes to the client; a finished conversation is decided here:
// PAM's verdict, a valid user, PermitRootLogin (only "yes" admits root without a key).
Phase Monitor::kbdint_outcome(const PamStep& step, KbdintReply& reply) {
  if (!step.done) {
    m_kbdint_active = true;
    m_kbdint_prompts = step.prompts.size();
    reply.done = false;
    reply.instruction = step.instruction;
    for (const auto& p : step.prompts) {
      reply.prompts.push_back(p.text);
      reply.echo.push_back(p.echo ? 1 : 0);
    }
    return m_phase;
  }
  m_kbdint_active = false;
  reply.done = true;
  bool ok = step.ok && m_user.has_value();
  if (ok && m_user->uid == 0 && m_effective.permit_root_login != config::PermitRootLogin::kYes) {
    log_info("ROOT LOGIN REFUSED FROM %s port %d", m_peer.address.c_str(), m_peer.port);
    ok = false;
  }
  if (ok) {
    reply.outcome.ok = true;
    Phase next = method_succeeded("keyboard-interactive", reply.outcome);
    if (!reply.outcome.partial)
      log_info("Accepted keyboard-interactive/pam for %s from %s port %d ssh2", m_user_name.c_str(),
               m_peer.address.c_str(), m_peer.port);
    return next;
  }
  log_info("Failed keyboard-interactive/pam for %s%s from %s port %d ssh2",
           m_user ? "" : "invalid user ", m_user_name.c_str(), m_peer.address.c_str(), m_peer.port);
  return method_failed(reply.outcome);
}

void Monitor::pam_account_stage(const std::string& log_method, const std::string& log_suffix) {
  if (m_pam == nullptr || !m_effective.use_pam || !m_user) return;
  if (!m_backend.system_account(*m_user)) return;  // a bastion policy user: PAM knows no such user
  switch (m_pam->account(m_user_name)) {
    case PamAccount::kOk:
      return;
    case PamAccount::kPasswordExpired:
      // sshd logs the user in, but only to change the password: no forwarding, no ~/.ssh/rc,
      // and every session runs the change instead of its command.
      log_verbose("PAM: password for %s has expired; the session will only change it",
                  m_user_name.c_str());
      m_password_expired = true;
      m_effective.allow_tcp_forwarding = config::Forwarding::kNo;
      m_effective.allow_stream_local_forwarding = config::Forwarding::kNo;
      m_effective.allow_agent_forwarding = false;
      m_effective.x11_forwarding = false;
      m_effective.permit_user_rc = false;
      m_effective.force_command = kPasswordChangeCommand;
      return;
    case PamAccount::kDenied:
      break;
  }
  // As sshd: the attempt is logged as failed, then the connection ends.
  log_info("Failed %s for %s from %s port %d ssh2%s", log_method.c_str(), m_user_name.c_str(),
           m_peer.address.c_str(), m_peer.port, log_suffix.c_str());
  throw PamAccessDenied("Access denied for user " + m_user_name + " by PAM account configuration");
}

}  // namespace postern::monitor
