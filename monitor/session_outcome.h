// How a connection's pre-authentication phase ended, as sshd-session tells the listener
// (PerSourcePenalties, OpenSSH 9.8's sshd_config(5)).
//
// The channel is the startup pipe the listener already hands every sshd-session as fd 4 (it
// counts the connection against MaxStartups until the pipe closes). Just before closing it,
// sshd-session writes exactly one of these bytes:
//
//   'A'  authenticated: the session goes on; no penalty, the startup slot is free
//   'F'  authfail: the client tried authentication (a key, a password, keyboard-interactive) and
//        failed, up to MaxAuthTries or until it gave up
//   'I'  invaliduser (OpenSSH 10): as 'F', for a user name that is no valid account
//   'N'  noauth: the client went away without trying any method but "none" (a port scanner, a
//        banner grabber, a client that broke the protocol before userauth)
//   'G'  grace-exceeded: LoginGraceTime ran out before authentication
//   'R'  refuseconnection: RefuseConnection (OpenSSH 10.0) ended it (monitor/connection_refused.h)
//   'C'  crash: the unprivileged pre-auth child (sshd-net) died of a signal, or sent the monitor
//        a request out of phase — the marks of an exploit attempt
//
// Before that byte, once, for a connection from a ProxyProtocolFrom load balancer whose PROXY
// header named a client: 'S', the client's numeric address, '\n' (at most 48 bytes, one atomic
// pipe write). The listener then counts and judges the connection by that address rather than
// the load balancer's, and drops it when that address is refused.
//
// A pipe that closes without a byte means sshd-session itself died before it could say: the
// listener calls that a crash when a signal other than an administrator's (TERM, KILL, HUP, INT)
// killed it, and nothing otherwise (a fatal() for a server-side reason such as a missing host key
// is no fault of the client's).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace postern::monitor {

enum class SessionOutcome : char {
  kAuthenticated = 'A',
  kAuthFail = 'F',
  kInvalidUser = 'I',
  kNoAuth = 'N',
  kGraceExceeded = 'G',
  kRefused = 'R',
  kCrash = 'C',
};

inline constexpr char kProxiedSourceRecord = 'S';
inline constexpr size_t kMaxProxiedSourceRecord = 48;  // 'S' + INET6_ADDRSTRLEN + '\n'

// What one read of a startup pipe said (at most one of each, in this order).
struct StartupReport {
  std::optional<std::string> proxied_source;
  std::optional<SessionOutcome> outcome;
  bool eof = false;  // nothing read: the writer closed
};

inline std::optional<SessionOutcome> session_outcome_from_byte(char c);

// `bytes`: one read of the pipe. A malformed source record reads as nothing.
inline StartupReport parse_startup_report(std::string_view bytes) {
  StartupReport r;
  if (bytes.empty()) {
    r.eof = true;
    return r;
  }
  if (bytes[0] == kProxiedSourceRecord) {
    size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos || nl > kMaxProxiedSourceRecord) return r;
    r.proxied_source = std::string(bytes.substr(1, nl - 1));
    bytes.remove_prefix(nl + 1);
  }
  if (!bytes.empty()) r.outcome = session_outcome_from_byte(bytes[0]);
  return r;
}

inline std::optional<SessionOutcome> session_outcome_from_byte(char c) {
  switch (c) {
    case 'A':
    case 'F':
    case 'I':
    case 'N':
    case 'G':
    case 'R':
    case 'C':
      return SessionOutcome(c);
    default:
      return std::nullopt;
  }
}

}  // namespace postern::monitor
