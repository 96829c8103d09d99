// Password authentication as the monitor decides it (RFC 4252 §8): through PAM ("sshd" service)
// when UsePAM is on, otherwise crypt(3) against the shadow database. Runs in the monitor as root;
// the net child only carries the password. Logs the lines OpenSSH writes for each outcome.
#pragma once

#include <string>

#include "common/bytes.h"
#include "common/config/server_config.h"
#include "monitor/listener.h"
#include "monitor/pam_driver.h"

namespace postern::monitor {

struct PasswordAttempt {
  std::string user;         // the account name (the client's name before any ":style")
  bool user_valid = false;  // exists and may log in (AllowUsers...): invalid users still pay
                            // the cost of a check so timing does not tell them apart
  bool is_root = false;
  ByteView password;
  bool keyboard_interactive = false;  // RFC 4256 with one hidden prompt, logged as such
  // UsePAM: the connection's PAM handle, so the account and session stages that follow use the
  // same one (sshd keeps one per connection). Without it a handle is made for this check alone.
  PamDriver* pam = nullptr;
};

// Whether the password logs the user in: PasswordAuthentication, PermitEmptyPasswords,
// PermitRootLogin (only "yes" admits root with a password), locked and expired accounts. A
// refusal is logged ("Failed password ...") and padded to a per-user constant minimum time (user
// enumeration by timing); success is logged by the caller, which knows whether it was partial
// (AuthenticationMethods) and runs PAM's account stage first.
bool check_password(const PasswordAttempt& attempt, const config::ServerConfig& config,
                    const Endpoint& peer);

// The crypt(3) check alone, for UsePAM no: `hash` is the shadow field. "!"-prefixed (locked)
// and "*" hashes never match; an empty hash matches only an empty password when `permit_empty`.
bool crypt_matches(const std::string& hash, ByteView password, bool permit_empty);

}  // namespace postern::monitor
