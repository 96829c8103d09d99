// Checking a target's host key against the bastion's known_hosts (known_hosts(5): hashed names,
// "[host]:port", @cert-authority, @revoked), with host_key_policy strict or accept-new (a first
// seen key is appended, then strict). Runs in the monitor, which alone holds the file.
#pragma once

#include <string>

#include "bastion/policy.h"
#include "common/bytes.h"

namespace postern::bastion {

struct HostKeyVerdict {
  bool accepted = false;
  bool learned = false;  // accept-new wrote it to known_hosts
  // For the user and the audit log, in these words: "host key for web1 (127.0.0.1 port 2201)
  // is not known: ED25519 key SHA256:..." / "... has CHANGED ..." / "... is revoked ...".
  std::string message;
  std::string fingerprint;  // SHA256:... of the key (the CA's for a certificate)
};

// `host_key_blob` as the target sent it (a plain key or a host certificate). Looks it up under
// the target's address and, when it has one, its name, both with the port ([host]:port unless
// 22). With accept-new an unknown host (no line for its names at all) is learned; a host whose
// names have other keys is refused as changed.
HostKeyVerdict check_target_host_key(const std::string& known_hosts_path, HostKeyPolicy policy,
                                     const std::string& target_name, const std::string& address,
                                     int port, ByteView host_key_blob, uint64_t now);

}  // namespace postern::bastion
