// sshd_config(5) HostKeyAgent: host keys whose private halves an ssh-agent holds. A HostKey
// whose private key file cannot be read is then served from its public key (the file itself,
// or FILE.pub) when the agent has that key, and the monitor asks the agent for each signature
// (draft-miller-ssh-agent §4.5), one short connection per signature.
#pragma once

#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/result.h"
#include "common/ssh_key.h"

namespace postern::monitor {

// Longest wait for the agent, per connection (a stuck agent must not hold a login forever).
inline constexpr int kAgentTimeoutSeconds = 10;

// The socket HostKeyAgent names: "SSH_AUTH_SOCK" stands for the socket that environment
// variable names; "" when there is none (unset, "none", or the variable empty).
std::string host_key_agent_socket(const std::string& configured);

// draft-miller-ssh-agent §4.5.1: the flags that choose RSA's SHA-2 signatures.
uint32_t agent_sign_flags(std::string_view algorithm);

// Asks the agent at `socket` to sign `data` with `key` as `algorithm`; the signature blob.
Result<Bytes> agent_sign(const std::string& socket, const PublicKey& key,
                         std::string_view algorithm, ByteView data);

// A HostKey whose private file could not be loaded: its public key from `path` or `path`.pub,
// signing through the agent, which must hold it.
Result<PrivateKey> agent_host_key(const std::string& socket, const std::string& path);

}  // namespace postern::monitor
