#include "privsep_child/monitor_host_key_signer.h"

#include "common/ipc_messages.h"
#include "common/log.h"

namespace postern::privsep_child {

MonitorHostKeySigner::MonitorHostKeySigner(ipc::Channel& monitor,
                                           std::vector<std::string> algorithms,
                                           std::vector<Bytes> blobs)
    : m_monitor(monitor), m_algorithms(std::move(algorithms)), m_blobs(std::move(blobs)) {
  if (m_algorithms.size() != m_blobs.size()) fatal("bad host key list from the monitor");
}

Bytes MonitorHostKeySigner::public_key_blob(std::string_view algorithm) const {
  for (size_t i = 0; i < m_algorithms.size(); ++i)
    if (m_algorithms[i] == algorithm) return m_blobs[i];
  return {};
}

Result<Bytes> MonitorHostKeySigner::sign(std::string_view algorithm, ByteView data) {
  auto r =
      m_monitor.call(ipc::SignRequest{std::string(algorithm), Bytes(data.begin(), data.end())});
  if (!r) return Unexpected(r.error());
  return std::move(r->signature);
}

}  // namespace postern::privsep_child
