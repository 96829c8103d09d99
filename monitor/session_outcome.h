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
//   'N'  noauth: the client went away without trying any method but "none" (a port scanner, a
//        banner grabber, a client that broke the protocol before userauth)
//   'G'  grace-exceeded: LoginGraceTime ran out before authentication
//   'C'  crash: the unprivileged pre-auth child (sshd-net) died of a signal, or sent the monitor
//        a request out of phase — the marks of an exploit attempt
//
// A pipe that closes without a byte means sshd-session itself died before it could say: the
// listener calls that a crash when a signal other than an administrator's (TERM, KILL, HUP, INT)
// killed it, and nothing otherwise (a fatal() for a server-side reason such as a missing host key
// is no fault of the client's). There is no RefuseConnection keyword in 9.2's or postern's table,
// so 10.0's "refuseconnection" penalty has no cause here.
#pragma once

#include <optional>

namespace postern::monitor {

enum class SessionOutcome : char {
  kAuthenticated = 'A',
  kAuthFail = 'F',
  kNoAuth = 'N',
  kGraceExceeded = 'G',
  kCrash = 'C',
};

inline std::optional<SessionOutcome> session_outcome_from_byte(char c) {
  switch (c) {
    case 'A':
    case 'F':
    case 'N':
    case 'G':
    case 'C':
      return SessionOutcome(c);
    default:
      return std::nullopt;
  }
}

}  // namespace postern::monitor
