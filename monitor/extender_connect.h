// sshd -B: a target `via` an extender (man/postern-bastion.5 EXTENDERS). The target-opening
// monitor connects to the extender's socket (extender_socket.h) instead of TCP; the extender's
// sshd-bastion turns the stream into a forwarded-tcpip channel (RFC 4254 §7.2) toward the
// extender's `ssh -R 0`, which is a SOCKS server there. The monitor speaks SOCKS5 (RFC 1928)
// through it and hands the socket on only after the CONNECT succeeded, so everything after (host
// key, login, relay, recording) is the same as for a TCP target.
#pragma once

#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace postern::monitor {

// Within `timeout_ms` overall. Errors read as a user would want them: "extender dc2 is not
// connected", "extender dc2 could not connect to db1 port 5432: connection refused (SOCKS reply
// 5)", "extender dc2 did not answer within 10 s". The socket is blocking and close-on-exec.
Result<UniqueFd> connect_via_extender(const std::string& socket_path, const std::string& extender,
                                      const std::string& host, int port, int timeout_ms);

}  // namespace postern::monitor
