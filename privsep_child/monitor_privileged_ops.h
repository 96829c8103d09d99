// What the session process may not do as the user and asks the monitor for (docs/architecture.md):
// ptys, login records, the host keys' proofs (OpenSSH PROTOCOL §2.5) and tun devices (§2.3).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/ipc.h"
#include "common/result.h"
#include "session/session.h"

namespace postern::privsep_child {

class MonitorPrivilegedOps : public session::PrivilegedOps {
 public:
  explicit MonitorPrivilegedOps(ipc::Channel& ch) : m_ch(ch) {}
  Result<session::PtyAllocation> allocate_pty() override;
  Result<std::string> record_login(const std::string& tty_name) override;
  void record_logout(const std::string& tty_name) override;
  Result<std::vector<Bytes>> host_keys() override;
  Result<std::vector<Bytes>> prove_host_keys(const std::vector<Bytes>& keys) override;
  Result<session::TunAllocation> open_tun(uint32_t mode, uint32_t unit) override;

 private:
  ipc::Channel& m_ch;
};

}  // namespace postern::privsep_child
