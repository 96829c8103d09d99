#include "bastion/bastion_loop.h"

#include <fcntl.h>
#include <poll.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <vector>

#include "bastion/adopted_channel.h"
#include "bastion/asciicast_recording.h"
#include "bastion/jump_connection.h"
#include "bastion/jump_session_notice.h"
#include "bastion/relay.h"
#include "bastion/socket_write.h"
#include "bastion/target_connect.h"
#include "common/ipc_picker_messages.h"
#include "common/log.h"
#include "session/transport_sink.h"

namespace postern::bastion {
namespace {

// Above this many bytes waiting for one side, the other side is not read (back-pressure).
constexpr size_t kBacklogLimit = 1024 * 1024;
// The monitor's bound on an event's detail (monitor_bastion.cpp kMaxDetail).
constexpr size_t kMaxFileEventDetail = 1024;

uint64_t now_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec);
}

int poll_timeout_ms(std::initializer_list<int> seconds) {
  int best = -1;
  for (int s : seconds)
    if (s >= 0 && (best < 0 || s < best)) best = s;
  return best < 0 ? -1 : best * 1000;
}

void send_event(ipc::Channel& monitor, ipc::BastionEvent e) {
  monitor.send(e);
}

// ---- direct mode: the monitor behind the relay ---------------------------------------------

class MonitorRelayPolicy : public RelayMonitor {
 public:
  MonitorRelayPolicy(ipc::Channel& monitor, uint32_t target_id)
      : m_monitor(monitor), m_target_id(target_id) {}
  Decision decide(uint32_t client_channel, std::string_view kind,
                  std::string_view detail) override {
    auto r = m_monitor.call(ipc::ChannelDecisionRequest{m_target_id, client_channel,
                                                        std::string(kind), std::string(detail)});
    if (!r) return {false, "postern: " + r.error().message};
    return {r->allowed, r->message, r->observe_files};
  }
  void file_event(uint32_t client_channel, const FileEvent& e) override {
    bool wrote = e.operation == "write";
    bool read = e.operation == "read";
    std::string detail = describe(e);
    if (detail.size() > kMaxFileEventDetail) detail.resize(kMaxFileEventDetail);
    send_event(m_monitor, ipc::BastionEvent{"file", m_target_id, client_channel,
                                            wrote ? e.bytes : 0, read ? e.bytes : 0, "", detail});
  }
  // The monitor creates the file and writes its header; this process gets the descriptor only.
  RecordingStart start_recording(uint32_t client_channel, std::string_view kind,
                                 const TerminalSize& terminal, std::string_view command) override {
    auto r = m_monitor.call(
        ipc::RecordingOpenRequest{m_target_id, client_channel, std::string(kind), terminal.cols,
                                  terminal.rows, std::string(command), terminal.term});
    RecordingStart out;
    if (!r) {
      out.refused = true;
      out.message = "postern: " + r.error().message;
      return out;
    }
    out.refused = r->refused;
    out.message = r->message;
    if (r->recorded && r->fds.size() == 1) {
      UniqueFd fd = std::move(r->fds.front());
      ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
      RecordingParams p{r->record_input, r->max_bytes, r->header_bytes, r->start_unix_us};
      out.recording = std::make_unique<AsciicastRecording>(std::move(fd), p);
    }
    return out;
  }
  void channel_closed(uint32_t client_channel, uint64_t up, uint64_t down,
                      const std::string& exit_status) override {
    send_event(m_monitor, ipc::BastionEvent{"channel-close", m_target_id, client_channel, up, down,
                                            exit_status, ""});
  }

 private:
  ipc::Channel& m_monitor;
  uint32_t m_target_id;
};

void drain(net::Transport& from, net::Transport& other, const std::function<void(ByteView)>& f) {
  while (other.output_backlog() < kBacklogLimit) {
    auto m = from.next_message();
    if (!m) return;
    f(*m);
  }
}

}  // namespace

void disconnect_client(ClientConnection client, DisconnectReason reason,
                       const std::string& description) {
  client.transport.send_disconnect(uint32_t(reason), description);
  net::flush_blocking(client.transport, client.fd);
}

