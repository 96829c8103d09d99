// The end of authentication (AUTHDONE: the net child hands over the transport) and the session
// process's requests: ptys and their login records, host key rotation (hostkeys-00 and
// hostkeys-prove-00, PROTOCOL §2.5) and tun devices (PROTOCOL §2.3). Each is bounded per
// connection; anything out of order ends it.
#include <grp.h>
#include <pty.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/ipc_messages.h"
#include "common/log.h"
#include "monitor/host_key_proof.h"
#include "monitor/monitor.h"
#include "monitor/tun_device.h"

namespace postern::monitor {

using namespace ipc;

namespace {

// hostkeys-prove-00 requests one connection may have answered (a client sends one) and tun
// devices it may ask for; past these the monitor refuses.
constexpr unsigned kMaxHostKeyProofs = 8;
constexpr unsigned kMaxTunOpens = 64;

}  // namespace

Phase Monitor::on_auth_done(Channel&, Message& m) {
  auto req = ipc::decode<AuthDone>(m.data.view());
  m_transport_state = std::move(req.transport_state);
  return Phase::kAuthenticated;  // sshd-session sees the state and starts the session process
}

Phase Monitor::on_pty(Channel& ch, Message& m) {
  (void)ipc::decode<PtyRequest>(m.data.view());
  int master = -1, slave = -1;
  char name[128];
  if (::openpty(&master, &slave, name, nullptr, nullptr) != 0) {
    log_error("openpty: %s", std::strerror(errno));
    ch.send(ErrorReply{std::string("openpty: ") + std::strerror(errno)});
    return Phase::kPostauth;
  }
  PtyReply reply;
  reply.fds.emplace_back(master);
  reply.fds.emplace_back(slave);
  reply.tty_name = name;
  m_login_records.pty_allocated(name);
  // The slave belongs to the user, readable by group tty for write(1) (as sshd's pty_setowner).
  group* tty = ::getgrnam("tty");
  gid_t gid = tty != nullptr ? tty->gr_gid : m_user->gid;
  mode_t mode = tty != nullptr ? 0620 : 0600;
  if (::fchown(slave, m_user->uid, gid) != 0 || ::fchmod(slave, mode) != 0)
    log_error("pty: setting owner of %s: %s", name, std::strerror(errno));
  int fds[2] = {master, slave};
  ch.send(reply, fds);
  return Phase::kPostauth;
}

Phase Monitor::on_login_record(Channel& ch, Message& m) {
  // utmp, wtmp and lastlog for a session on a pty (monitor/login_records.h): only for a pty
  // allocated here and not logged in yet; anything else is a misbehaving session process.
  auto req = ipc::decode<LoginRecordRequest>(m.data.view());
  // The host is the UseDNS-verified name when there is one, as in sshd's utmp records.
  auto last =
      m_login_records.login(req.tty_name, m_user->name, m_user->uid, m_peer.host(), ::getpid());
  if (!last) throw ProtocolError("monitor: " + last.error().message);
  ch.send(LoginRecordReply{*last ? last_login_message(**last) : std::string()});
  return Phase::kPostauth;
}

Phase Monitor::on_logout_record(Channel&, Message& m) {
  auto req = ipc::decode<LogoutRecordRequest>(m.data.view());
  if (auto r = m_login_records.logout(req.tty_name); !r)
    throw ProtocolError("monitor: " + r.error().message);
  return Phase::kPostauth;
}

Phase Monitor::on_host_keys(Channel& ch, Message& m) {
  (void)ipc::decode<HostKeysRequest>(m.data.view());
  // Announced once, right after authentication.
  if (m_host_keys_announced) throw ProtocolError("monitor: host keys asked for twice");
  m_host_keys_announced = true;
  ch.send(HostKeysReply{announced_host_keys(loaded_host_keys())});
  return Phase::kPostauth;
}

Phase Monitor::on_host_keys_prove(Channel& ch, Message& m) {
  auto req = ipc::decode<HostKeysProveRequest>(m.data.view());
  Result<std::vector<Bytes>> sigs = Unexpected("too many hostkeys-prove requests");
  if (++m_host_key_proofs <= kMaxHostKeyProofs)
    sigs = prove_host_keys(loaded_host_keys(), req.keys, m_session_id, m_kex_signature_algorithm);
  if (!sigs) {
    log_debug("hostkeys-prove-00@openssh.com refused: %s", sigs.error().message.c_str());
    ch.send(ErrorReply{sigs.error().message});
    return Phase::kPostauth;
  }
  log_debug("hostkeys-prove-00@openssh.com: proved %zu keys", sigs->size());
  ch.send(HostKeysProveReply{std::move(*sigs)});
  return Phase::kPostauth;
}

Phase Monitor::on_tun_open(Channel& ch, Message& m) {
  auto req = ipc::decode<TunOpenRequest>(m.data.view());
  Result<uint32_t> unit = Unexpected("too many tunnel requests");
  if (++m_tun_opens <= kMaxTunOpens)
    unit = decide_tun(m_effective.permit_tunnel, m_key_tun, req.mode, req.unit);
  if (!unit) {
    log_info("refused tun device forwarding for %s from %s port %d: %s", m_user_name.c_str(),
             m_peer.address.c_str(), m_peer.port, unit.error().message.c_str());
    ch.send(ErrorReply{unit.error().message});
    return Phase::kPostauth;
  }
  auto dev = open_tun_device(req.mode, *unit, m_user->name, m_user->uid, m_user->gid);
  if (!dev) {
    log_info("tun device forwarding for %s: %s", m_user_name.c_str(), dev.error().message.c_str());
    ch.send(ErrorReply{dev.error().message});
    return Phase::kPostauth;
  }
  TunOpenReply reply;
  reply.name = dev->name;
  int fds[1] = {dev->fd.get()};
  ch.send(reply, fds);
  return Phase::kPostauth;
}

std::vector<std::shared_ptr<const PrivateKey>> Monitor::loaded_host_keys() const {
  if (!m_all_host_keys.empty()) return m_all_host_keys;
  std::vector<std::shared_ptr<const PrivateKey>> keys;
  for (const auto& e : m_host_keys)
    if (std::find(keys.begin(), keys.end(), e.key) == keys.end()) keys.push_back(e.key);
  return keys;
}

}  // namespace postern::monitor
