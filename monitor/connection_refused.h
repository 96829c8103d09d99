// RefuseConnection (OpenSSH 10.0 sshd_config(5)): a Match block that applies to a connection,
// or the global setting, ends it. The monitor checks once the addresses are known (before the
// key exchange) and again with the user name (PWNAM); the second throws this, which
// sshd-session's pre-auth loop catches: the child is stopped, the line logged, the connection
// closed. The listener then applies PerSourcePenalties' refuseconnection penalty
// (monitor/session_outcome.h 'R').
#pragma once

#include <stdexcept>

namespace postern::monitor {

class ConnectionRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace postern::monitor
