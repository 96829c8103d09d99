// The direct-mode user name (../shared/BASTION.md "How people connect"): what the client sends
// as its user name names the target account, the target and the bastion user, separated by '%'
// (which survives scp, sftp, rsync and Ansible, where ':' and '@' do not):
//
//   targetuser%target%bastionuser
//   targetuser%target%port%bastionuser         (a number is a port)
//   targetuser%target%extender%bastionuser     (anything else names an extender)
//
// and resolving a target as typed against the policy. Pure functions; the monitor calls them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "bastion/policy.h"
#include "common/result.h"

namespace postern::bastion {

struct Route {
  std::string target_user;
  std::string target;  // as typed: a target name, an address or a host name
  int port = 0;        // 0: the target's own (or 22)
  std::string extender;
  std::string bastion_user;
};

// nullopt: no '%' at all, a plain bastion user (jump mode or the picker). An error for a name
// with '%' that is not one of the forms above: empty parts, too many parts, a port out of range,
// bytes outside printable ASCII, more than 256 bytes. The message is safe to show the user.
Result<std::optional<Route>> parse_route(std::string_view user_name);

// A target as the policy sees a connection to it.
struct ResolvedTarget {
  const Target* target = nullptr;  // the [[target]] it is, or nullptr for an address a role's
                                   // pattern may allow
  std::string name;                // the target's name, or the address/host as typed
  std::string address;             // what to connect to
  int port = 22;
};

// `typed` is a [[target]] name, or an address (or host name) and port that a [[target]] names
// (then it is that target), or else an address or host name that only roles' address patterns
// can allow (target == nullptr). nullopt for text that is neither a name nor a plausible host
// (control characters, spaces, empty). `port` 0 means the target's port, else 22.
std::optional<ResolvedTarget> resolve_target(const Policy& policy, std::string_view typed,
                                             int port);

}  // namespace postern::bastion
