// The connection's forwarding: channel opens from the client (direct-tcpip,
// direct-streamlocal@openssh.com), the global requests that create and remove listeners
// (tcpip-forward, streamlocal-forward@openssh.com and their cancels, RFC 4254 §7.1 and
// OpenSSH PROTOCOL §2.4), agent forwarding, and the channels we open for accepted connections.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "common/log.h"
#include "common/protocol_error.h"
#include "session/connection.h"
#include "session/forward_channel.h"
#include "session/x11_forward.h"

namespace postern::session {
namespace {

constexpr size_t kMaxHostName = 1024;
constexpr size_t kMaxSocketPath = 4096;
// Listeners one connection may hold (tcpip-forward and streamlocal-forward together).
constexpr size_t kMaxListeners = 256;
constexpr size_t kAgentListener = SIZE_MAX;

void send_open_failure(PacketSink& out, uint32_t remote, uint32_t reason, const char* why) {
  ChannelOpenFailureMsg f{remote, reason, why, ""};
  out.send(encode(f));
}

}  // namespace

void Connection::open_forward_channel(ChannelOpenMsg& m) {
  const ForwardPolicy& policy = m_options.forward;
  Reader r(m.data.bytes);
  if (m.channel_type == "direct-tcpip") {
    // RFC 4254 §7.2: host and port to connect, originator address and port.
    std::string host(r.text(kMaxHostName));
    uint32_t port = r.u32();
    std::string orig(r.text(kMaxHostName));
    uint32_t orig_port = r.u32();
    r.expect_done("direct-tcpip");
    log_debug("server_request_direct_tcpip: originator %s port %u, target %s port %u", orig.c_str(),
              orig_port, host.c_str(), port);
    if (!policy.local_tcp_allowed()) {
      log_info("refused local port forward: originator %s port %u, target %s port %u", orig.c_str(),
               orig_port, host.c_str(), port);
      send_open_failure(m_out, m.sender_channel, kOpenAdministrativelyProhibited, "open failed");
      return;
    }
    if (port > 65535 || !policy.open_permitted(host, port)) {
      log_info(
          "Received request from %s port %d to connect to host %s port %u, but the "
          "request was denied.",
          m_peer.remote.address.c_str(), m_peer.remote.port, host.c_str(), port);
      send_open_failure(m_out, m.sender_channel, kOpenAdministrativelyProhibited, "open failed");
      return;
    }
    long id = channel_id_or_refuse(m.sender_channel);
    if (id < 0) return;
    auto ch = std::make_unique<ForwardChannel>(m_out, m_scratch, uint32_t(id), m.sender_channel,
                                               m.initial_window, m.max_packet, "direct-tcpip");
    ch->connect_tcp(host, port);
    m_channels[size_t(id)] = std::move(ch);
    return;
  }
  if (m.channel_type == "direct-streamlocal@openssh.com") {
    // PROTOCOL §2.4: socket path, reserved string, reserved uint32.
    std::string path(r.text(kMaxSocketPath));
    r.text(kMaxHostName);
    r.u32();
    r.expect_done("direct-streamlocal");
    log_debug("server_request_direct_streamlocal: originator %s port %d, target %s",
              m_peer.remote.address.c_str(), m_peer.remote.port, path.c_str());
    // The session process runs as the user, so only the user's own permissions apply.
    if (!policy.local_streamlocal_allowed()) {
      log_info("refused streamlocal port forward: originator %s port %d, target %s",
               m_peer.remote.address.c_str(), m_peer.remote.port, path.c_str());
      send_open_failure(m_out, m.sender_channel, kOpenAdministrativelyProhibited, "open failed");
      return;
    }
    long id = channel_id_or_refuse(m.sender_channel);
    if (id < 0) return;
    auto ch =
        std::make_unique<ForwardChannel>(m_out, m_scratch, uint32_t(id), m.sender_channel,
                                         m.initial_window, m.max_packet, "direct-streamlocal");
    ch->connect_unix(path);
    m_channels[size_t(id)] = std::move(ch);
    return;
  }
  if (m.channel_type == "tun@openssh.com") {
    open_tun_channel(m);
    return;
  }
  log_debug("channel open %s refused: unknown channel type", m.channel_type.c_str());
  send_open_failure(m_out, m.sender_channel, kOpenUnknownChannelType, "unknown channel type");
}

bool Connection::handle_forward_request(const GlobalRequestMsg& m) {
  const ForwardPolicy& policy = m_options.forward;
  bool tcp = m.request == "tcpip-forward" || m.request == "cancel-tcpip-forward";
  bool local = m.request == "streamlocal-forward@openssh.com" ||
               m.request == "cancel-streamlocal-forward@openssh.com";
  if (!tcp && !local) return false;
  bool cancel = m.request.rfind("cancel-", 0) == 0;
  Reader r(m.data.bytes);
  std::string host(r.text(tcp ? kMaxHostName : kMaxSocketPath));
  uint32_t port = tcp ? r.u32() : 0;
  r.expect_done(m.request.c_str());

  bool ok = false;
  Writer reply;
  reply.u8(kMsgRequestSuccess);
  if (cancel) {
    for (size_t i = 0; i < m_listeners.size(); ++i) {
      ForwardListener& l = m_listeners[i];
      bool match = tcp ? !l.unix_socket && !l.x11 && l.requested_host == host &&
                             (l.requested_port == port || l.bound_port == port)
                       : l.unix_socket && l.path == host;
      if (!match) continue;
      if (l.unix_socket) ::unlink(l.path.c_str());
      m_listeners.erase(m_listeners.begin() + long(i));
      ok = true;
      break;
    }
    if (!ok) log_info("%s: no listener for %s port %u", m.request.c_str(), host.c_str(), port);
  } else if (tcp) {
    log_debug("server_input_global_request: tcpip-forward listen %s port %u", host.c_str(), port);
    if (!policy.remote_tcp_allowed()) {
      log_info("refused remote port forward: listen %s port %u", host.c_str(), port);
    } else if (port > 65535 || (port != 0 && port < 1024 && m_user.uid != 0)) {
      // The session process runs as the user: a privileged port is root's alone.
      log_info("refused remote port forward: listen %s port %u: privileged port", host.c_str(),
               port);
    } else if (!policy.listen_permitted(host, port)) {
      log_info(
          "Received request from %s port %d to remote forward to host %s port %u, but the "
          "request was denied.",
          m_peer.remote.address.c_str(), m_peer.remote.port, host.c_str(), port);
    } else if (m_listeners.size() >= kMaxListeners) {
      log_info("tcpip-forward: too many listeners");
    } else {
      auto l = listen_tcp(policy.bind_address(host), port);
      if (!l) {
        log_info("tcpip-forward: cannot listen on %s port %u: %s", host.c_str(), port,
                 l.error().message.c_str());
      } else {
        l->requested_host = host;
        if (port == 0) {
          // RFC 4254 §7.1: the allocated port goes back in the reply.
          reply.u32(l->bound_port);
          log_debug("Allocated listen port %u", l->bound_port);
        }
        m_listeners.push_back(std::move(*l));
        ok = true;
      }
    }
  } else {
    log_debug("server_input_global_request: streamlocal-forward listen path %s", host.c_str());
    if (!policy.remote_streamlocal_allowed()) {
      log_info("refused streamlocal remote forward: listen path %s", host.c_str());
    } else if (m_listeners.size() >= kMaxListeners) {
      log_info("streamlocal-forward: too many listeners");
    } else {
      auto l =
          listen_unix(host, mode_t(policy.stream_local_bind_mask), policy.stream_local_bind_unlink);
      if (!l) {
        log_info("streamlocal-forward: cannot listen on path %s: %s", host.c_str(),
                 l.error().message.c_str());
      } else {
        m_listeners.push_back(std::move(*l));
        ok = true;
      }
    }
  }
  if (m.want_reply) {
    m_out.send(ok ? reply.take() : encode(RequestFailureMsg{}));
  }
  return true;
}

bool Connection::request_agent() {
  if (!m_options.forward.agent_allowed()) {
    log_debug("auth-agent-req@openssh.com refused: agent forwarding disabled");
    return false;
  }
  auto r = m_agent.enable();
  if (!r) {
    log_error("agent forwarding: %s", r.error().message.c_str());
    return false;
  }
  return true;
}

int Connection::request_x11() {
  if (!m_options.x11_forwarding || m_options.forward.disable_all) {
    log_debug("X11 forwarding disabled in server configuration file.");
    return -1;
  }
  // One display per connection serves all its sessions.
  for (const auto& l : m_listeners) {
    if (l.x11) return int(l.requested_port - kX11BasePort);
  }
  unsigned display = 0;
  auto l = listen_x11(m_options.x11_display_offset, m_options.x11_use_localhost, display);
  if (!l) {
    log_error("%s", l.error().message.c_str());
    return -1;
  }
  l->x11 = true;
  l->requested_port = kX11BasePort + display;
  m_listeners.push_back(std::move(*l));
  return int(display);
}

void Connection::open_to_client(UniqueFd fd, std::string_view type, ByteView args) {
  long id = free_channel_id();
  if (id < 0) return;  // the connection is closed with the fd
  auto ch =
      std::make_unique<ForwardChannel>(m_out, m_scratch, uint32_t(id), 0, 0, 0, std::string(type));
  ch->attach(std::move(fd));
  m_channels[size_t(id)] = std::move(ch);
  ChannelOpenMsg open{std::string(type), uint32_t(id), kInitialWindow, kLocalMaxPacket,
                      Rest{Bytes(args.begin(), args.end())}};
  m_out.send(encode(open));
}

void Connection::handle_open_reply(ByteView payload) {
  Reader r(payload);
  uint8_t type = r.u8();
  uint32_t local = r.u32();
  auto* ch =
      local < m_channels.size() ? dynamic_cast<ForwardChannel*>(m_channels[local].get()) : nullptr;
  if (!ch || ch->state() != ForwardChannel::State::kAwaitingConfirm)
    throw ProtocolError("channel open reply for a channel we did not open");
  if (type == kMsgChannelOpenConfirmation) {
    uint32_t remote = r.u32(), window = r.u32(), max_packet = r.u32();
    ch->open_confirmed(remote, window, max_packet);
  } else {
    uint32_t reason = r.u32();
    std::string why(r.text(4096));
    log_debug("channel %u: open failed: reason %u: %s", local, reason, why.c_str());
    ch->open_failed();
  }
}

void Connection::accept_connections(size_t listener, int fd) {
  // Several may be waiting; take what accept gives without blocking.
  for (int i = 0; i < 16; ++i) {
    UniqueFd conn(::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!conn) return;
    Writer args;
    if (listener == kAgentListener) {
      open_to_client(std::move(conn), "auth-agent@openssh.com", ByteView());
      continue;
    }
    const ForwardListener& l = m_listeners[listener];
    if (l.x11) {
      // RFC 4254 §6.3.2: the originator's address and port.
      std::string orig;
      uint32_t orig_port = 0;
      peer_address(conn.get(), orig, orig_port);
      args.string(orig).u32(orig_port);
      open_to_client(std::move(conn), "x11", args.buffer());
    } else if (l.unix_socket) {
      // PROTOCOL §2.4: the socket path, then a reserved string.
      args.string(l.path).string("");
      open_to_client(std::move(conn), "forwarded-streamlocal@openssh.com", args.buffer());
    } else {
      // RFC 4254 §7.2: the address and port that were connected, the originator's.
      std::string orig;
      uint32_t orig_port = 0;
      peer_address(conn.get(), orig, orig_port);
      args.string(l.requested_host).u32(l.bound_port).string(orig).u32(orig_port);
      open_to_client(std::move(conn), "forwarded-tcpip", args.buffer());
    }
  }
}

void Connection::collect_listener_pollfds(std::vector<pollfd>& fds) {
  m_listen_targets.clear();
  for (size_t i = 0; i < m_listeners.size(); ++i) {
    for (const auto& fd : m_listeners[i].fds) {
      fds.push_back(pollfd{fd.get(), POLLIN, 0});
      m_listen_targets.emplace_back(i, fd.get());
    }
  }
  if (m_agent.enabled()) {
    fds.push_back(pollfd{m_agent.listen_fd(), POLLIN, 0});
    m_listen_targets.emplace_back(kAgentListener, m_agent.listen_fd());
  }
}

void Connection::dispatch_listener_pollfds(std::span<const pollfd> fds) {
  // Listeners may have been cancelled by a message handled in this round: check the fd.
  for (size_t i = 0; i < m_listen_targets.size() && i < fds.size(); ++i) {
    if (!fds[i].revents) continue;
    auto [listener, fd] = m_listen_targets[i];
    if (listener == kAgentListener) {
      if (m_agent.enabled() && m_agent.listen_fd() == fd) accept_connections(listener, fd);
      continue;
    }
    if (listener >= m_listeners.size()) continue;
    bool present = false;
    for (const auto& lfd : m_listeners[listener].fds) present = present || lfd.get() == fd;
    if (present) accept_connections(listener, fd);
  }
}

}  // namespace postern::session