namespace {

// The target a login goes to: the user name's route, or the picker's choice.
struct LoginRoute {
  std::string target_user, target;
  uint32_t port = 0;
};

// Logs in to the route's target and relays until the connection ends. `picked`: the pty
// picker's session channel, which the relay adopts (adopted_channel.h).
int log_in_and_relay(ipc::Channel& monitor, ClientConnection client, const ipc::BastionSetup& setup,
                     const net::TransportConfig& client_config, const LoginRoute& route,
                     std::optional<PickedSession> picked) {
  const std::string& name = route.target;
  uint64_t deadline_ms = ipc::monotonic_ms() + uint64_t(setup.connect_timeout) * 1000;
  auto opened = monitor.call(
      ipc::TargetOpenRequest{route.target, route.port, route.target_user, "session", ""});
  if (!opened || !opened->allowed || opened->fds.size() != 1) {
    std::string why = !opened                   ? "postern: " + opened.error().message
                      : opened->message.empty() ? "postern: cannot reach " + name
                                                : opened->message;
    disconnect_client(client, DisconnectReason::kByApplication, why);
    return 0;
  }
  ipc::TargetOpenReply reply = std::move(*opened);
  UniqueFd target_fd = std::move(reply.fds.front());
  ::fcntl(target_fd.get(), F_SETFL, ::fcntl(target_fd.get(), F_GETFL) | O_NONBLOCK);

  // The client role toward the target (RFC 4253); its host key is the monitor's to judge.
  net::TransportConfig tc;
  tc.role = net::Role::kClient;
  tc.version = "SSH-2.0-postern_bastion";
  // OpenSSH's client order: host certificates first, so a target with one presents it and an
  // @cert-authority line can vouch for it; then plain keys. OpenSSH 10.5's ML-DSA-44 hybrid
  // last of each, so a target that also has a classical key goes on presenting that one (its
  // known_hosts line stays right) and one that has only the hybrid is still reached.
  tc.host_key_algorithms = {"ssh-ed25519-cert-v01@openssh.com",
                            "ecdsa-sha2-nistp256-cert-v01@openssh.com",
                            "ecdsa-sha2-nistp384-cert-v01@openssh.com",
                            "ecdsa-sha2-nistp521-cert-v01@openssh.com",
                            "rsa-sha2-512-cert-v01@openssh.com",
                            "rsa-sha2-256-cert-v01@openssh.com",
                            "ssh-mldsa44-ed25519-cert-v01@openssh.com",
                            "ssh-ed25519",
                            "ecdsa-sha2-nistp256",
                            "ecdsa-sha2-nistp384",
                            "ecdsa-sha2-nistp521",
                            "rsa-sha2-512",
                            "rsa-sha2-256",
                            "ssh-mldsa44-ed25519@openssh.com"};
  tc.rekey_bytes = client_config.rekey_bytes;
  tc.rekey_seconds = client_config.rekey_seconds;
  std::string host_key_refusal;
  uint32_t target_id = reply.target_id;
  // The first key exchange's host key is the monitor's to judge (known_hosts); a re-exchange
  // must present that same key (RFC 4253 §9 keeps the server; OpenSSH's client checks it too).
  std::optional<Bytes> accepted_host_key;
  tc.verify_host_key = [&](ByteView blob) {
    if (accepted_host_key) {
      if (equal_ct(blob, *accepted_host_key)) return true;
      host_key_refusal = "postern: host key for " + name + " changed during a key re-exchange";
      return false;
    }
    auto r = monitor.call(ipc::TargetHostKeyRequest{target_id, Bytes(blob.begin(), blob.end())});
    if (r && r->accepted) {
      accepted_host_key = Bytes(blob.begin(), blob.end());
      return true;
    }
    host_key_refusal = r ? r->message : "postern: " + r.error().message;
    return false;
  };
  net::Transport target(tc);
  TargetConnector connector(
      TargetSide{monitor, reply, name, target, target_fd.get(), host_key_refusal}, client);
  std::string why;
  try {
    why = connector.log_in(deadline_ms, setup.connect_timeout);
  } catch (const ClientLost& e) {
    // The client left (or broke the protocol) while the agent was asked: the audit says so,
    // the catch boundary logs what the client did.
    send_event(monitor, ipc::BastionEvent{"target-auth", target_id, 0, 0, 0, "",
                                          "client left during the login"});
    std::rethrow_exception(e.original);
  }
  send_event(monitor, ipc::BastionEvent{"target-auth", target_id, 0, 0, 0, "",
                                        why.empty() ? connector.accepted() : why});
  if (!why.empty()) {
    log_info("bastion: %s", why.c_str());
    disconnect_client(client, DisconnectReason::kByApplication, why);
    return 0;
  }
  log_info("bastion: %s logged in to %s as %s with %s", setup.bastion_user.c_str(),
           reply.target_name.c_str(), reply.target_user.c_str(), reply.credential.c_str());

  // ---- the relay -------------------------------------------------------------------------
  session::TransportSink client_sink(client.transport), target_sink(target);
  std::optional<AdoptedChannel> adopted;
  if (picked) adopted.emplace(client_sink, std::move(*picked));
  session::PacketSink& to_client = adopted ? static_cast<session::PacketSink&>(*adopted)
                                           : static_cast<session::PacketSink&>(client_sink);
  MonitorRelayPolicy policy(monitor, target_id);
  Relay relay(to_client, target_sink, policy);
  if (adopted) adopted->open(relay);
  // The picked channel's messages wait until the target has it (its requests replayed first).
  auto to_relay = [&](ByteView m) {
    if (!adopted || !adopted->take_client_message(m)) relay.from_client(m);
  };
  auto lost = [&](const std::string& what) {
    relay.target_lost();
    std::string line = "postern: connection to target " + name + " lost: " + what;
    send_event(monitor, ipc::BastionEvent{"target-close", target_id, 0, 0, 0, "", what});
    disconnect_client(client, DisconnectReason::kConnectionLost, line);
    return 0;
  };
  // The client left (EOF or its DISCONNECT): the target hears it politely, then the process ends.
  auto client_gone = [&](const std::string& how) {
    target.send_disconnect(uint32_t(DisconnectReason::kByApplication), "client disconnected");
    try {
      write_some(target, target_fd.get());
    } catch (...) {
    }
    send_event(monitor, ipc::BastionEvent{"target-close", target_id, 0, 0, 0, "", how});
    return 0;
  };
  // What the client sent while the agent was asked, in its order, before anything newer.
  for (const Bytes& m : connector.take_held()) to_relay(m);
  // The agent channel's close handshake may still be under way (RFC 4254 §5.3): its messages
  // are its own until the client's CLOSE, never the relay's.
  AgentChannel* agent = connector.agent_channel();
  auto from_client = [&](ByteView m) {
    if (agent && agent->owns(m))
      agent->handle(m);
    else
      to_relay(m);
  };
  while (true) {
    // Messages already buffered first (the client's, buffered during the target's setup).
    try {
      drain(client.transport, target, from_client);
    } catch (const net::DisconnectReceived&) {
      return client_gone("client disconnected");
    }
    try {
      drain(target, client.transport, [&](ByteView m) { relay.from_target(m); });
      write_some(target, target_fd.get());
    } catch (const net::DisconnectReceived& e) {
      return lost(e.description());
    } catch (const TargetProtocolError& e) {
      return lost(e.what());
    } catch (const ProtocolError& e) {
      return lost(e.what());
    } catch (const ConnectionClosed& e) {
      return lost(e.what());
    }
    // The target confirmed the picked channel: the client's requests, then what it sent since.
    if (adopted) adopted->pump();
    write_some(client.transport, client.fd);

    uint64_t now = now_seconds();
    pollfd p[3] = {{client.fd,
                    short((target.output_backlog() < kBacklogLimit ? POLLIN : 0) |
                          (client.transport.has_output() ? POLLOUT : 0)),
                    0},
                   {target_fd.get(),
                    short((client.transport.output_backlog() < kBacklogLimit ? POLLIN : 0) |
                          (target.has_output() ? POLLOUT : 0)),
                    0},
                   {monitor.fd(), POLLIN, 0}};
    int timeout = poll_timeout_ms(
        {client.transport.next_timeout_seconds(now), target.next_timeout_seconds(now)});
    int rc = ::poll(p, 3, timeout);
    if (rc < 0 && errno != EINTR) throw ConnectionClosed(std::string("poll: ") + strerror(errno));
    // The monitor never speaks first: readable means it went away.
    if (p[2].revents) return 255;
    now = now_seconds();
    client.transport.tick(now);
    try {
      target.tick(now);
      if ((p[1].revents & (POLLIN | POLLHUP | POLLERR)) && !net::read_into(target, target_fd.get()))
        return lost("the target closed the connection");
    } catch (const ProtocolError& e) {
      return lost(e.what());
    } catch (const ConnectionClosed& e) {
      return lost(e.what());
    }
    try {
      if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
          !net::read_into(client.transport, client.fd))
        return client_gone("client closed the connection");
    } catch (const ConnectionClosed& e) {
      return client_gone(e.what());
    }
  }
}

}  // namespace

