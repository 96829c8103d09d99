// sshd-net on a proxy_listen connection (sshd -B, ../shared/BASTION.md "Processes"): before the
// SSH version exchange it reads the proxy request (bastion/proxy_request.h), bounded and with a
// deadline, and answers it: success at once, since the target is decided by the monitor only
// after authentication; then SSH runs on the same stream with the bastion's own host key.
// Here, in the jailed unprivileged child, and never in a root process.
#pragma once

#include <cstdint>
#include <string>

#include "bastion/proxy_request.h"
#include "common/bytes.h"

namespace postern::net {

struct ProxyFrontDoorRequest {
  bool ok = false;
  bastion::ProxyKind kind = bastion::ProxyKind::kHttpConnect;
  std::string host;
  uint16_t port = 0;
  Bytes leftover;     // what the client sent behind the request: its first SSH bytes
  std::string error;  // !ok: why (refused, too slow, closed), for the log
};

// Reads the request from `sock` (non-blocking) and writes the replies, all within `timeout_ms`.
// A refused, incomplete or late request has been answered with its protocol's error reply.
ProxyFrontDoorRequest serve_proxy_request(int sock, int timeout_ms);

}  // namespace postern::net
