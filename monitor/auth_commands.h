// AuthorizedKeysCommand (sshd_config(5)): a program run as AuthorizedKeysCommandUser whose output
// is read as authorized_keys lines. Runs from the monitor; the program gets an empty environment,
// /dev/null as input, and its output is bounded.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "common/authorized_keys.h"
#include "common/config/server_config.h"
#include "common/ssh_key.h"
#include "monitor/auth_pubkey.h"

namespace postern::monitor {

// Expands %X tokens from `values` (indexed by the letter); %% is a percent sign, unknown tokens
// stay as written.
std::string expand_tokens(const std::string& text, const std::map<char, std::string>& values);

// The command line with sshd_config(5)'s tokens expanded: %% %u %U %h %t (key type) %f
// (fingerprint) %k (base64 key blob).
std::string expand_keys_command(const std::string& command, const KeyOwner& user,
                                const std::string& key_type, const std::string& fingerprint,
                                const std::string& key_base64);

// Runs the command as `run_as` (`what` names the option in logs) and returns its standard output,
// or nullopt (logged) when it cannot run, exits non-zero or says too much.
std::optional<std::string> run_keys_command(const std::string& command_line,
                                            const std::string& run_as,
                                            const char* what = "AuthorizedKeysCommand");

// The whole AuthorizedKeysCommand check for a plain key (nullopt when unset or not found).
std::optional<AuthorizedKeyMatch> keys_command_authorizes(const KeyOwner& user,
                                                          const PublicKey& key,
                                                          const config::ServerConfig& config,
                                                          const std::string& client_ip);

}  // namespace postern::monitor
