// The connection's PAM handle (pam_start(3)), held by the monitor (root) for the whole
// connection, as sshd holds it: authentication (password and keyboard-interactive), the account
// stage for every method, and the session stage around the user's session, ended when the
// connection ends (pam_close_session, pam_setcred(PAM_DELETE_CRED), pam_end).
//
// PAM drives its conversation by calling back (pam_conv(3)) from inside pam_authenticate; the
// keyboard-interactive answers arrive later as ipc requests. So pam_authenticate runs on a second
// thread whose conversation function hands the prompts to the monitor's thread and waits for the
// answers; the two take turns under one mutex, and the handle is only ever used by one of them.
#pragma once

#include <security/pam_appl.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "monitor/listener.h"
#include "monitor/pam_driver.h"

namespace postern::monitor {

class PamContext : public PamDriver {
 public:
  // `service`: the PAM service name (the name sshd was started as, like OpenSSH's __progname).
  // Nothing is started until a user is known.
  PamContext(std::string service, Endpoint peer, Endpoint local);
  ~PamContext() override;
  PamContext(const PamContext&) = delete;
  PamContext& operator=(const PamContext&) = delete;

  PamStep kbdint_start(const std::string& user, bool permit_empty) override;
  PamStep kbdint_answer(std::vector<SecretBytes> answers) override;
  void kbdint_abandon() override;
  bool kbdint_running() const override { return m_thread.joinable(); }
  bool authenticate_password(const std::string& user, ByteView password,
                             bool permit_empty) override;
  std::chrono::microseconds fail_delay() const override { return m_fail_delay; }
  PamAccount account(const std::string& user) override;
  std::string take_messages() override;
  bool open_session() override;
  std::vector<std::string> environment() override;

  // Ends the session stage and the handle now (also done by the destructor).
  void end();

 private:
  bool start(const std::string& user);
  void run_kbdint(int flags);
  PamStep wait_step();
  static int kbdint_conversation(int n, const pam_message** msg, pam_response** resp, void* data);
  static int password_conversation(int n, const pam_message** msg, pam_response** resp, void* data);
  static int quiet_conversation(int n, const pam_message** msg, pam_response** resp, void* data);
  static void record_fail_delay(int status, unsigned usec, void* data);

  std::string m_service;
  Endpoint m_peer;
  Endpoint m_local;
  pam_handle_t* m_pamh = nullptr;
  std::string m_user;
  int m_last_rc = PAM_SUCCESS;
  // What the last pam_authenticate's modules asked to be delayed on failure (PAM_FAIL_DELAY).
  std::chrono::microseconds m_fail_delay{0};
  bool m_account_done = false;
  PamAccount m_account = PamAccount::kDenied;
  bool m_creds = false;
  bool m_session = false;
  std::string m_messages;  // what the account stage said (quiet conversation)
  std::string m_password;  // the password method's answer, during pam_authenticate only

  // The keyboard-interactive thread and what it shares with the monitor's thread.
  std::thread m_thread;
  std::mutex m_mu;
  std::condition_variable m_cv;
  bool m_prompts_ready = false;  // PAM waits for answers to m_step
  PamStep m_step;
  std::string m_text;  // PAM_TEXT_INFO / PAM_ERROR_MSG lines not shown yet
  bool m_answers_ready = false;
  std::vector<SecretBytes> m_answers;
  bool m_abort = false;
  bool m_finished = false;
  int m_kbdint_rc = PAM_AUTH_ERR;
  size_t m_expected_answers = 0;  // prompts of the step the client is answering
  // PAM has finished but said something after its last question: shown in one more step
  // without prompts, then the outcome.
  bool m_final_pending = false;
  bool m_final_ok = false;
};

}  // namespace postern::monitor
