// Signal names as the connection protocol spells them (RFC 4254 §6.10: without the "SIG"
// prefix), for the "signal" and "exit-signal" channel requests.
#pragma once

#include <string>
#include <string_view>

namespace postern::session {

// The signal number for an RFC 4254 §6.10 name, or 0 when it is not one we deliver.
int signal_from_name(std::string_view name);
// The name for exit-signal. Signals outside §6.10's list are reported as "SIG@openssh.com",
// the spelling OpenSSH's client already understands.
std::string signal_name(int signo);

}  // namespace postern::session
