// Listening sockets the client asked for: tcpip-forward (RFC 4254 §7.1) and
// streamlocal-forward@openssh.com (OpenSSH PROTOCOL §2.4). Each accepted connection becomes a
// channel the connection opens towards the client.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace postern::session {

struct ForwardListener {
  bool unix_socket = false;
  bool x11 = false;            // an X11 display: connections become "x11" channels
  std::vector<UniqueFd> fds;   // one per bound address (IPv4 and IPv6 for a wildcard)
  std::string requested_host;  // as the client sent it; echoed in forwarded-tcpip
  uint32_t requested_port = 0;
  uint32_t bound_port = 0;  // the port actually bound (the allocated one for port 0)
  std::string path;         // the Unix socket's path
};

// Binds `bind_host` ("" for every address, "localhost" for the loopback) on `port` (0: the
// kernel picks one, the same for all addresses).
Result<ForwardListener> listen_tcp(const std::string& bind_host, uint32_t port);
// Binds a Unix socket at `path` with `mask` as umask; `unlink_first` removes a stale socket.
Result<ForwardListener> listen_unix(const std::string& path, mode_t mask, bool unlink_first);

// The peer address of an accepted TCP connection as text and port.
void peer_address(int fd, std::string& addr, uint32_t& port);

}  // namespace postern::session
