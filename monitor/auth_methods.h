// AuthenticationMethods (sshd_config(5)): lists of methods that must all succeed, in order, before
// the user is logged in. A method that succeeds but leaves a list unfinished is a partial success
// (RFC 4252 §5.1): the client is told which methods may continue.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace postern::monitor {

class AuthMethodLists {
 public:
  // `lists` as configured: {"any"} (or empty) means one successful method is enough.
  explicit AuthMethodLists(const std::vector<std::string>& lists);

  // Whether `method` ("publickey", "password", ...) may be tried now: it is the next one of a
  // list whose earlier methods have all succeeded.
  bool may_try(const std::string& method) const;
  // Records that `method` succeeded; true when a list is complete (the user is authenticated).
  bool succeeded(const std::string& method);
  // The methods that may continue, among `enabled`, in the order of `enabled`.
  std::vector<std::string> next(const std::vector<std::string>& enabled) const;
  // The methods that succeeded so far, in order (for ExposeAuthInfo and logs).
  const std::vector<std::string>& done() const { return m_done; }

 private:
  bool m_any = true;
  std::vector<std::vector<std::string>> m_lists;  // method names without ":submethod"
  std::vector<std::string> m_done;
};

// ExposeAuthInfo (sshd_config(5)): writes the methods that authenticated the user, one a line
// ("publickey ssh-ed25519 AAAA...", "password"), to a new 0600 file in /tmp owned by the user.
// Returns its path for SSH_USER_AUTH, or "" (logged) when it cannot be written.
std::string write_auth_info(const std::vector<std::string>& lines, uid_t uid, gid_t gid);

}  // namespace postern::monitor
