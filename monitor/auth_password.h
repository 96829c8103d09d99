// Password authentication as the monitor decides it (RFC 4252 §8): through PAM ("sshd" service)
// when UsePAM is on, otherwise crypt(3) against the shadow database. Runs in the monitor as root;
// the net child only carries the password. Logs the lines OpenSSH writes for each outcome.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/config/server_config.h"
#include "monitor/listener.h"
#include "monitor/pam_driver.h"

namespace postern::monitor {

struct PasswordAttempt {
  std::string user;         // the account name (the client's name before any ":style")
  bool user_valid = false;  // exists and may log in (AllowUsers...): invalid users take the
                            // path of a wrong password so timing does not tell them apart
  bool is_root = false;
  ByteView password;
  // UsePAM: the connection's PAM handle, so the account and session stages that follow use the
  // same one (sshd keeps one per connection). Without it a handle is made for this check alone.
  PamDriver* pam = nullptr;
};

// Whether the password logs the user in: PasswordAuthentication, PermitEmptyPasswords,
// PermitRootLogin (only "yes" admits root with a password), locked and expired accounts. A
// refusal is logged ("Failed password ...") and answered no sooner than kFailureFloor after the
// check began; an invalid user takes the path of a wrong password (see kImpossiblePassword and
// dummy_password_hash), so timing does not enumerate users. Success is logged by the caller,
// which knows whether it was partial (AuthenticationMethods) and runs PAM's account stage first.
bool check_password(const PasswordAttempt& attempt, const config::ServerConfig& config,
                    const Endpoint& peer);

// The crypt(3) check alone, for UsePAM no: `hash` is the shadow field. "!"-prefixed (locked)
// and "*" hashes never match; an empty hash matches only an empty password when `permit_empty`.
bool crypt_matches(const std::string& hash, ByteView password, bool permit_empty);

// What PAM is given instead of the client's password when the attempt must fail whatever it
// says (an invalid user; root when PermitRootLogin is not "yes"), as OpenSSH's sshd does: the
// stack still runs in full for the name the client gave, pam_unix's failure delay
// included, so the answer takes as long as a wrong password for a real account. No account can
// have this password: a newline ends a password at every prompt that could set one.
inline constexpr std::string_view kImpossiblePassword = "\n\r\b\177 postern: not a password";

// UsePAM no: what the password of an account that does not exist (or is locked, or expired) is
// checked against, so that check costs what a real one does: a crypt(3) setting of libxcrypt's
// default method and cost (crypt_gensalt_ra(NULL, 0)), which is what passwd(1) and chpasswd(8)
// write through pam_unix when it names no rounds: yescrypt cost 5 ("$y$j9T$") on Debian 12.
// /etc/login.defs is not read: Debian 12 still says ENCRYPT_METHOD SHA512 there, while the
// hashes its tools actually write (pam_unix's "yescrypt" in common-password) are yescrypt.
const std::string& dummy_password_hash();

// Every refused password (and keyboard-interactive conversation) is answered no sooner than this
// after its check began, whatever the reason, so a made-up user, a locked account and a wrong
// password look alike. A floor, not a multiple of the time spent: work that differs would show
// through a multiple. Above a yescrypt check on a loaded machine (25-40 ms measured on 2 busy
// cores, 150 ms at worst), below PAM's own delay (pam_unix: 2 s), which is a longer floor.
inline constexpr std::chrono::milliseconds kFailureFloor{300};

// How much longer a refusal that took `spent` so far must wait: up to kFailureFloor, or up to
// `pam_delay` when PAM's modules asked for a longer one (PamDriver::fail_delay).
std::chrono::nanoseconds failure_padding(std::chrono::nanoseconds spent,
                                         std::chrono::nanoseconds pam_delay = {});

// Sleeps out the rest of that floor for a refusal whose check began at `start`. The monitor
// serves one connection and nothing else needs it meanwhile (LoginGraceTime is far longer); PAM
// would have slept as long inside pam_authenticate.
void pad_failure(std::chrono::steady_clock::time_point start,
                 std::chrono::nanoseconds pam_delay = {});

}  // namespace postern::monitor
