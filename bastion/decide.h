// The bastion's access decisions: pure functions over the loaded policy, tested as tables
// (decide_test.cpp). Deny by default: a request is allowed only when one role grants all of it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "bastion/policy.h"
#include "bastion/route.h"

namespace postern::bastion {

// Who asks, from where.
struct Subject {
  std::string user;                 // the bastion user
  std::vector<std::string> groups;  // the system groups of an account (none for policy users)
  std::string client_address;       // the client's address, as text
};

struct Decision {
  bool allowed = false;
  std::string role;    // the role that allowed it, or "" when refused
  std::string reason;  // for the audit log: why, naming the role or what no role grants
  // One line the user may read: names only what the user typed, never a target the user may
  // not know of ("no role lets alice reach root@web9 for shell").
  std::string user_message;
};

// Whether `subject` may use `channel` on `target` as `target_user`. `target_user` empty: a
// connection that does not log in to the target (direct-tcpip in jump mode). `channel` empty:
// any channel (the login-time route check: some role grants the target and account at all).
Decision decide(const Policy& policy, const Subject& subject, const ResolvedTarget& target,
                std::string_view target_user, std::string_view channel);

// Whether `subject` may have the bastion certify its own key for `target_user` on `target`
// (machine to machine): a role that grants the target and account (any channel) and has
// issue_certificates. `target_user` must not be empty. Refused because the granting role lacks
// issue_certificates: the message names that role ("role automation may not issue
// certificates for root@web1").
Decision decide_certificate_issue(const Policy& policy, const Subject& subject,
                                  const ResolvedTarget& target, std::string_view target_user);

// The targets (and their accounts) `subject` may use at all, for the picker and its messages.
// An account "*": any account (a role grants "*" on a target that lists none); ask for one.
struct Reachable {
  const Target* target;
  std::vector<std::string> target_users;
};
std::vector<Reachable> reachable_targets(const Policy& policy, const Subject& subject);

// The role that `decide` allowed by name (for its credential and template).
const Role* role_for(const Policy& policy, const Decision& d);

}  // namespace postern::bastion