int run_direct(ipc::Channel& monitor, ClientConnection client, const ipc::BastionSetup& setup,
               const net::TransportConfig& client_config) {
  return log_in_and_relay(monitor, client, setup, client_config,
                          {setup.target_user, setup.target, setup.port}, std::nullopt);
}

// ---- jump mode ------------------------------------------------------------------------------

namespace {

// The full-screen picker's questions to the monitor (common/ipc_picker_messages.h).
JumpConnection::Picker monitor_picker(ipc::Channel& monitor, const ipc::BastionSetup& setup) {
  JumpConnection::Picker p;
  p.list = [&monitor]() {
    PickerList out;
    auto r = monitor.call(ipc::PickerListRequest{});
    if (!r || r->target_users.size() != r->targets.size() || r->lines.size() != r->targets.size())
      return out;
    for (size_t i = 0; i < r->targets.size(); ++i)
      out.entries.push_back({r->target_users[i], r->targets[i], r->lines[i]});
    out.example = r->example;
    return out;
  };
  p.choose = [&monitor, &setup](const std::string& user, const std::string& target) {
    auto r = monitor.call(ipc::PickerChooseRequest{user, target});
    std::string refusal = !r                   ? "postern: " + r.error().message
                          : r->allowed         ? std::string()
                          : r->message.empty() ? std::string("postern: refused")
                                               : r->message;
    log_info("bastion: %s picked %s@%s: %s", setup.bastion_user.c_str(), user.c_str(),
             target.c_str(), refusal.empty() ? "allowed" : refusal.c_str());
    return refusal;
  };
  return p;
}

// Serves the client's channels with `jump` until the client goes (0) or the monitor does (255),
// with a `deadline` (monotonic seconds, 0 for none) until then (-1), or, once the full-screen
// picker has a choice, returns what `picked` makes of it.
int serve_jump_connection(JumpConnection& jump, ClientConnection client, int monitor_fd,
                          uint64_t deadline,
                          const std::function<int(PickedSession)>& picked = nullptr) {
  std::vector<pollfd> fds;
  while (true) {
    if (deadline != 0 && now_seconds() >= deadline) return -1;
    jump.tick(ipc::monotonic_ms());
    if (auto p = jump.take_picked(); p && picked) return picked(std::move(*p));
    while (client.transport.output_backlog() < kBacklogLimit) {
      auto m = client.transport.next_message();
      if (!m) break;
      jump.from_client(*m);
      // What the client sent after its choice is the target's: it stays in the transport.
      if (auto p = jump.take_picked(); p && picked) return picked(std::move(*p));
    }
    write_some(client.transport, client.fd);
    uint64_t now = now_seconds();
    fds.clear();
    fds.push_back({client.fd, short(POLLIN | (client.transport.has_output() ? POLLOUT : 0)), 0});
    if (monitor_fd >= 0) fds.push_back({monitor_fd, POLLIN, 0});
    size_t jump_fds = fds.size();
    jump.add_poll_fds(fds, client.transport.output_backlog());
    int until_deadline = deadline == 0 ? -1 : int(deadline > now ? deadline - now : 0);
    int timeout = poll_timeout_ms({client.transport.next_timeout_seconds(now), until_deadline});
    int picker_timeout = jump.timeout_ms();  // a lone ESC waiting to become the Esc key
    if (picker_timeout >= 0 && (timeout < 0 || picker_timeout < timeout)) timeout = picker_timeout;
    int rc = ::poll(fds.data(), fds.size(), timeout);
    if (rc < 0 && errno != EINTR) throw ConnectionClosed(std::string("poll: ") + strerror(errno));
    if (monitor_fd >= 0 && fds[1].revents) return 255;  // the monitor went away
    client.transport.tick(now_seconds());
    jump.handle_poll(fds.data() + jump_fds, fds.size() - jump_fds);
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
        !net::read_into(client.transport, client.fd))
      return 0;
  }
}

}  // namespace

