// The listening sockets of sshd: one per ListenAddress × Port, IPv4 and IPv6 (AddressFamily),
// logged as OpenSSH logs them ("Server listening on 127.0.0.1 port 2222.").
#pragma once

#include <string>
#include <vector>

#include "common/config/server_config.h"
#include "common/endpoint.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace postern::monitor {

struct ListenSocket {
  UniqueFd fd;
  std::string address;  // numeric
  int port = 0;
  bool proxy_door = false;  // sshd -B: a proxy_listen socket (the ProxyCommand front door)
};

// Binds and listens on every configured endpoint. A failure to bind one is logged and skipped;
// none bound is an error ("Cannot bind any address.").
Result<std::vector<ListenSocket>> bind_listeners(const config::ServerConfig& config);

// sshd -B: the policy's proxy_listen addresses ("address:port", "[v6]:port"), appended to `out`
// as proxy front door sockets. One that cannot be bound is logged and skipped, as above.
void bind_proxy_listeners(const std::vector<std::string>& addresses,
                          const config::ServerConfig& config, std::vector<ListenSocket>& out);

// The numeric address and port of a socket's peer and of its own end; the defaults ("UNKNOWN",
// 65535) when the socket has none (not TCP, or already closed).
Endpoint peer_endpoint(int fd);
Endpoint local_endpoint(int fd);

}  // namespace postern::monitor
