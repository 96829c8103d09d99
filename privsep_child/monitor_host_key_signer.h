// The host keys as a child of the monitor sees them: the public halves arrive in its setup, the
// private halves stay in the monitor, which signs on request (docs/architecture.md: no unprivileged
// process holds a host key).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/ipc.h"
#include "common/result.h"
#include "net/host_key_signer.h"

namespace postern::privsep_child {

class MonitorHostKeySigner : public net::HostKeySigner {
 public:
  // Fatal unless there is one blob per algorithm.
  MonitorHostKeySigner(ipc::Channel& monitor, std::vector<std::string> algorithms,
                       std::vector<Bytes> blobs);
  std::vector<std::string> algorithms() const override { return m_algorithms; }
  Bytes public_key_blob(std::string_view algorithm) const override;
  Result<Bytes> sign(std::string_view algorithm, ByteView data) override;

 private:
  ipc::Channel& m_monitor;
  std::vector<std::string> m_algorithms;
  std::vector<Bytes> m_blobs;
};

}  // namespace postern::privsep_child
