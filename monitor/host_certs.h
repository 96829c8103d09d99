// HostCertificate (sshd_config(5)): each certificate is served with the host key it certifies,
// under the certificate's algorithm names ("ssh-ed25519-cert-v01@openssh.com", ...); K_S is then
// the certificate blob and the signature is made by the host key (PROTOCOL.certkeys).
#pragma once

#include <string>
#include <vector>

#include "monitor/monitor.h"

namespace postern::monitor {

// Adds the entries for the certificates in `paths` whose key is one of `keys` (any HostKey, not
// only the first of its type), ahead of the plain entries (as sshd prefers certificates).
// Unusable files are logged and skipped.
void add_host_certificates(std::vector<HostKeyEntry>& entries,
                           const std::vector<std::shared_ptr<const PrivateKey>>& keys,
                           const std::vector<std::string>& paths);

}  // namespace postern::monitor
