// UseDNS (sshd_config(5)): the client's host name, trusted only when the name found by a reverse
// lookup of its address resolves forward to that same address. sshd-session asks once, as root,
// before anything else happens; the name then stands for the client wherever sshd_config uses a
// host: Match Host, from= in authorized_keys, AllowUsers/DenyUsers USER@HOST, PAM_RHOST. Log lines
// keep the address, as OpenSSH's do.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace postern::monitor {

// The two lookups, replaceable in tests. `reverse`: the name for a numeric address (nullopt when
// there is none); `forward`: the numeric addresses of a name, in `address`'s family (nullopt when
// the lookup fails).
struct NameLookups {
  std::function<std::optional<std::string>(const std::string& address)> reverse;
  std::function<std::optional<std::vector<std::string>>(const std::string& name,
                                                        const std::string& address)>
      forward;
};

// getnameinfo(3) and getaddrinfo(3), i.e. /etc/hosts and DNS as nsswitch.conf says.
NameLookups system_name_lookups();

// The verified, lower-cased name of the peer at numeric `address`, or empty when it has none that
// can be trusted. Logs what OpenSSH logs when a name does not check out.
std::string verified_peer_name(const std::string& address, const NameLookups& dns);

}  // namespace postern::monitor
