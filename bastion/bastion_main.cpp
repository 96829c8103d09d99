// `sshd-bastion`, the bastion's post-auth process (BASTION.md "Processes"). Started by the
// monitor exactly as sshd-user is (fd 3 the ipc channel, fd 4 the client connection, then one
// BastionSetup), but it never becomes the user: it imports the client's transport, enters the
// same jail as sshd-net (chroot to the empty privsep directory, privsep uid, no capabilities,
// no_new_privs, seccomp without socket() or open()), and from then on every descriptor it gets
// comes from the monitor. It relays; it decides nothing.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <string>

#include "bastion/bastion_loop.h"
#include "common/config/server_config.h"
#include "common/ipc.h"
#include "common/ipc_bastion_messages.h"
#include "common/log.h"
#include "common/openssl_init.h"
#include "net/transport.h"
#include "privsep_child/monitor_host_key_signer.h"
#include "privsep_child/privilege_drop.h"
#include "privsep_child/server_transport_config.h"
#include "privsep_child/setup.h"

namespace postern::bastion {
namespace {

int run() {
  auto [channel, sock] = privsep_child::adopt_child_fds();
  auto setup =
      privsep_child::receive_setup_from_monitor<ipc::BastionSetup>(channel, "sshd-bastion");
  auto cfg = config::deserialize_config(setup.config);
  if (!cfg) fatal("bad configuration from the monitor: %s", cfg.error().message.c_str());
  config::apply_log_verbose(*cfg);

  // Re-keys toward the client are signed by the monitor, as for sshd-user.
  privsep_child::MonitorHostKeySigner signer(channel, setup.host_key_algorithms,
                                             setup.host_key_blobs);
  net::TransportConfig tc = privsep_child::server_transport_config(*cfg, signer, channel);
  net::TransportState state{std::move(setup.transport_state)};
  auto transport = net::Transport::import_state(tc, state);
  state.bytes.clear();

  // ---- the jail: nothing after this line reads a file or makes a socket ------------------
  // Recordings are the only files written (through fds the monitor passes, O_APPEND, capped
  // below the limit); past it a write fails (EFBIG) instead of SIGXFSZ ending the session.
  ::signal(SIGXFSZ, SIG_IGN);
  // An extender's connection accepts the streams of its socket (the listening descriptor comes
  // from the monitor): accept4 is the one call it gets beyond sshd-net's.
  if (setup.extender_login) prepare_extender_signals();
  privsep_child::enter_net_jail(setup.max_file_size, setup.extender_login);
  ::fcntl(sock.get(), F_SETFL, ::fcntl(sock.get(), F_GETFL) | O_NONBLOCK);

  ClientConnection client{*transport, sock.get()};
  std::string peer = setup.remote_addr + " port " + std::to_string(setup.remote_port);
  try {
    if (!setup.route_refusal.empty()) {
      // The route was refused at login: this one line is all the user is told.
      log_info("bastion: refused route for %s from %s: %s", setup.bastion_user.c_str(),
               peer.c_str(), setup.route_refusal.c_str());
      // Through a ProxyCommand a DISCONNECT sent at once races the client's own first
      // writes into a pipe the proxy command closes, and is often lost: there the line
      // answers the session instead (stderr, exit status 1), as a shell would.
      if (setup.proxy_door) return run_refusal(client, setup.route_refusal);
      disconnect_client(client, DisconnectReason::kByApplication, setup.route_refusal);
      return 0;
    }
    if (setup.extender_login) return run_extender(channel, client, setup);
    if (setup.direct) return run_direct(channel, client, setup, tc);
    return run_jump(channel, client, setup, tc);
  } catch (const net::DisconnectReceived& e) {
    log_info("Received disconnect from %s:%u: %s", peer.c_str(), e.reason(),
             e.description().c_str());
    return 0;
  } catch (const ConnectionClosed& e) {
    log_info("Connection closed by %s", peer.c_str());
    log_debug("%s", e.what());
    return 0;
  } catch (const ProtocolError& e) {
    log_info("Disconnecting %s: %s", peer.c_str(), e.what());
    try {
      disconnect_client(client, e.reason(), e.what());
    } catch (...) {
    }
    return 255;
  } catch (const std::exception& e) {
    // One boundary for everything else (a bug, std::bad_alloc under RLIMIT_DATA): the client
    // hears why, the process ends without std::terminate's abort.
    log_error("Disconnecting %s: internal error: %s", peer.c_str(), e.what());
    try {
      disconnect_client(client, DisconnectReason::kByApplication, "internal error");
    } catch (...) {
    }
    return 255;
  }
}

}  // namespace
}  // namespace postern::bastion

int main() {
  postern::init_openssl_without_exit_handler();
  try {
    return postern::bastion::run();
  } catch (const std::exception& e) {
    postern::fatal("sshd-bastion: %s", e.what());
  }
}
