// `sshd-user`, the post-auth session process (DESIGN.md). Started by the monitor as root with a
// fresh exec; receives the user, the effective configuration and the transport state; becomes the
// user (ChrootDirectory, supplementary groups, gid, uid, no capabilities), imports the transport
// and runs the connection protocol (session/). Re-key signatures and ptys come from the monitor.
//
// fd 3: ipc channel to the monitor; fd 4: the client connection.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "common/config/server_config.h"
#include "common/data_limit.h"
#include "common/ipc.h"
#include "common/ipc_messages.h"
#include "common/log.h"
#include "net/transport.h"
#include "privsep_child/chroot.h"
#include "privsep_child/monitor_host_key_signer.h"
#include "privsep_child/monitor_privileged_ops.h"
#include "privsep_child/privilege_drop.h"
#include "privsep_child/server_transport_config.h"
#include "privsep_child/setup.h"
#include "session/session.h"

namespace postern::session {
namespace {

constexpr int kChannelFd = 3;
constexpr int kSocketFd = 4;

int run() {
  ::signal(SIGPIPE, SIG_IGN);
  ::fcntl(kChannelFd, F_SETFD, FD_CLOEXEC);
  ::fcntl(kSocketFd, F_SETFD, FD_CLOEXEC);
  ipc::Channel channel{UniqueFd(kChannelFd)};
  UniqueFd sock(kSocketFd);

  // Log lines go to the monitor, which writes them where the configuration says.
  auto setup = privsep_child::receive_setup_from_monitor<ipc::UserSetup>(channel, "sshd-user");
  auto cfg = config::deserialize_config(setup.config);
  if (!cfg) fatal("bad configuration from the monitor: %s", cfg.error().message.c_str());
  config::apply_log_verbose(*cfg);  // LogVerbose, after Match (common/config/log_verbose.cpp)

  LoginUser user{setup.user, uid_t(setup.uid), gid_t(setup.gid), setup.home, setup.shell};
  PeerInfo peer{setup.remote_addr, int(setup.remote_port), setup.local_addr, int(setup.local_port)};
  // Soft only: the user's programs get the old limit back before exec (session/child_process).
  if (auto r = cap_data_limit(kSessionDataLimit, /*hard=*/false); !r)
    fatal("%s", r.error().message.c_str());
  privsep_child::become_user(user, *cfg);
  user.chrooted = privsep_child::chroot_configured(cfg->chroot_directory);
  privsep_child::enter_home_directory(user.home, user.chrooted);

  privsep_child::MonitorHostKeySigner signer(channel, setup.host_key_algorithms,
                                             setup.host_key_blobs);
  net::TransportConfig tc = privsep_child::server_transport_config(*cfg, signer, channel);
  net::TransportState state{std::move(setup.transport_state)};
  auto transport = net::Transport::import_state(tc, state);
  state.bytes.clear();

  SessionOptions opts;
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
  ForwardPolicy& fw = opts.forward;
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
  privsep_child::MonitorPrivilegedOps ops(channel);
  return run_connection(*transport, sock.get(), user, peer, opts, ops);
}

}  // namespace
}  // namespace postern::session

int main() {
  try {
    return postern::session::run();
  } catch (const std::exception& e) {
    postern::fatal("sshd-user: %s", e.what());
  }
}
