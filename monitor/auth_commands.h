// AuthorizedKeysCommand and AuthorizedPrincipalsCommand (sshd_config(5)): a program run as
// Authorized*CommandUser whose output is read as authorized_keys lines (or principals lines).
// Runs from the monitor. As sshd requires, the program and every directory above it must be
// owned by root and writable by nobody else; it gets a minimal environment, /dev/null as input,
// and its output is bounded in size and time.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/authorized_keys.h"
#include "common/config/server_config.h"
#include "common/config/tokens.h"
#include "common/ssh_key.h"
#include "monitor/auth_pubkey.h"

namespace postern::monitor {

// The connection, as the %C and %D tokens describe it.
struct CommandConnection {
  std::string client_address = "UNKNOWN";
  int client_port = 65535;
  std::string local_address = "UNKNOWN";
  int local_port = 65535;
  std::string rdomain;  // empty when none
};

// The argument vector for a command line: words split on blanks (quotes group), the tokens of
// `set` expanded in each argument separately (so a value with spaces, like a certificate's key
// ID or %C, stays one argument; the program itself is not expanded). A line naming only the
// program gets the user name as its one argument (sshd_config(5)). The user, connection and
// home tokens (%u %U %h %C %D) are filled here; `values` supplies the key tokens. Errors name
// the bad token or an empty line.
Result<std::vector<std::string>> command_argv(const std::string& line, config::TokenSet set,
                                              config::TokenValues values, const Account& user,
                                              const CommandConnection& conn);

// Checks that `program` is safe to run as sshd requires: an absolute path to a regular file
// owned by root and not writable by group or others, in directories with the same properties
// (after resolving links). Returns the reason when it is not.
std::optional<std::string> unsafe_command_path(const std::string& program);

// Runs argv as `run_as` (`what` names the option in logs) and returns its standard output, or
// nullopt (logged) when it is unsafe, cannot run, exits non-zero or says too much.
std::optional<std::string> run_keys_command(const std::vector<std::string>& argv,
                                            const std::string& run_as,
                                            const char* what = "AuthorizedKeysCommand");

// The whole AuthorizedKeysCommand check for a plain key (nullopt when unset or not found).
std::optional<AuthorizedKeyMatch> keys_command_authorizes(const Account& user, const PublicKey& key,
                                                          const config::ServerConfig& config,
                                                          const CommandConnection& conn);

}  // namespace postern::monitor
