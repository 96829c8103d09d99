// What the monitor asks of PAM (pam(3)), behind an interface so the phase logic in
// monitor/monitor.cpp is testable with a fake. The real one is PamContext (monitor/pam_context.h):
// one PAM handle per connection, in the monitor (root) only; the net child relays the
// keyboard-interactive conversation and never sees the handle.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/bytes.h"

namespace postern::monitor {

// One prompt of a conversation (pam_conv(3) PAM_PROMPT_ECHO_ON / PAM_PROMPT_ECHO_OFF).
struct PamPrompt {
  std::string text;
  bool echo = false;
};

// One step of a keyboard-interactive conversation. Not done: the prompts of one pam_conv call
// become one SSH_MSG_USERAUTH_INFO_REQUEST (RFC 4256 §3.2), the PAM_TEXT_INFO and PAM_ERROR_MSG
// lines before them its instruction. Done: `ok` tells whether pam_authenticate (and the account
// stage, and a password change it required) succeeded; `instruction` holds messages not shown yet.
struct PamStep {
  bool done = false;
  bool ok = false;
  std::string instruction;
  std::vector<PamPrompt> prompts;
};

// The outcome of pam_acct_mgmt(3).
enum class PamAccount {
  kOk,
  kDenied,           // the account may not log in now: the connection ends
  kPasswordExpired,  // PAM_NEW_AUTHTOK_REQD: log in, but only to change the password
};

// PAM's account stage refused a user who had authenticated: sshd ends the connection with
// "Access denied for user U by PAM account configuration" (what() holds that line).
class PamAccessDenied : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class PamDriver {
 public:
  virtual ~PamDriver() = default;

  // keyboard-interactive (RFC 4256): starts pam_authenticate for `user` and runs it until it asks
  // something or ends. A running conversation is abandoned first.
  virtual PamStep kbdint_start(const std::string& user, bool permit_empty) = 0;
  // The client's answers to the last step's prompts, one per prompt, in order.
  virtual PamStep kbdint_answer(std::vector<SecretBytes> answers) = 0;
  // The client gave up on the conversation (another USERAUTH_REQUEST): PAM is told it failed.
  virtual void kbdint_abandon() = 0;
  virtual bool kbdint_running() const = 0;

  // The password method: one pam_authenticate answered with `password`. True on success.
  virtual bool authenticate_password(const std::string& user, ByteView password,
                                     bool permit_empty) = 0;

  // The failure delay the modules asked for (pam_fail_delay(3): pam_unix's 2 s, pam_faildelay's)
  // in the last pam_authenticate, as libpam randomised it; zero when none. libpam does not sleep
  // it: the monitor pads the refusal to it (monitor/auth_password.h pad_failure), measured from
  // the start of the check, so what a module does only for real accounts (pam_unix hashes the
  // password only when the user exists) does not show through.
  virtual std::chrono::microseconds fail_delay() const { return {}; }

  // pam_acct_mgmt for the user, once per connection (a keyboard-interactive conversation runs it
  // itself; its result is kept). Logs nothing.
  virtual PamAccount account(const std::string& user) = 0;
  // Text the account stage showed (pam_unix's "You are required to change your password
  // immediately"), for the userauth banner as OpenSSH sends it; cleared by reading.
  virtual std::string take_messages() = 0;

  // After authentication: pam_setcred(PAM_ESTABLISH_CRED) and pam_open_session. False when the
  // session stage refused (logged).
  virtual bool open_session() = 0;
  // pam_getenvlist: "NAME=value" strings for the user's session environment.
  virtual std::vector<std::string> environment() = 0;
};

}  // namespace postern::monitor
