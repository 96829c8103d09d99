#include "monitor/auth_password.h"

#include <crypt.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <shadow.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "common/log.h"

namespace postern::monitor {

namespace {

using Clock = std::chrono::steady_clock;

// If libxcrypt can make no setting of its default method (it always can on Debian), SHA-512 at
// its default cost: still a real hash, never a match.
constexpr const char* kFallbackDummy = "$6$postern.dummy$";

std::string as_string(ByteView v) {
  return std::string(v.begin(), v.end());
}

bool equal_strings_ct(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char d = 0;
  for (size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
  return d == 0;
}

// ---- UsePAM no: the shadow database ----------------------------------------------------------

// The stored hash and whether the account has expired (shadow(5) field 8, days since the epoch).
bool shadow_check(const std::string& user, ByteView password, bool permit_empty) {
  std::string hash;
  if (passwd* pw = ::getpwnam(user.c_str()); pw != nullptr && pw->pw_passwd != nullptr)
    hash = pw->pw_passwd;
  if (spwd* sp = ::getspnam(user.c_str()); sp != nullptr) {
    if (sp->sp_pwdp != nullptr) hash = sp->sp_pwdp;
    long today = long(::time(nullptr) / 86400);
    if (sp->sp_expire > 0 && today >= sp->sp_expire) {
      log_info("Account %s has expired", user.c_str());
      crypt_matches(dummy_password_hash(), password, false);
      return false;
    }
  }
  return crypt_matches(hash, password, permit_empty);
}

// ---- UsePAM yes ----------------------------------------------------------------------------

struct PamPassword {
  std::string password;
  std::chrono::microseconds fail_delay{0};  // what the modules asked (PAM_FAIL_DELAY)
};

// libpam's failure delay, taken over as PamContext does (monitor/pam_context.cpp says why).
void record_fail_delay(int status, unsigned usec, void* data) {
  if (data != nullptr && status != PAM_SUCCESS)
    static_cast<PamPassword*>(data)->fail_delay = std::chrono::microseconds(usec);
}

// The conversation for the password method: the one secret the client sent answers the hidden
// prompts; a visible prompt (a second question) cannot be answered by this method.
int password_conversation(int n, const pam_message** msg, pam_response** resp, void* data) {
  if (n <= 0 || n > PAM_MAX_NUM_MSG) return PAM_CONV_ERR;
  auto* pp = static_cast<PamPassword*>(data);
  auto* r = static_cast<pam_response*>(std::calloc(size_t(n), sizeof(pam_response)));
  if (r == nullptr) return PAM_BUF_ERR;
  for (int i = 0; i < n; ++i) {
    switch (msg[i]->msg_style) {
      case PAM_PROMPT_ECHO_OFF:
        r[i].resp = ::strdup(pp->password.c_str());
        if (r[i].resp == nullptr) goto fail;
        break;
      case PAM_ERROR_MSG:
      case PAM_TEXT_INFO:
        log_debug("PAM: %s", msg[i]->msg ? msg[i]->msg : "");
        break;
      default:
        goto fail;
    }
  }
  *resp = r;
  return PAM_SUCCESS;
fail:
  for (int i = 0; i < n; ++i)
    if (r[i].resp != nullptr) {
      ::explicit_bzero(r[i].resp, std::strlen(r[i].resp));
      std::free(r[i].resp);
    }
  std::free(r);
  return PAM_CONV_ERR;
}

bool pam_check(const std::string& user, ByteView password, bool permit_empty, const Endpoint& peer,
               std::chrono::microseconds& fail_delay) {
  PamPassword data{as_string(password)};
  pam_conv conv{password_conversation, &data};
  pam_handle_t* pamh = nullptr;
  int rc = ::pam_start("sshd", user.c_str(), &conv, &pamh);
  if (rc != PAM_SUCCESS) {
    log_error("PAM: pam_start failed: %d", rc);
    return false;
  }
  ::pam_set_item(pamh, PAM_RHOST, peer.host().c_str());  // UseDNS: the verified name
  ::pam_set_item(pamh, PAM_TTY, "ssh");
  ::pam_set_item(pamh, PAM_FAIL_DELAY, reinterpret_cast<const void*>(&record_fail_delay));
  rc = ::pam_authenticate(pamh, permit_empty ? 0 : PAM_DISALLOW_NULL_AUTHTOK);
  if (rc == PAM_SUCCESS) {
    rc = ::pam_acct_mgmt(pamh, permit_empty ? 0 : PAM_DISALLOW_NULL_AUTHTOK);
    if (rc == PAM_NEW_AUTHTOK_REQD)
      // TODO(#4): change the expired password through keyboard-interactive.
      log_info("PAM: password for %s has expired; changing it is not supported", user.c_str());
    else if (rc != PAM_SUCCESS)
      log_info("PAM: account check for %s failed: %s", user.c_str(), ::pam_strerror(pamh, rc));
  } else {
    log_debug("PAM: authentication for %s failed: %s", user.c_str(), ::pam_strerror(pamh, rc));
  }
  ::pam_end(pamh, rc);
  ::explicit_bzero(data.password.data(), data.password.size());
  fail_delay = data.fail_delay;
  return rc == PAM_SUCCESS;
}

}  // namespace

bool crypt_matches(const std::string& hash, ByteView password, bool permit_empty) {
  if (hash.empty()) return permit_empty && password.empty();
  // Locked ("!...") and disabled ("*", "*LK*") accounts never match, as in sshd.
  bool unusable = hash[0] == '!' || hash[0] == '*';
  std::string pw = as_string(password);
  crypt_data cd;
  std::memset(&cd, 0, sizeof(cd));
  const char* out =
      ::crypt_r(pw.c_str(), unusable ? dummy_password_hash().c_str() : hash.c_str(), &cd);
  bool ok = !unusable && out != nullptr && out[0] != '*' && equal_strings_ct(out, hash);
  ::explicit_bzero(pw.data(), pw.size());
  ::explicit_bzero(&cd, sizeof(cd));
  return ok;
}

const std::string& dummy_password_hash() {
  // Made once per process (the monitor serves one connection): a random salt, and no hashing
  // here, so the first invalid user does not pay for it. crypt(3) with only the setting costs
  // what it costs with a full hash.
  static const std::string setting = [] {
    std::string s = kFallbackDummy;
    if (char* def = ::crypt_gensalt_ra(nullptr, 0, nullptr, 0)) {
      s = def;
      std::free(def);
    }
    return s;
  }();
  return setting;
}

std::chrono::nanoseconds failure_padding(std::chrono::nanoseconds spent,
                                         std::chrono::nanoseconds pam_delay) {
  std::chrono::nanoseconds floor = std::max<std::chrono::nanoseconds>(kFailureFloor, pam_delay);
  return spent < floor ? floor - spent : std::chrono::nanoseconds(0);
}

void pad_failure(Clock::time_point start, std::chrono::nanoseconds pam_delay) {
  auto rest = failure_padding(Clock::now() - start, pam_delay);
  if (rest > std::chrono::nanoseconds(0)) std::this_thread::sleep_for(rest);
}

bool check_password(const PasswordAttempt& a, const config::ServerConfig& config,
                    const Endpoint& peer) {
  auto start = Clock::now();
  bool ok = false;
  bool empty_refused = a.password.empty() && !config.permit_empty_passwords;
  bool root_refused = a.is_root && config.permit_root_login != config::PermitRootLogin::kYes;
  bool enabled = config.password_authentication;
  // An invalid user, and root when PermitRootLogin does not admit passwords (sshd_config(5)),
  // fail whatever the password, but by the same path as a wrong password for a real account:
  // with UsePAM, pam_authenticate for the name the client gave, with a password no module
  // accepts (what OpenSSH's sshd does); without, crypt(3) of the system's own method and cost.
  // Neither the right password of a denied account nor the absence of one shows in the timing.
  bool must_fail = !a.user_valid || root_refused;
  std::chrono::microseconds pam_delay{0};
  ByteView password = must_fail ? as_bytes(kImpossiblePassword) : a.password;
  if (!enabled || empty_refused) {
    // Decided by the request alone (the same for every user): the cost of a check, no PAM.
    crypt_matches(dummy_password_hash(), a.password, false);
  } else if (config.use_pam && a.pam != nullptr) {
    // The account stage runs later, once every method AuthenticationMethods asks for succeeded.
    ok = a.pam->authenticate_password(a.user, password, config.permit_empty_passwords);
    pam_delay = a.pam->fail_delay();
  } else if (config.use_pam) {
    ok = pam_check(a.user, password, config.permit_empty_passwords, peer, pam_delay);
  } else if (!a.user_valid) {
    crypt_matches(dummy_password_hash(), a.password, false);
  } else {
    // Root's own hash is checked (it costs what it costs) but cannot let a refused root in.
    ok = shadow_check(a.user, a.password, config.permit_empty_passwords);
  }
  if (must_fail) ok = false;
  if (ok) return true;
  log_info("Failed password for %s%s from %s port %d ssh2", a.user_valid ? "" : "invalid user ",
           a.user.c_str(), peer.address.c_str(), peer.port);
  pad_failure(start, pam_delay);
  return false;
}

}  // namespace postern::monitor
