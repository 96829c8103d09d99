// `sshd-user`, the post-auth session process (docs/architecture.md). Started by the monitor as root
// with a fresh exec; receives the user, the effective configuration and the transport state;
// becomes the user (ChrootDirectory, supplementary groups, gid, uid, no capabilities), imports the
// transport and runs the connection protocol (session/). Re-key signatures and ptys come from the
// monitor.
//
// fd 3: ipc channel to the monitor; fd 4: the client connection.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <string>

#include "common/config/server_config.h"
#include "common/data_limit.h"
#include "common/ipc.h"
#include "common/ipc_messages.h"
#include "common/log.h"
#include "common/openssl_init.h"
#include "net/transport.h"
#include "privsep_child/chroot.h"
#include "privsep_child/group_list.h"
#include "privsep_child/monitor_host_key_signer.h"
#include "privsep_child/monitor_privileged_ops.h"
#include "privsep_child/privilege_drop.h"
#include "privsep_child/server_transport_config.h"
#include "privsep_child/setup.h"
#include "session/session.h"
#include "session/session_options.h"

namespace postern::session {
namespace {

int run() {
  auto [channel, sock] = privsep_child::adopt_child_fds();

  // Log lines go to the monitor, which writes them where the configuration says.
  auto setup = privsep_child::receive_setup_from_monitor<ipc::UserSetup>(channel, "sshd-user");
  auto cfg = config::deserialize_config(setup.config);
  if (!cfg) fatal("bad configuration from the monitor: %s", cfg.error().message.c_str());
  config::apply_log_verbose(*cfg);  // LogVerbose, after Match (common/config/log_verbose.cpp)

  Account user{setup.user, uid_t(setup.uid), gid_t(setup.gid), setup.home, setup.shell};
  ConnectionEnds peer{{setup.remote_addr, int(setup.remote_port)},
                      {setup.local_addr, int(setup.local_port)}};
  // Soft only: the user's programs get the old limit back before exec (session/child_process).
  if (auto r = cap_data_limit(kSessionDataLimit, /*hard=*/false); !r)
    fatal("%s", r.error().message.c_str());
  auto groups = privsep_child::decode_groups(setup.groups);
  if (!groups) fatal("bad UserSetup from the monitor: %s", groups.error().message.c_str());
  privsep_child::become_user(user, *groups, *cfg);
  bool chrooted = privsep_child::chroot_configured(cfg->chroot_directory);
  privsep_child::enter_home_directory(user.home, chrooted);

  privsep_child::MonitorHostKeySigner signer(channel, setup.host_key_algorithms,
                                             setup.host_key_blobs);
  net::TransportConfig tc = privsep_child::server_transport_config(*cfg, signer, channel);
  net::TransportState state{std::move(setup.transport_state)};
  auto transport = net::Transport::import_state(tc, state);
  state.bytes.clear();

  SessionOptions opts = session_options_from_config(*cfg, setup);
  opts.chrooted = chrooted;
  privsep_child::MonitorPrivilegedOps ops(channel);
  return run_connection(*transport, sock.get(), user, peer, opts, ops);
}

}  // namespace
}  // namespace postern::session

int main() {
  postern::init_openssl_without_exit_handler();
  try {
    return postern::session::run();
  } catch (const std::exception& e) {
    postern::fatal("sshd-user: %s", e.what());
  }
}
