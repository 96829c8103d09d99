// sshd -B: TOTP (RFC 6238) for policy users with a `totp` secret (bastion/totp.h). After the key
// the user must also pass keyboard-interactive, as with `AuthenticationMethods
// publickey,keyboard-interactive`, and that conversation is the monitor's own: one prompt,
// "Verification code: ", checked against the steps of now and one either side, and a step
// accepted once per user across all connections (bastion/totp_used.h). System accounts get
// MFA from their PAM stack instead, as in sshd mode.
#include <ctime>

#include "bastion/totp.h"
#include "bastion/totp_used.h"
#include "common/ipc_messages.h"
#include "common/log.h"
#include "common/protocol_error.h"
#include "common/wire.h"
#include "monitor/auth_password.h"
#include "monitor/bastion_session.h"
#include "monitor/monitor.h"

namespace postern::monitor {

using namespace ipc;

namespace {
constexpr size_t kMaxCode = 64;
}  // namespace

void Monitor::require_totp_if_policy_says() {
  m_totp_secret.clear();
  // The proxy front door's user name is a target account: its policy users with TOTP are
  // refused there (monitor/bastion_auth_backend.h).
  if (m_bastion == nullptr || !m_user || m_backend.system_account(*m_user) ||
      m_bastion->proxy_door())
    return;
  const bastion::PolicyUser* u = m_bastion->policy().find_user(m_user_name);
  if (u == nullptr || u->totp.empty()) return;
  m_totp_secret = u->totp;
  // Policy users log in with keys (or certificates) only: the key, then the code.
  m_methods = AuthMethodLists(std::vector<std::string>{"publickey,keyboard-interactive"});
}

Phase Monitor::totp_kbdint_start(Channel& ch) {
  KbdintReply reply;
  // RFC 4256 §3.1; the code is asked only once the key has succeeded.
  if (m_service != "ssh-connection" || !m_methods.may_try("keyboard-interactive")) {
    reply.done = true;
    Phase next = method_failed(reply.outcome);
    ch.send(reply);
    return next;
  }
  m_kbdint_active = true;
  m_kbdint_prompts = 1;
  reply.prompts.push_back("Verification code: ");
  reply.echo.push_back(0);
  ch.send(reply);
  return m_phase;
}

Phase Monitor::totp_kbdint_answer(Channel& ch, const KbdintResponseRequest& req,
                                  std::chrono::steady_clock::time_point start) {
  if (!m_kbdint_active)
    throw ProtocolError("monitor: keyboard-interactive response without a question");
  m_kbdint_active = false;
  Reader r(req.responses.view());
  if (r.u32() != 1) throw ProtocolError("monitor: keyboard-interactive: one answer to one prompt");
  ByteView answer = r.string(kMaxCode);
  r.expect_done("keyboard-interactive responses");
  std::string_view code(reinterpret_cast<const char*>(answer.data()), answer.size());

  KbdintReply reply;
  reply.done = true;
  std::string why;
  auto secret = bastion::parse_totp_secret(m_totp_secret);  // checked at load already
  if (!secret) {
    why = "the policy's secret: " + secret.error().message;
  } else if (auto step = bastion::totp_matching_step(*secret, code, uint64_t(std::time(nullptr)));
             !step) {
    why = "wrong code";
  } else {
    std::string state = bastion::totp_used_path(m_bastion->policy().bastion.serial_file);
    auto claimed = bastion::claim_totp_step(state, m_user_name, *step);
    if (!claimed) {
      log_error("%s", claimed.error().message.c_str());
      why = "cannot record the code's use";
    } else if (!*claimed) {
      why = "code used already";
    }
  }
  if (why.empty()) {
    reply.outcome.ok = true;
    Phase next = method_succeeded("keyboard-interactive", reply.outcome, "totp");
    log_info("Accepted keyboard-interactive/totp for %s from %s port %d ssh2", m_user_name.c_str(),
             m_peer.address.c_str(), m_peer.port);
    ch.send(reply);
    return next;
  }
  log_info("Failed keyboard-interactive/totp for %s from %s port %d ssh2: %s", m_user_name.c_str(),
           m_peer.address.c_str(), m_peer.port, why.c_str());
  pad_failure(start);
  Phase next = method_failed(reply.outcome);
  ch.send(reply);
  return next;
}

}  // namespace postern::monitor
