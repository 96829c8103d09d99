// The proxy front door's message (../shared/BASTION.md "Processes": "on a proxy connection
// [sshd-net] first reads the proxy request (bounded) and answers it; the named target is
// untrusted input for the monitor"). Type numbers 160-169 are the front door's.
#pragma once

#include <cstdint>
#include <string>
#include <tuple>

#include "common/ipc.h"

namespace postern::ipc {

// ---- Net child → monitor, on a proxy_listen connection only ----------------------------------

// The target the proxy request named, sent once, before anything else (the key exchange starts
// only after the proxy reply). The monitor checks every field again (monitor/monitor_proxy.cpp)
// and, after authentication, routes to it as the SSH user name's account.
//   byte   160
//   u32    kind    bastion::ProxyKind: 1 HTTP CONNECT, 2 SOCKS4, 3 SOCKS4a, 4 SOCKS5
//   string host    a host name or numeric address (bastion::is_proxy_host, at most 255 bytes)
//   u32    port    1..65535
struct ProxyTarget {
  static constexpr uint8_t kType = 160;
  using Reply = NoReply;
  uint32_t kind = 0;
  std::string host;
  uint32_t port = 0;
  auto fields() { return std::tie(kind, host, port); }
};

}  // namespace postern::ipc
