// sshd -B: the monitor opens every connection to a target itself, after the policy allowed it,
// and passes the socket to sshd-bastion (which cannot create sockets).
#pragma once

#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace postern::monitor {

// Connects to `host` (a name or an address) on `port`, trying each address getaddrinfo gives
// in turn, within `timeout_ms` overall. The socket is blocking, close-on-exec, with TCP_NODELAY
// (keystrokes through the relay must not wait for Nagle) and SO_KEEPALIVE. Errors read as a
// user would want them: "connection refused", "timed out after 10 s", "no such host".
Result<UniqueFd> connect_target(const std::string& host, int port, int timeout_ms);

}  // namespace postern::monitor
