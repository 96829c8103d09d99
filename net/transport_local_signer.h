// A HostKeySigner over private keys held in this process: for the probe server, tests, and any
// process that legitimately holds the host keys (the monitor). The pre-auth child never uses it.
#pragma once

#include <string>
#include <vector>

#include "common/ssh_key.h"
#include "net/host_key_signer.h"

namespace postern::net {

class LocalHostKeySigner : public HostKeySigner {
 public:
  explicit LocalHostKeySigner(std::vector<PrivateKey> keys) : m_keys(std::move(keys)) {}

  // Every signature algorithm of every key, keys in the order given.
  std::vector<std::string> algorithms() const override;
  Bytes public_key_blob(std::string_view algorithm) const override;
  Result<Bytes> sign(std::string_view algorithm, ByteView data) override;

 private:
  const PrivateKey* find(std::string_view algorithm) const;
  std::vector<PrivateKey> m_keys;
};

}  // namespace postern::net
