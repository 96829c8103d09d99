// What the transport needs of the server's host keys. In the pre-auth child and the session
// process this is a stub that asks the monitor, which alone holds the private keys
// (docs/architecture.md).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"

namespace postern::net {

class HostKeySigner {
 public:
  virtual ~HostKeySigner() = default;
  // Host key algorithms that can be offered ("ssh-ed25519", "rsa-sha2-512", ...), in preference
  // order.
  virtual std::vector<std::string> algorithms() const = 0;
  // The public key blob (K_S) used with that algorithm.
  virtual Bytes public_key_blob(std::string_view algorithm) const = 0;
  // An SSH signature blob over data (the exchange hash) with that algorithm.
  virtual Result<Bytes> sign(std::string_view algorithm, ByteView data) = 0;
};

}  // namespace postern::net