int run_refusal(ClientConnection client, const std::string& refusal) {
  session::TransportSink sink(client.transport);
  // Nothing is opened: every channel hears the refusal (a session on stderr, then exit status
  // 1; a direct-tcpip channel as its open failure). No monitor request is made.
  auto opener = [&](const std::string&, uint32_t, const std::string&) {
    JumpConnection::Opened out;
    out.message = refusal;
    return out;
  };
  auto closed = [](uint32_t, uint32_t, uint64_t, uint64_t) {};
  JumpConnection jump(sink, opener, closed, [&refusal] { return refusal + "\r\n"; });
  // A client that opens no session (ssh -N) would hold the connection for nothing: after a
  // while it hears the refusal as a DISCONNECT instead.
  constexpr uint64_t kRefusalSeconds = 30;
  if (serve_jump_connection(jump, client, -1, now_seconds() + kRefusalSeconds) == -1)
    disconnect_client(client, DisconnectReason::kByApplication, refusal);
  return 0;
}

int run_jump(ipc::Channel& monitor, ClientConnection client, const ipc::BastionSetup& setup,
             const net::TransportConfig& client_config) {
  session::TransportSink sink(client.transport);
  auto opener = [&](const std::string& host, uint32_t port, const std::string& originator) {
    JumpConnection::Opened out;
    auto r = monitor.call(ipc::TargetOpenRequest{host, port, "", "direct-tcpip", originator});
    if (!r) {
      out.message = "postern: " + r.error().message;
    } else if (!r->allowed || r->fds.size() != 1) {
      out.message = r->message.empty() ? "postern: cannot reach " + host : r->message;
    } else {
      out.allowed = true;
      out.fd = std::move(r->fds.front());
      out.target_id = r->target_id;
      // The monitor hands over a blocking socket; the poll loop must never wait in write().
      ::fcntl(out.fd.get(), F_SETFL, ::fcntl(out.fd.get(), F_GETFL) | O_NONBLOCK);
      log_info("bastion: %s jumps to %s port %u", setup.bastion_user.c_str(), host.c_str(), port);
    }
    return out;
  };
  auto closed = [&](uint32_t target_id, uint32_t channel, uint64_t up, uint64_t down) {
    send_event(monitor, ipc::BastionEvent{"channel-close", target_id, channel, up, down, "", ""});
  };
  JumpConnection::Picker picker = monitor_picker(monitor, setup);
  auto notice = [&]() {
    return jump_mode_notice(setup.bastion_user, setup.local_addr, setup.local_port,
                            picker.list().example);
  };
  JumpConnection jump(sink, opener, closed, notice);
  jump.set_picker(picker);
  // A pick ends jump mode: the rest of the connection is the picked target's, as a direct login.
  auto picked = [&](PickedSession p) {
    // The picker's last screen ("connecting to ...") is for the time the login takes: it goes
    // now, not with the target's first output (what the socket does not take, the relay sends).
    write_some(client.transport, client.fd);
    LoginRoute route{p.target_user, p.target, 0};
    return log_in_and_relay(monitor, client, setup, client_config, route, std::move(p));
  };
  // Machine to machine: the monitor decides, certifies and audits; this process only asks.
  jump.set_certificate_issuer([&](const CertificateCommand& c, const Bytes& key_blob) {
    CertificateExec::Answer a;
    auto r = monitor.call(ipc::IssueCertRequest{c.target, c.port, c.target_user, key_blob});
    if (!r) {
      a.message = "postern: " + r.error().message;
    } else {
      a.issued = r->issued;
      a.message = r->message;
      a.certificate = std::move(r->certificate);
    }
    log_info("bastion: %s asked for a certificate for %s@%s: %s", setup.bastion_user.c_str(),
             c.target_user.c_str(), c.target.c_str(), a.issued ? "issued" : "refused");
    return a;
  });
  return serve_jump_connection(jump, client, monitor.fd(), 0, picked);
}

}  // namespace postern::bastion
