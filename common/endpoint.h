// One end of a TCP connection as the processes log it and sshd_config(5)'s host patterns see it.
// The monitor fills it from the socket (monitor/listener.h) and, with UseDNS, the verified name
// (monitor/peer_name.h); the children receive the address and port in their setup.
#pragma once

#include <string>

namespace postern {

struct Endpoint {
  std::string address = "UNKNOWN";  // numeric, IPv4-mapped IPv6 shown as IPv4
  int port = 65535;
  // UseDNS yes: the peer's verified host name; empty otherwise. Braced so that an initializer
  // of address and port alone stays warning-free (-Wmissing-field-initializers).
  std::string name{};
  // The host as sshd_config's host patterns see it (Match Host, from=, USER@HOST): the verified
  // name when there is one, else the address.
  const std::string& host() const { return name.empty() ? address : name; }
};

}  // namespace postern
