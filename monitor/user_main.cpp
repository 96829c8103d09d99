// `sshd-user`, the post-auth session process (DESIGN.md). Started by the monitor as root with a
// fresh exec; receives the user, the effective configuration and the transport state; becomes the
// user (ChrootDirectory, supplementary groups, gid, uid, no capabilities), imports the transport
// and runs the connection protocol (session/). Re-key signatures and ptys come from the monitor.
//
// fd 3: ipc channel to the monitor; fd 4: the client connection.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "common/config/server_config.h"
#include "common/data_limit.h"
#include "common/ipc.h"
#include "common/ipc_messages.h"
#include "common/log.h"
#include "monitor/chroot.h"
#include "net/monitor_client.h"
#include "net/sandbox.h"
#include "net/transport.h"
#include "postern_config.h"
#include "session/session.h"

namespace postern::monitor {
namespace {

constexpr int kChannelFd = 3;
constexpr int kSocketFd = 4;

class MonitorPrivilegedOps : public session::PrivilegedOps {
 public:
  explicit MonitorPrivilegedOps(ipc::Channel& ch) : m_ch(ch) {}
  Result<session::PtyAllocation> allocate_pty() override {
    auto r = m_ch.call(ipc::PtyRequest{});
    if (!r) return Unexpected(r.error());
    if (r->fds.size() != 2) throw ProtocolError("monitor: pty reply without two descriptors");
    session::PtyAllocation a;
    a.master = std::move(r->fds[0]);
    a.slave = std::move(r->fds[1]);
    a.tty_name = r->tty_name;
    return a;
  }
  Result<std::string> record_login(const std::string& tty_name) override {
    auto r = m_ch.call(ipc::LoginRecordRequest{tty_name});
    if (!r) return Unexpected(r.error());
    return std::move(r->last_login);
  }
  void record_logout(const std::string& tty_name) override {
    m_ch.send(ipc::LogoutRecordRequest{tty_name});
  }
  // Host key rotation (OpenSSH PROTOCOL §2.5) and tun devices (§2.3): the monitor decides.
  Result<std::vector<Bytes>> host_keys() override {
    auto r = m_ch.call(ipc::HostKeysRequest{});
    if (!r) return Unexpected(r.error());
    return std::move(r->keys);
  }
  Result<std::vector<Bytes>> prove_host_keys(const std::vector<Bytes>& keys) override {
    auto r = m_ch.call(ipc::HostKeysProveRequest{keys});
    if (!r) return Unexpected(r.error());
    if (r->signatures.size() != keys.size())
      throw ProtocolError("monitor: hostkeys-prove reply with the wrong number of signatures");
    return std::move(r->signatures);
  }
  Result<session::TunAllocation> open_tun(uint32_t mode, uint32_t unit) override {
    auto r = m_ch.call(ipc::TunOpenRequest{mode, unit});
    if (!r) return Unexpected(r.error());
    if (r->fds.size() != 1) throw ProtocolError("monitor: tun reply without one descriptor");
    return session::TunAllocation{std::move(r->fds[0]), r->name};
  }

