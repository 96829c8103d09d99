#include "monitor/pam_context.h"

#include <cstdlib>
#include <cstring>

#include "common/log.h"
#include "common/protocol_error.h"

namespace postern::monitor {

namespace {

// A response array for `n` messages, every answer empty (calloc: PAM frees it with free()).
pam_response* new_responses(int n) {
  return static_cast<pam_response*>(std::calloc(size_t(n), sizeof(pam_response)));
}

void free_responses(pam_response* r, int n) {
  if (r == nullptr) return;
  for (int i = 0; i < n; ++i)
    if (r[i].resp != nullptr) {
      ::explicit_bzero(r[i].resp, std::strlen(r[i].resp));
      std::free(r[i].resp);
    }
  std::free(r);
}

bool is_prompt(int style) {
  return style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON;
}

bool is_message(int style) {
  return style == PAM_TEXT_INFO || style == PAM_ERROR_MSG;
}

int auth_flags(bool permit_empty) {
  // PermitEmptyPasswords no: modules must not accept an empty password (pam_authenticate(3)).
  return permit_empty ? 0 : PAM_DISALLOW_NULL_AUTHTOK;
}

}  // namespace

PamContext::PamContext(std::string service, Endpoint peer, Endpoint local)
    : m_service(std::move(service)), m_peer(std::move(peer)), m_local(std::move(local)) {}

PamContext::~PamContext() {
  end();
}

bool PamContext::start(const std::string& user) {
  if (m_pamh != nullptr) {
    // The net child refuses a change of user (RFC 4252 §5 allows it; sshd does not either).
    if (user != m_user) throw ProtocolError("monitor: PAM user changed");
    return true;
  }
  log_debug("PAM: initializing for \"%s\"", user.c_str());
  pam_conv conv{quiet_conversation, this};
  int rc = ::pam_start(m_service.c_str(), user.c_str(), &conv, &m_pamh);
  if (rc != PAM_SUCCESS) {
    log_error("PAM: pam_start failed: %s", ::pam_strerror(nullptr, rc));
    m_pamh = nullptr;
    return false;
  }
  m_user = user;
  // As sshd sets them: the client's address (UseDNS no) and "ssh" for the tty, which some modules
  // (pam_time, pam_securetty) want even for sessions without one. PAM_RUSER stays unset.
  // UseDNS yes: the verified host name, as sshd gives PAM (monitor/peer_name.h).
  log_debug("PAM: setting PAM_RHOST to \"%s\"", m_peer.host().c_str());
  ::pam_set_item(m_pamh, PAM_RHOST, m_peer.host().c_str());
  log_debug("PAM: setting PAM_TTY to \"ssh\"");
  ::pam_set_item(m_pamh, PAM_TTY, "ssh");
  // Modules may want to know the connection too (sshd puts it in the PAM environment).
  std::string conn = "SSH_CONNECTION=" + m_peer.address + " " + std::to_string(m_peer.port) + " " +
                     m_local.address + " " + std::to_string(m_local.port);
  ::pam_putenv(m_pamh, conn.c_str());
  // libpam's own failure delay is random around what the modules ask (±50%), but on Debian 12
  // (Linux-PAM 1.5.2) the randomness is seeded by time(NULL) and can be predicted; and pam_unix
  // hashes the password only for accounts that exist. So the delay is taken over (pam_start(3),
  // PAM_FAIL_DELAY): recorded here, slept by the monitor from the start of the check, which
  // hides the hashing under it (monitor/auth_password.h pad_failure).
  ::pam_set_item(m_pamh, PAM_FAIL_DELAY, reinterpret_cast<const void*>(&record_fail_delay));
  return true;
}

// Called by libpam at the end of every pam_authenticate with the conversation's appdata (this).
void PamContext::record_fail_delay(int status, unsigned usec, void* data) {
  auto* self = static_cast<PamContext*>(data);
  if (self != nullptr)
    self->m_fail_delay =
        status == PAM_SUCCESS ? std::chrono::microseconds(0) : std::chrono::microseconds(usec);
}

// ---- keyboard-interactive ---------------------------------------------------------------------

PamStep PamContext::kbdint_start(const std::string& user, bool permit_empty) {
  kbdint_abandon();
  m_final_pending = false;
  if (!start(user)) return PamStep{true, false, {}, {}};
  {
    std::lock_guard lock(m_mu);
    m_prompts_ready = m_answers_ready = m_abort = m_finished = false;
    m_text.clear();
    m_answers.clear();
    m_kbdint_rc = PAM_AUTH_ERR;
  }
  m_fail_delay = std::chrono::microseconds(0);
  pam_conv conv{kbdint_conversation, this};
  ::pam_set_item(m_pamh, PAM_CONV, &conv);
  m_thread = std::thread([this, permit_empty] { run_kbdint(auth_flags(permit_empty)); });
  return wait_step();
}

// The PAM thread: authentication, then the account stage and, when it says the password has
// expired, the change of password in the same conversation (sshd does this for
// keyboard-interactive; the password method cannot ask for a new password).
void PamContext::run_kbdint(int flags) {
  int rc = ::pam_authenticate(m_pamh, flags);
  log_debug("PAM: pam_authenticate = %d (%s)", rc, ::pam_strerror(m_pamh, rc));
  if (rc == PAM_SUCCESS) {
    int acct = ::pam_acct_mgmt(m_pamh, flags);
    log_debug("PAM: pam_acct_mgmt = %d (%s)", acct, ::pam_strerror(m_pamh, acct));
    m_account_done = true;
    if (acct == PAM_NEW_AUTHTOK_REQD) {
      m_account = PamAccount::kPasswordExpired;
      rc = ::pam_chauthtok(m_pamh, PAM_CHANGE_EXPIRED_AUTHTOK);
      log_debug("PAM: pam_chauthtok = %d (%s)", rc, ::pam_strerror(m_pamh, rc));
      if (rc == PAM_SUCCESS) m_account = PamAccount::kOk;
    } else if (acct != PAM_SUCCESS) {
      m_account = PamAccount::kDenied;
      rc = acct;
    } else {
      m_account = PamAccount::kOk;
    }
  }
  std::lock_guard lock(m_mu);
  m_kbdint_rc = rc;
  m_finished = true;
  m_cv.notify_all();
}

// Runs on the PAM thread. Messages collect in m_text; the prompts of one call go to the monitor's
// thread as one step, and the call waits for their answers (or for the conversation to be
// abandoned, which PAM sees as a conversation error).
int PamContext::kbdint_conversation(int n, const pam_message** msg, pam_response** resp,
                                    void* data) {
  auto* self = static_cast<PamContext*>(data);
  if (n <= 0 || n > PAM_MAX_NUM_MSG || msg == nullptr || resp == nullptr) return PAM_CONV_ERR;
  std::unique_lock lock(self->m_mu);
  PamStep step;
  for (int i = 0; i < n; ++i) {
    int style = msg[i]->msg_style;
    const char* text = msg[i]->msg != nullptr ? msg[i]->msg : "";
    if (is_prompt(style)) {
      step.prompts.push_back({text, style == PAM_PROMPT_ECHO_ON});
    } else if (is_message(style)) {
      self->m_text += text;
      self->m_text += '\n';
    } else {
      return PAM_CONV_ERR;  // PAM_BINARY_PROMPT and the like: nothing in SSH carries them
    }
  }
  pam_response* r = new_responses(n);
  if (r == nullptr) return PAM_BUF_ERR;
  if (step.prompts.empty()) {
    // Only messages: they are shown with the next question (or at the end).
    *resp = r;
    return PAM_SUCCESS;
  }
  step.instruction = std::move(self->m_text);
  self->m_text.clear();
  self->m_step = std::move(step);
  self->m_prompts_ready = true;
  self->m_cv.notify_all();
  self->m_cv.wait(lock, [self] { return self->m_answers_ready || self->m_abort; });
  if (self->m_abort) {
    free_responses(r, n);
    return PAM_CONV_ERR;
  }
  self->m_answers_ready = false;
  std::vector<SecretBytes> answers = std::move(self->m_answers);
  self->m_answers.clear();
  size_t k = 0;
  for (int i = 0; i < n; ++i) {
    if (!is_prompt(msg[i]->msg_style)) continue;
    if (k >= answers.size()) break;  // the monitor's thread checked the count
    const SecretBytes& a = answers[k++];
    r[i].resp = ::strndup(reinterpret_cast<const char*>(a.data()), a.size());
    if (r[i].resp == nullptr) {
      free_responses(r, n);
      return PAM_BUF_ERR;
    }
  }
  *resp = r;
  return PAM_SUCCESS;
}

PamStep PamContext::wait_step() {
  std::unique_lock lock(m_mu);
  m_cv.wait(lock, [this] { return m_prompts_ready || m_finished; });
  if (m_prompts_ready) {
    m_prompts_ready = false;
    PamStep s = std::move(m_step);
    m_step = PamStep{};
    m_expected_answers = s.prompts.size();
    return s;
  }
  lock.unlock();
  m_thread.join();
  m_last_rc = m_kbdint_rc;
  pam_conv conv{quiet_conversation, this};
  ::pam_set_item(m_pamh, PAM_CONV, &conv);
  PamStep s;
  s.done = true;
  s.ok = m_kbdint_rc == PAM_SUCCESS;
  s.instruction = std::move(m_text);
  m_text.clear();
  if (!s.instruction.empty()) {
    // What PAM said last is shown before the outcome: one more request without prompts
    // (RFC 4256 §3.2 allows num-prompts 0; the client answers with no responses).
    m_final_pending = true;
    m_final_ok = s.ok;
    m_expected_answers = 0;
    s.done = false;
    s.ok = false;
  }
  return s;
}

PamStep PamContext::kbdint_answer(std::vector<SecretBytes> answers) {
  if (answers.size() != m_expected_answers)
    throw ProtocolError("monitor: keyboard-interactive: " + std::to_string(answers.size()) +
                        " responses to " + std::to_string(m_expected_answers) + " prompts");
  if (m_final_pending) {
    m_final_pending = false;
    return PamStep{true, m_final_ok, {}, {}};
  }
  if (!m_thread.joinable()) throw ProtocolError("monitor: keyboard-interactive answer out of turn");
  {
    std::lock_guard lock(m_mu);
    m_answers = std::move(answers);
    m_answers_ready = true;
    m_cv.notify_all();
  }
  return wait_step();
}

void PamContext::kbdint_abandon() {
  m_final_pending = false;
  if (!m_thread.joinable()) return;
  {
    std::lock_guard lock(m_mu);
    m_abort = true;
    m_cv.notify_all();
  }
  m_thread.join();
  m_last_rc = m_kbdint_rc;
  if (m_pamh != nullptr) {
    pam_conv conv{quiet_conversation, this};
    ::pam_set_item(m_pamh, PAM_CONV, &conv);
  }
}

// ---- password --------------------------------------------------------------------------------

// The password method's conversation: the one secret the client sent answers the hidden prompts;
// a visible prompt (a second question) cannot be answered by this method.
int PamContext::password_conversation(int n, const pam_message** msg, pam_response** resp,
                                      void* data) {
  auto* self = static_cast<PamContext*>(data);
  if (n <= 0 || n > PAM_MAX_NUM_MSG || msg == nullptr || resp == nullptr) return PAM_CONV_ERR;
  pam_response* r = new_responses(n);
  if (r == nullptr) return PAM_BUF_ERR;
  for (int i = 0; i < n; ++i) {
    int style = msg[i]->msg_style;
    if (style == PAM_PROMPT_ECHO_OFF) {
      r[i].resp = ::strdup(self->m_password.c_str());
      if (r[i].resp == nullptr) {
        free_responses(r, n);
        return PAM_BUF_ERR;
      }
    } else if (is_message(style)) {
      log_debug("PAM: %s", msg[i]->msg != nullptr ? msg[i]->msg : "");
    } else {
      free_responses(r, n);
      return PAM_CONV_ERR;
    }
  }
  *resp = r;
  return PAM_SUCCESS;
}

bool PamContext::authenticate_password(const std::string& user, ByteView password,
                                       bool permit_empty) {
  kbdint_abandon();
  if (!start(user)) return false;
  m_password.assign(password.begin(), password.end());
  m_fail_delay = std::chrono::microseconds(0);
  pam_conv conv{password_conversation, this};
  ::pam_set_item(m_pamh, PAM_CONV, &conv);
  int rc = ::pam_authenticate(m_pamh, auth_flags(permit_empty));
  ::explicit_bzero(m_password.data(), m_password.size());
  m_password.clear();
  conv = pam_conv{quiet_conversation, this};
  ::pam_set_item(m_pamh, PAM_CONV, &conv);
  m_last_rc = rc;
  if (rc == PAM_SUCCESS)
    log_debug("PAM: password authentication accepted for %s", user.c_str());
  else
    log_debug("PAM: password authentication for %s failed: %s", user.c_str(),
              ::pam_strerror(m_pamh, rc));
  return rc == PAM_SUCCESS;
}

// ---- account and session -----------------------------------------------------------------------

// Outside a keyboard-interactive conversation nobody can answer: messages are kept for the
// banner, prompts fail.
int PamContext::quiet_conversation(int n, const pam_message** msg, pam_response** resp,
                                   void* data) {
  auto* self = static_cast<PamContext*>(data);
  if (n <= 0 || n > PAM_MAX_NUM_MSG || msg == nullptr || resp == nullptr) return PAM_CONV_ERR;
  for (int i = 0; i < n; ++i)
    if (!is_message(msg[i]->msg_style)) return PAM_CONV_ERR;
  pam_response* r = new_responses(n);
  if (r == nullptr) return PAM_BUF_ERR;
  for (int i = 0; i < n; ++i) {
    if (msg[i]->msg == nullptr) continue;
    self->m_messages += msg[i]->msg;
    self->m_messages += '\n';
  }
  *resp = r;
  return PAM_SUCCESS;
}

PamAccount PamContext::account(const std::string& user) {
  if (m_account_done) return m_account;
  kbdint_abandon();
  if (!start(user)) return PamAccount::kDenied;
  int rc = ::pam_acct_mgmt(m_pamh, 0);
  log_debug("PAM: pam_acct_mgmt = %d (%s)", rc, ::pam_strerror(m_pamh, rc));
  m_account_done = true;
  if (rc == PAM_SUCCESS)
    m_account = PamAccount::kOk;
  else if (rc == PAM_NEW_AUTHTOK_REQD)
    m_account = PamAccount::kPasswordExpired;
  else
    m_account = PamAccount::kDenied;
  return m_account;
}

std::string PamContext::take_messages() {
  std::string out = std::move(m_messages);
  m_messages.clear();
  return out;
}

bool PamContext::open_session() {
  if (m_pamh == nullptr && !start(m_user)) return false;
  log_debug("PAM: establishing credentials");
  int rc = ::pam_setcred(m_pamh, PAM_ESTABLISH_CRED);
  if (rc == PAM_SUCCESS)
    m_creds = true;
  else
    log_debug("PAM: pam_setcred(): %s", ::pam_strerror(m_pamh, rc));
  rc = ::pam_open_session(m_pamh, 0);
  if (rc != PAM_SUCCESS) {
    log_error("PAM: pam_open_session(): %s", ::pam_strerror(m_pamh, rc));
    m_last_rc = rc;
    return false;
  }
  m_session = true;
  return true;
}

std::vector<std::string> PamContext::environment() {
  std::vector<std::string> out;
  if (m_pamh == nullptr) return out;
  char** list = ::pam_getenvlist(m_pamh);
  if (list == nullptr) return out;
  for (char** p = list; *p != nullptr; ++p) {
    // Bounded like any other environment the session accepts.
    if (out.size() < 256 && std::strlen(*p) < 4096) out.emplace_back(*p);
    std::free(*p);
  }
  std::free(list);
  log_debug("PAM: num PAM env strings %zu", out.size());
  return out;
}

void PamContext::end() {
  kbdint_abandon();
  if (m_pamh == nullptr) return;
  log_debug("PAM: cleanup");
  if (m_session) {
    log_debug("PAM: closing session");
    ::pam_close_session(m_pamh, PAM_SILENT);
    m_session = false;
  }
  if (m_creds) {
    log_debug("PAM: deleting credentials");
    ::pam_setcred(m_pamh, PAM_DELETE_CRED | PAM_SILENT);
    m_creds = false;
  }
  ::pam_end(m_pamh, m_last_rc);
  m_pamh = nullptr;
}

}  // namespace postern::monitor
