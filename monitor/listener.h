// The listening sockets of sshd: one per ListenAddress × Port, IPv4 and IPv6 (AddressFamily),
// logged as OpenSSH logs them ("Server listening on 127.0.0.1 port 2222.").
#pragma once

#include <string>
#include <vector>

#include "common/config/server_config.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace postern::monitor {

struct ListenSocket {
  UniqueFd fd;
  std::string address;  // numeric
  int port = 0;
};

// Binds and listens on every configured endpoint. A failure to bind one is logged and skipped;
// none bound is an error ("Cannot bind any address.").
Result<std::vector<ListenSocket>> bind_listeners(const config::ServerConfig& config);

// Numeric host and port of a socket address (IPv4-mapped IPv6 shown as IPv4), as logs show them.
struct Endpoint {
  std::string address = "UNKNOWN";
  int port = 65535;
  // UseDNS yes: the peer's verified host name (monitor/peer_name.h); empty otherwise.
  std::string name;
  // The host as sshd_config's host patterns see it (Match Host, from=, USER@HOST): the verified
  // name when there is one, else the address.
  const std::string& host() const { return name.empty() ? address : name; }
};
Endpoint peer_endpoint(int fd);
Endpoint local_endpoint(int fd);

}  // namespace postern::monitor
