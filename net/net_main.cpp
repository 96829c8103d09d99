// `sshd-net`, the pre-auth child (docs/architecture.md). Exec'd fresh by the monitor, so it holds
// no secret it was not sent: it receives its setup (configuration, host *public* keys), enters the
// jail (chroot to the empty privsep directory, the privsep user, no capabilities, no_new_privs,
// seccomp), then speaks the transport and the userauth protocol. Host key signatures, moduli and
// every authentication decision come from the monitor over ipc. On success it hands the transport
// state to the monitor and exits.
//
// fd 3: ipc channel to the monitor; fd 4: the client connection.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "common/config/server_config.h"
#include "common/ipc.h"
#include "common/ipc_messages.h"
#include "common/ipc_proxy_messages.h"
#include "common/log.h"
#include "common/openssl_init.h"
#include "common/poll_timeout.h"
#include "net/proxy_front_door.h"
#include "net/transport.h"
#include "net/userauth_server.h"
#include "privsep_child/monitor_auth_decider.h"
#include "privsep_child/monitor_host_key_signer.h"
#include "privsep_child/privilege_drop.h"
#include "privsep_child/server_transport_config.h"
#include "privsep_child/setup.h"

namespace postern::net {
namespace {

// The proxy front door: how long a client has for its proxy request (at most LoginGraceTime).
// A proxy client sends it with the connection; this bounds a stuck or hostile one.
constexpr int kProxyRequestTimeoutMs = 10000;

uint64_t now_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec);
}

int run() {
  auto [channel, sock] = privsep_child::adopt_child_fds();

  // Every log line goes to the monitor (the jail has no syslog socket and no files).
  auto setup = privsep_child::receive_setup_from_monitor<ipc::NetSetup>(channel, "sshd-net");

  auto cfg = config::deserialize_config(setup.config);
  if (!cfg) fatal("bad configuration from the monitor: %s", cfg.error().message.c_str());
  config::apply_log_verbose(*cfg);  // LogVerbose (common/config/log_verbose.cpp)

  // ---- the jail -------------------------------------------------------------------------------
  privsep_child::enter_net_jail();

  // ---- transport + userauth ---------------------------------------------------------------------
  privsep_child::MonitorHostKeySigner signer(channel, setup.host_key_algorithms,
                                             setup.host_key_blobs);
  TransportConfig tc = privsep_child::server_transport_config(*cfg, signer, channel);

  Endpoint peer{setup.remote_addr, int(setup.remote_port)};
  Transport transport(tc);
  privsep_child::MonitorAuthDecider decider(channel);
  UserauthServer userauth(transport, decider, peer);
  ::fcntl(sock.get(), F_SETFL, ::fcntl(sock.get(), F_GETFL) | O_NONBLOCK);

  auto closed_line = [&] {
    std::string who = userauth.user_description();
    if (who.empty())
      log_info("Connection closed by %s port %d", peer.address.c_str(), peer.port);
    else
      log_info("Connection closed by %s %s port %d", who.c_str(), peer.address.c_str(), peer.port);
  };

  // sshd -B on a proxy_listen port: the proxy request comes first, answered before our version
  // line; the target it names goes to the monitor, which alone decides on it after login.
  Bytes proxy_leftover;  // what the client sent behind its proxy request: SSH already
  if (setup.proxy_door) {
    int timeout_ms = kProxyRequestTimeoutMs;
    if (cfg->login_grace_time > 0) timeout_ms = std::min(timeout_ms, cfg->login_grace_time * 1000);
    ProxyFrontDoorRequest req = serve_proxy_request(sock.get(), timeout_ms);
    if (!req.ok) {
      log_info("Proxy request from %s port %d refused: %s", peer.address.c_str(), peer.port,
               req.error.c_str());
      return 255;
    }
    log_verbose("Proxy request (%s) from %s port %d for %s port %u",
                std::string(bastion::proxy_kind_name(req.kind)).c_str(), peer.address.c_str(),
                peer.port, req.host.c_str(), unsigned(req.port));
    channel.send(ipc::ProxyTarget{uint32_t(req.kind), req.host, req.port});
    proxy_leftover = std::move(req.leftover);
  }

  try {
    flush_blocking(transport, sock.get());  // our version line
    // What a proxy client sent behind its request is already here: answer it before waiting.
    if (!proxy_leftover.empty()) {
      transport.received(proxy_leftover);
      while (auto msg = transport.next_message()) userauth.handle(*msg);
      flush_blocking(transport, sock.get());
    }
    while (!userauth.authenticated()) {
      int timeout = transport.next_timeout_seconds(now_seconds());
      pollfd p[2] = {{sock.get(), POLLIN, 0}, {channel.fd(), POLLIN, 0}};
      int rc = ::poll(p, 2, poll_timeout_ms(timeout));
      if (rc < 0 && errno != EINTR) throw ConnectionClosed(std::string("poll: ") + strerror(errno));
      // The monitor never speaks first; readable means it went away.
      if (p[1].revents) return 255;
      transport.tick(now_seconds());
      if (p[0].revents) {
        if (!read_into(transport, sock.get())) {
          closed_line();
          return 255;
        }
        while (auto msg = transport.next_message()) {
          userauth.handle(*msg);
          if (userauth.authenticated()) break;
        }
      }
      flush_blocking(transport, sock.get());
    }
    flush_blocking(transport, sock.get());
    if (transport.kex_in_progress())
      throw ProtocolError("key exchange in progress at the end of authentication");
    ipc::AuthDone done;
    done.transport_state = std::move(transport.export_state().bytes);
    channel.send(done);
    return 0;
  } catch (const AuthAborted&) {
    try {
      flush_blocking(transport, sock.get());
    } catch (...) {
    }
    return 255;
  } catch (const DisconnectReceived& e) {
    log_info("Received disconnect from %s port %d:%u: %s", peer.address.c_str(), peer.port,
             e.reason(), e.description().c_str());
    std::string who = userauth.user_description();
    log_info("Disconnected from %s%s%s port %d", who.c_str(), who.empty() ? "" : " ",
             peer.address.c_str(), peer.port);
    return 255;
  } catch (const ConnectionClosed& e) {
    closed_line();
    log_debug("%s", e.what());
    return 255;
  } catch (const ProtocolError& e) {
    log_info("Disconnecting %s%s%s port %d: %s", userauth.user_description().c_str(),
             userauth.user_description().empty() ? "" : " ", peer.address.c_str(), peer.port,
             e.what());
    try {
      transport.send_disconnect(uint32_t(e.reason()), e.what());
      flush_blocking(transport, sock.get());
    } catch (...) {
    }
    return 255;
  } catch (const std::exception& e) {
    // A bug or an exhausted resource (std::bad_alloc under RLIMIT_DATA): never std::terminate,
    // whose abort() the sandbox would answer with a kill that counts as a crash against the
    // client's address. The peer gets a DISCONNECT, the log the reason.
    log_error("Disconnecting %s port %d: internal error: %s", peer.address.c_str(), peer.port,
              e.what());
    try {
      transport.send_disconnect(uint32_t(DisconnectReason::kByApplication), "internal error");
      flush_blocking(transport, sock.get());
    } catch (...) {
    }
    return 255;
  }
}

}  // namespace
}  // namespace postern::net

int main() {
  postern::init_openssl_without_exit_handler();
  return postern::net::run();
}
