#include "bastion/bastion_loop.h"

#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "bastion/jump_connection.h"
#include "bastion/jump_session_notice.h"
#include "bastion/relay.h"
#include "bastion/target_login.h"
#include "common/log.h"
#include "common/ssh_key.h"
#include "session/transport_sink.h"

namespace postern::bastion {
namespace {

// Above this many bytes waiting for one side, the other side is not read (back-pressure).
constexpr size_t kBacklogLimit = 1024 * 1024;

uint64_t now_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec);
}

// The target failed: closed, reset, timed out or spoke garbage. The message is for the user.
class TargetLost : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Writes what the socket takes now; a peer that went away is reported by the read side.
void write_some(net::Transport& t, int fd) {
  while (t.has_output()) {
    ByteView out = t.pending_output();
    ssize_t n = ::write(fd, out.data(), out.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0) throw ConnectionClosed(std::string("write: ") + std::strerror(errno));
    t.consume_output(size_t(n));
  }
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
    return {r->allowed, r->message};
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

// The credential the monitor named, made ready to sign (RFC 4252 §7).
Result<TargetCredential> make_credential(ipc::Channel& monitor, const ipc::TargetOpenReply& target,
                                         std::optional<PrivateKey>& ephemeral) {
  TargetCredential c;
  c.method = target.credential;
  uint32_t id = target.target_id;
  if (target.credential == "certificate") {
    // A key made here for this target only; the CA key stays in the monitor.
    auto key = PrivateKey::generate(KeyType::kEd25519);
    if (!key) return Unexpected("cannot make a key: " + key.error().message);
    ephemeral = std::move(*key);
    auto cert = monitor.call(ipc::TargetCertRequest{id, ephemeral->public_key().blob()});
    if (!cert) return Unexpected(cert.error().message);
    c.algorithm = "ssh-ed25519-cert-v01@openssh.com";  // PROTOCOL.certkeys
    c.key_blob = std::move(cert->certificate);
    const PrivateKey* k = &*ephemeral;
    c.sign = [k](std::string_view, ByteView data) { return k->sign("ssh-ed25519", data); };
    return c;
  }
  if (target.credential == "key") {
    auto pub = PublicKey::from_blob(target.key_blob);
    if (!pub) return Unexpected("bad key from the monitor: " + pub.error().message);
    // RSA keys sign with SHA-512 (RFC 8332); the others have one algorithm.
    c.algorithm =
        pub->type() == KeyType::kRsa ? "rsa-sha2-512" : pub->signature_algorithms().front();
    c.key_blob = target.key_blob;
    c.sign = [&monitor, id](std::string_view alg, ByteView data) -> Result<Bytes> {
      auto r = monitor.call(
          ipc::TargetSignRequest{id, std::string(alg), Bytes(data.begin(), data.end())});
      if (!r) return Unexpected(r.error().message);
      return std::move(r->signature);
    };
    return c;
  }
  // "agent" needs the client's forwarded agent before the target's login, which this version
  // does not set up.
  return Unexpected("the credential \"" + target.credential +
                    "\" is not supported by this bastion yet");
}

// Key exchange and login with the target, within the deadline; the client's messages stay
// buffered in its transport meanwhile. Returns "" or the line for the user.
std::string log_in_to_target(ipc::Channel& monitor, net::Transport& target, int fd,
                             const ipc::TargetOpenReply& reply, const std::string& name,
                             uint64_t deadline_ms, uint32_t timeout_seconds,
                             const std::string& host_key_refusal,
                             std::optional<PrivateKey>& ephemeral) {
  std::optional<TargetLogin> login;
  try {
    while (!login || !login->done()) {
      write_some(target, fd);
      if (!login && target.first_kex_done()) {
        auto cred = make_credential(monitor, reply, ephemeral);
        if (!cred) return "postern: cannot log in to " + name + ": " + cred.error().message;
        login.emplace(target, reply.target_user, std::move(*cred));
        login->progress();
        write_some(target, fd);
        continue;
      }
      uint64_t now = ipc::monotonic_ms();
      if (now >= deadline_ms)
        return "postern: target " + name + " did not answer within " +
               std::to_string(timeout_seconds) + " s";
      pollfd p{fd, short(POLLIN | (target.has_output() ? POLLOUT : 0)), 0};
      int rc = ::poll(&p, 1, int(deadline_ms - now));
      if (rc < 0 && errno != EINTR) throw ConnectionClosed(std::strerror(errno));
      if (rc <= 0) continue;
      if ((p.revents & (POLLIN | POLLHUP | POLLERR)) && !net::read_into(target, fd))
        throw ConnectionClosed("the target closed the connection");
      while (auto m = target.next_message()) {
        if (!login) throw ProtocolError("message before the key exchange finished");
        login->handle(*m);
        if (login->done()) break;
      }
    }
  } catch (const net::DisconnectReceived& e) {
    return "postern: target " + name + " disconnected: " + e.description();
  } catch (const ConnectionClosed& e) {
    return "postern: connection to target " + name + " lost: " + e.what();
  } catch (const ProtocolError& e) {
    if (!host_key_refusal.empty()) return host_key_refusal;
    return "postern: connection to target " + name + " failed: " + e.what();
  }
  if (login->state() == TargetLogin::State::kFailed) {
    std::string what = reply.credential == "certificate" ? "the certificate" : "the key";
    return "postern: target " + name + " refused " + what + " for " + reply.target_user + " (" +
           login->failure() + ")";
  }
  write_some(target, fd);
  return {};
}

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

int run_direct(ipc::Channel& monitor, ClientConnection client, const ipc::BastionSetup& setup,
               const net::TransportConfig& client_config) {
  const std::string& name = setup.target;
  uint64_t deadline_ms = ipc::monotonic_ms() + uint64_t(setup.connect_timeout) * 1000;
  auto opened = monitor.call(
      ipc::TargetOpenRequest{setup.target, setup.port, setup.target_user, "session", ""});
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
  // @cert-authority line can vouch for it; then plain keys.
  tc.host_key_algorithms = {"ssh-ed25519-cert-v01@openssh.com",
                            "ecdsa-sha2-nistp256-cert-v01@openssh.com",
                            "ecdsa-sha2-nistp384-cert-v01@openssh.com",
                            "ecdsa-sha2-nistp521-cert-v01@openssh.com",
                            "rsa-sha2-512-cert-v01@openssh.com",
                            "rsa-sha2-256-cert-v01@openssh.com",
                            "ssh-ed25519",
                            "ecdsa-sha2-nistp256",
                            "ecdsa-sha2-nistp384",
                            "ecdsa-sha2-nistp521",
                            "rsa-sha2-512",
                            "rsa-sha2-256"};
  tc.rekey_bytes = client_config.rekey_bytes;
  tc.rekey_seconds = client_config.rekey_seconds;
  std::string host_key_refusal;
  uint32_t target_id = reply.target_id;
  tc.verify_host_key = [&](ByteView blob) {
    auto r = monitor.call(ipc::TargetHostKeyRequest{target_id, Bytes(blob.begin(), blob.end())});
    if (r && r->accepted) return true;
    host_key_refusal = r ? r->message : "postern: " + r.error().message;
    return false;
  };
  net::Transport target(tc);
  std::optional<PrivateKey> ephemeral;
  std::string why = log_in_to_target(monitor, target, target_fd.get(), reply, name, deadline_ms,
                                     setup.connect_timeout, host_key_refusal, ephemeral);
  send_event(monitor, ipc::BastionEvent{"target-auth", target_id, 0, 0, 0, "",
                                        why.empty() ? "accepted " + reply.credential : why});
  if (!why.empty()) {
    log_info("bastion: %s", why.c_str());
    disconnect_client(client, DisconnectReason::kByApplication, why);
    return 0;
  }
  log_info("bastion: %s logged in to %s as %s with %s", setup.bastion_user.c_str(),
           reply.target_name.c_str(), reply.target_user.c_str(), reply.credential.c_str());

  // ---- the relay -------------------------------------------------------------------------
  session::TransportSink client_sink(client.transport), target_sink(target);
  MonitorRelayPolicy policy(monitor, target_id);
  Relay relay(client_sink, target_sink, policy);
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
  while (true) {
    // Messages already buffered first (the client's, held during the target's setup).
    try {
      drain(client.transport, target, [&](ByteView m) { relay.from_client(m); });
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

// ---- jump mode ------------------------------------------------------------------------------

int run_jump(ipc::Channel& monitor, ClientConnection client, const ipc::BastionSetup& setup) {
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
      log_info("bastion: %s jumps to %s port %u", setup.bastion_user.c_str(), host.c_str(), port);
    }
    return out;
  };
  auto closed = [&](uint32_t target_id, uint32_t channel, uint64_t up, uint64_t down) {
    send_event(monitor, ipc::BastionEvent{"channel-close", target_id, channel, up, down, "", ""});
  };
  JumpConnection jump(sink, opener, closed,
                      jump_mode_notice(setup.bastion_user, setup.local_addr, setup.local_port));
  std::vector<pollfd> fds;
  while (true) {
    while (client.transport.output_backlog() < kBacklogLimit) {
      auto m = client.transport.next_message();
      if (!m) break;
      jump.from_client(*m);
    }
    write_some(client.transport, client.fd);
    uint64_t now = now_seconds();
    fds.clear();
    fds.push_back({client.fd, short(POLLIN | (client.transport.has_output() ? POLLOUT : 0)), 0});
    fds.push_back({monitor.fd(), POLLIN, 0});
    jump.add_poll_fds(fds, client.transport.output_backlog());
    int rc = ::poll(fds.data(), fds.size(),
                    poll_timeout_ms({client.transport.next_timeout_seconds(now)}));
    if (rc < 0 && errno != EINTR) throw ConnectionClosed(std::string("poll: ") + strerror(errno));
    if (fds[1].revents) return 255;  // the monitor went away
    client.transport.tick(now_seconds());
    jump.handle_poll(fds.data() + 2, fds.size() - 2);
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
        !net::read_into(client.transport, client.fd))
      return 0;
  }
}

}  // namespace postern::bastion
