// pam_postern_test.so: a PAM module for postern's tests only (never installed). It asks what its
// arguments say in ONE conversation call, which no stock module does, so a test can check that
// several prompts with mixed echo, and the messages before them, reach the client as one
// SSH_MSG_USERAUTH_INFO_REQUEST (RFC 4256 §3.2). Underscores in texts stand for spaces.
//
//   auth     info=TEXT error=TEXT prompt=TEXT (echo off) echo=TEXT (echo on) answer=VALUE...
//            succeeds when the answers, in prompt order, equal the answer= values
//   account  expired changed=FILE: PAM_NEW_AUTHTOK_REQD until FILE exists
//   password changed=FILE: asks "New password: " and "Retype new password: " in one call and
//            writes the new password to FILE when both agree
//   session  setenv=NAME=VALUE: pam_putenv when the session opens
#include <security/pam_appl.h>
#include <security/pam_modules.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

struct Args {
  std::vector<pam_message> messages;
  std::vector<std::string> texts;  // storage for messages' text
  std::vector<std::string> answers;
  bool expired = false;
  std::string changed;
  std::vector<std::string> env;
};

std::string spaces(std::string s) {
  for (char& c : s)
    if (c == '_') c = ' ';
  return s;
}

Args parse(int argc, const char** argv) {
  Args a;
  a.texts.reserve(size_t(argc));
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    size_t eq = arg.find('=');
    std::string key = arg.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    int style = -1;
    if (key == "info") style = PAM_TEXT_INFO;
    if (key == "error") style = PAM_ERROR_MSG;
    if (key == "prompt") style = PAM_PROMPT_ECHO_OFF;
    if (key == "echo") style = PAM_PROMPT_ECHO_ON;
    if (style >= 0) {
      a.texts.push_back(spaces(value));
      a.messages.push_back(pam_message{style, nullptr});
    }
    if (key == "answer") a.answers.push_back(value);
    if (key == "expired") a.expired = true;
    if (key == "changed") a.changed = value;
    if (key == "setenv") a.env.push_back(value);
  }
  for (size_t i = 0; i < a.messages.size(); ++i) a.messages[i].msg = a.texts[i].c_str();
  return a;
}

// One conversation call with all `messages`; the answers to the prompts, in order.
int converse(pam_handle_t* pamh, std::vector<pam_message>& messages,
             std::vector<std::string>& answers) {
  const void* item = nullptr;
  if (pam_get_item(pamh, PAM_CONV, &item) != PAM_SUCCESS || item == nullptr) return PAM_CONV_ERR;
  auto* conv = static_cast<const pam_conv*>(item);
  std::vector<const pam_message*> ptrs;
  for (auto& m : messages) ptrs.push_back(&m);
  pam_response* resp = nullptr;
  int rc = conv->conv(int(ptrs.size()), ptrs.data(), &resp, conv->appdata_ptr);
  if (rc != PAM_SUCCESS) return rc;
  for (size_t i = 0; i < messages.size(); ++i) {
    bool prompt =
        messages[i].msg_style == PAM_PROMPT_ECHO_OFF || messages[i].msg_style == PAM_PROMPT_ECHO_ON;
    if (prompt) answers.push_back(resp != nullptr && resp[i].resp ? resp[i].resp : "");
    if (resp != nullptr && resp[i].resp != nullptr) std::free(resp[i].resp);
  }
  std::free(resp);
  return PAM_SUCCESS;
}

}  // namespace

extern "C" {

PAM_EXTERN int pam_sm_authenticate(pam_handle_t* pamh, int, int argc, const char** argv) {
  Args a = parse(argc, argv);
  if (a.messages.empty()) return PAM_IGNORE;
  std::vector<std::string> got;
  int rc = converse(pamh, a.messages, got);
  if (rc != PAM_SUCCESS) return rc;
  return got == a.answers ? PAM_SUCCESS : PAM_AUTH_ERR;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t*, int, int, const char**) {
  return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t*, int, int argc, const char** argv) {
  Args a = parse(argc, argv);
  if (a.expired && (a.changed.empty() || ::access(a.changed.c_str(), F_OK) != 0))
    return PAM_NEW_AUTHTOK_REQD;
  return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_chauthtok(pam_handle_t* pamh, int flags, int argc, const char** argv) {
  Args a = parse(argc, argv);
  if (flags & PAM_PRELIM_CHECK) return PAM_SUCCESS;
  std::vector<pam_message> ask = {{PAM_PROMPT_ECHO_OFF, "New password: "},
                                  {PAM_PROMPT_ECHO_OFF, "Retype new password: "}};
  std::vector<std::string> got;
  int rc = converse(pamh, ask, got);
  if (rc != PAM_SUCCESS) return rc;
  if (got.size() != 2 || got[0] != got[1] || got[0].empty()) return PAM_AUTHTOK_ERR;
  if (!a.changed.empty()) std::ofstream(a.changed) << got[0];
  return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t* pamh, int, int argc, const char** argv) {
  Args a = parse(argc, argv);
  for (const auto& e : a.env) pam_putenv(pamh, e.c_str());
  return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t*, int, int, const char**) {
  return PAM_SUCCESS;
}

}  // extern "C"
