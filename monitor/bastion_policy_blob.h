// sshd -B: the bastion policy the listener read and checked, carried to each connection's
// monitor in a sealed memfd (a policy with many users outgrows an ipc datagram). The listener
// reads the files once per start or SIGHUP, so every connection decides with the policy that was
// checked, never a half-edited file.
#pragma once

#include "bastion/policy.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace postern::monitor {

// Reads, parses and checks the policy that `policy_path` names: both files parse and the CA key
// loads. Errors name the file, the line and the key (bastion/policy.h).
Result<bastion::PolicyText> load_checked_bastion_policy(const std::string& policy_path);

// The policy text in a sealed, read-only memfd.
Result<UniqueFd> policy_to_memfd(const bastion::PolicyText& text);
// Reads it back (bounded) in the monitor.
Result<bastion::PolicyText> policy_from_memfd(int fd);

}  // namespace postern::monitor