 private:
  ipc::Channel& m_ch;
};

// Becomes the user, as a login does: groups, gid, uid, no capabilities, no way back.
void become_user(const session::LoginUser& u, const config::ServerConfig& cfg) {
  if (::initgroups(u.name.c_str(), u.gid) != 0) fatal("initgroups: %s", std::strerror(errno));
  if (chroot_configured(cfg.chroot_directory))
    enter_chroot(cfg.chroot_directory, u.name, u.home, u.uid);  // monitor/chroot.h
  if (::setresgid(u.gid, u.gid, u.gid) != 0) fatal("setresgid %u: %s", u.gid, std::strerror(errno));
  if (u.uid != 0) {
    if (auto r = net::drop_capability_bounding_set(); !r) fatal("%s", r.error().message.c_str());
    if (::setresuid(u.uid, u.uid, u.uid) != 0)
      fatal("setresuid %u: %s", u.uid, std::strerror(errno));
    if (auto r = net::clear_capabilities(); !r) fatal("%s", r.error().message.c_str());
    if (::setuid(0) == 0 || ::seteuid(0) == 0) fatal("privilege drop failed: could regain root");
  }
  // The process holds the session keys: the user may not attach a debugger to it.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int run() {
  ::signal(SIGPIPE, SIG_IGN);
  ::fcntl(kChannelFd, F_SETFD, FD_CLOEXEC);
  ::fcntl(kSocketFd, F_SETFD, FD_CLOEXEC);
  ipc::Channel channel{UniqueFd(kChannelFd)};
  UniqueFd sock(kSocketFd);

  // Log lines go to the monitor, which writes them where the configuration says.
  auto setup = net::receive_setup_from_monitor<ipc::UserSetup>(channel, "sshd-user");
  auto cfg = config::deserialize_config(setup.config);
  if (!cfg) fatal("bad configuration from the monitor: %s", cfg.error().message.c_str());
  config::apply_log_verbose(*cfg);  // LogVerbose, after Match (common/config/log_verbose.cpp)

  session::LoginUser user{setup.user, uid_t(setup.uid), gid_t(setup.gid), setup.home, setup.shell};
  session::PeerInfo peer{setup.remote_addr, int(setup.remote_port), setup.local_addr,
                         int(setup.local_port)};
  // Soft only: the user's programs get the old limit back before exec (session/child_process).
  if (auto r = cap_data_limit(kSessionDataLimit, /*hard=*/false); !r)
    fatal("%s", r.error().message.c_str());
  become_user(user, *cfg);
  user.chrooted = chroot_configured(cfg->chroot_directory);
  enter_home_directory(user.home, user.chrooted);

  net::MonitorHostKeySigner signer(channel, setup.host_key_algorithms, setup.host_key_blobs);
  net::TransportConfig tc = net::server_transport_config(*cfg, signer, channel);
  net::TransportState state{std::move(setup.transport_state)};
  auto transport = net::Transport::import_state(tc, state);
  state.bytes.clear();

  session::SessionOptions opts;
  opts.accept_env = cfg->accept_env;
  for (const auto& s : cfg->subsystems) opts.subsystems.emplace_back(s.name, s.command);
  opts.force_command = cfg->force_command;
  opts.permit_tty = cfg->permit_tty;
  opts.print_motd = cfg->print_motd;
  opts.print_last_log = cfg->print_last_log;
  opts.permit_user_rc = cfg->permit_user_rc;
  opts.force_command_from_key = setup.key_command;
  opts.permit_user_environment = cfg->permit_user_environment;
  opts.key_environment = setup.key_environment;
  opts.max_sessions = unsigned(std::max(0, cfg->max_sessions));
  for (const auto& e : cfg->set_env) {
    size_t eq = e.find('=');
    if (eq != std::string::npos) opts.set_env.emplace_back(e.substr(0, eq), e.substr(eq + 1));
  }
  // PAM's environment (pam_getenvlist in the monitor), after SetEnv, whose first value wins.
  for (const auto& e : setup.pam_env) {
    size_t eq = e.find('=');
    if (eq != std::string::npos && eq > 0)
      opts.set_env.emplace_back(e.substr(0, eq), e.substr(eq + 1));
  }
  session::ForwardPolicy& fw = opts.forward;
  fw.allow_tcp = cfg->allow_tcp_forwarding;
  fw.allow_streamlocal = cfg->allow_stream_local_forwarding;
  fw.allow_agent = cfg->allow_agent_forwarding;
  fw.disable_all = cfg->disable_forwarding;
  fw.permit_open = cfg->permit_open;
  fw.permit_listen = cfg->permit_listen;
  fw.key_permit_open = setup.key_permit_open;
  fw.key_permit_listen = setup.key_permit_listen;
  fw.gateway_ports = cfg->gateway_ports;
  fw.stream_local_bind_mask = unsigned(cfg->stream_local_bind_mask);
  fw.stream_local_bind_unlink = cfg->stream_local_bind_unlink;
  opts.client_alive_interval = unsigned(std::max(0, cfg->client_alive_interval));
  opts.client_alive_count_max = unsigned(std::max(0, cfg->client_alive_count_max));
  opts.unused_connection_timeout = unsigned(std::max(0, cfg->unused_connection_timeout));
  opts.channel_timeouts = cfg->channel_timeout;
  opts.x11_forwarding = cfg->x11_forwarding;
  opts.x11_display_offset = unsigned(std::max(0, cfg->x11_display_offset));
  opts.x11_use_localhost = cfg->x11_use_localhost;
  if (!cfg->xauth_location.empty()) opts.xauth_location = cfg->xauth_location;
  MonitorPrivilegedOps ops(channel);
  return session::run_connection(*transport, sock.get(), user, peer, opts, ops);
}

}  // namespace
}  // namespace postern::monitor

int main() {
  try {
    return postern::monitor::run();
  } catch (const std::exception& e) {
    postern::fatal("sshd-user: %s", e.what());
  }
}
