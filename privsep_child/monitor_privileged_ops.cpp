#include "privsep_child/monitor_privileged_ops.h"

#include <utility>

#include "common/ipc_messages.h"
#include "common/protocol_error.h"

namespace postern::privsep_child {

Result<session::PtyAllocation> MonitorPrivilegedOps::allocate_pty() {
  auto r = m_ch.call(ipc::PtyRequest{});
  if (!r) return Unexpected(r.error());
  if (r->fds.size() != 2) throw ProtocolError("monitor: pty reply without two descriptors");
  session::PtyAllocation a;
  a.master = std::move(r->fds[0]);
  a.slave = std::move(r->fds[1]);
  a.tty_name = r->tty_name;
  return a;
}

Result<std::string> MonitorPrivilegedOps::record_login(const std::string& tty_name) {
  auto r = m_ch.call(ipc::LoginRecordRequest{tty_name});
  if (!r) return Unexpected(r.error());
  return std::move(r->last_login);
}

void MonitorPrivilegedOps::record_logout(const std::string& tty_name) {
  m_ch.send(ipc::LogoutRecordRequest{tty_name});
}

// Host key rotation (OpenSSH PROTOCOL §2.5) and tun devices (§2.3): the monitor decides.
Result<std::vector<Bytes>> MonitorPrivilegedOps::host_keys() {
  auto r = m_ch.call(ipc::HostKeysRequest{});
  if (!r) return Unexpected(r.error());
  return std::move(r->keys);
}

Result<std::vector<Bytes>> MonitorPrivilegedOps::prove_host_keys(const std::vector<Bytes>& keys) {
  auto r = m_ch.call(ipc::HostKeysProveRequest{keys});
  if (!r) return Unexpected(r.error());
  if (r->signatures.size() != keys.size())
    throw ProtocolError("monitor: hostkeys-prove reply with the wrong number of signatures");
  return std::move(r->signatures);
}

Result<session::TunAllocation> MonitorPrivilegedOps::open_tun(uint32_t mode, uint32_t unit) {
  auto r = m_ch.call(ipc::TunOpenRequest{mode, unit});
  if (!r) return Unexpected(r.error());
  if (r->fds.size() != 1) throw ProtocolError("monitor: tun reply without one descriptor");
  return session::TunAllocation{std::move(r->fds[0]), r->name};
}

}  // namespace postern::privsep_child
