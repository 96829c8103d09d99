// The connection protocol (RFC 4254) as the session process runs it after authentication:
// session/user_main.cpp receives the state from the monitor, drops privileges and imports the
// transport, then hands the connection to run_connection().
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "common/account.h"
#include "common/bytes.h"
#include "common/endpoint.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "net/transport.h"
#include "session/forward_policy.h"
#include "session/session_options.h"

namespace postern::session {

// The client's connection: its end (logs, SSH_CLIENT, internal-sftp) and ours (SSH_CONNECTION).
struct ConnectionEnds {
  Endpoint remote;
  Endpoint local;
};

struct PtyAllocation {
  UniqueFd master;
  UniqueFd slave;
  std::string tty_name;  // "/dev/pts/3"
};

struct TunAllocation {
  UniqueFd fd;
  std::string name;  // "tun0"
};

// Privileged operations the session process asks of the monitor (over IPC).
class PrivilegedOps {
 public:
  virtual ~PrivilegedOps() = default;
  // Opens a pty whose slave is owned by the user with mode 0620 (group tty).
  virtual Result<PtyAllocation> allocate_pty() = 0;
  // utmp, wtmp and lastlog for a session on a pty this connection allocated (the monitor writes
  // them, monitor/login_records.h). Returns the "Last login: ...\r\n" line of the login
  // before, "" when none. By default no records are kept.
  virtual Result<std::string> record_login(const std::string& tty_name) {
    (void)tty_name;
    return std::string();
  }
  virtual void record_logout(const std::string& tty_name) { (void)tty_name; }
  // Host key rotation (OpenSSH PROTOCOL §2.5; session/hostkeys_global.h): the public keys to
  // announce, and signatures proving the requested ones. By default there are none.
  virtual Result<std::vector<Bytes>> host_keys() { return Unexpected("no host keys"); }
  virtual Result<std::vector<Bytes>> prove_host_keys(const std::vector<Bytes>& keys) {
    (void)keys;
    return Unexpected("no host keys");
  }
  // tun@openssh.com (PROTOCOL §2.3; session/tun_forward.h): a tun/tap device opened by the
  // monitor after its policy checks. `mode` 1 point-to-point, 2 ethernet; `unit` 0x7fffffff
  // for any. By default refused.
  virtual Result<TunAllocation> open_tun(uint32_t mode, uint32_t unit) {
    (void)mode, (void)unit;
    return Unexpected("tunnel forwarding is not available");
  }
};

// Runs the connection protocol on an established, authenticated transport until the connection
// ends (peer disconnect, all channels closed after the client says so, or an error). The caller
// has already dropped privileges to `user`. `sock` is the client socket. Returns the process
// exit status (0 normal). Logs what OpenSSH logs for sessions.
int run_connection(net::Transport& transport, int sock, const Account& user,
                   const ConnectionEnds& peer, const SessionOptions& options,
                   PrivilegedOps& privileged);

}  // namespace postern::session
