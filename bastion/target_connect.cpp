#include "bastion/target_connect.h"

#include <poll.h>

#include <cerrno>
#include <cstring>

#include "bastion/socket_write.h"
#include "common/ssh_msg.h"

namespace postern::bastion {
namespace {

// The credential the monitor named, made ready to sign (RFC 4252 §7); "agent" is not one of
// these: it signs through the agent channel (AgentTargetLogin).
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
  return Unexpected("the credential \"" + target.credential + "\" is unknown to this bastion");
}

// The client messages the relay acts on (RFC 4254 §4, §5); it answers any other number with
// UNIMPLEMENTED, which must happen when the message arrives (RFC 4253 §11.4 names its
// sequence number), so those are answered at once instead of held.
bool relay_takes(uint8_t type) {
  return (type >= kMsgGlobalRequest && type <= kMsgRequestFailure) ||
         (type >= kMsgChannelOpen && type <= kMsgChannelFailure);
}

// Runs `f`, turning what the client's side throws into ClientLost, so the target's catch
// clauses below never blame the target for it.
template <typename F>
void as_client(F&& f) {
  try {
    f();
  } catch (const ClientLost&) {
    throw;
  } catch (...) {
    throw ClientLost(std::current_exception());
  }
}

}  // namespace

TargetConnector::TargetConnector(TargetSide target, ClientConnection client)
    : m_target(target), m_client(client), m_client_sink(client.transport) {}

std::deque<Bytes> TargetConnector::take_held() {
  m_held_bytes = 0;
  return std::move(m_held);
}

bool TargetConnector::held_full() const {
  return m_held.size() >= kMaxHeldMessages || m_held_bytes >= kMaxHeldBytes;
}

bool TargetConnector::login_done() const {
  return m_agent_login ? m_agent_login->done() : m_login && m_login->done();
}

std::string TargetConnector::log_in(uint64_t deadline_ms, uint32_t timeout_seconds) {
  const std::string& name = m_target.name;
  net::Transport& target = m_target.transport;
  try {
    if (m_target.reply.credential == "agent") {
      // OpenSSH PROTOCOL "agent forwarding": the client connects this channel to the user's
      // agent when forwarding is on; the target's key exchange runs meanwhile.
      m_agent = std::make_unique<AgentChannel>(m_client_sink);
      m_agent_login.emplace(target, m_target.reply.target_user,
                            [this](ByteView frame) { m_agent->send_request(frame); });
    }
    while (true) {
      std::string why = step();
      if (!why.empty()) return why;
      if (login_done()) break;
      write_some(target, m_target.fd);
      if (m_agent) as_client([&] { write_some(m_client.transport, m_client.fd); });
      uint64_t now = ipc::monotonic_ms();
      if (now >= deadline_ms && m_agent_login && m_agent_login->waiting_for_agent())
        return "postern: cannot log in to " + name + ": your agent did not answer within " +
               std::to_string(timeout_seconds) + " s";
      if (now >= deadline_ms)
        return "postern: target " + name + " did not answer within " +
               std::to_string(timeout_seconds) + " s";
      pollfd p[2] = {
          {m_target.fd, short(POLLIN | (target.has_output() ? POLLOUT : 0)), 0},
          {m_agent ? m_client.fd : -1,
           short((held_full() ? 0 : POLLIN) | (m_client.transport.has_output() ? POLLOUT : 0)), 0}};
      int rc = ::poll(p, 2, int(deadline_ms - now));
      if (rc < 0 && errno != EINTR) throw ConnectionClosed(std::strerror(errno));
      if (rc <= 0) continue;
      if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && !net::read_into(target, m_target.fd))
        throw ConnectionClosed("the target closed the connection");
      if (m_agent && !held_full() && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
        as_client([&] {
          if (!net::read_into(m_client.transport, m_client.fd))
            throw ConnectionClosed("the client closed the connection");
        });
    }
  } catch (const net::DisconnectReceived& e) {
    return "postern: target " + name + " disconnected: " + e.description();
  } catch (const ConnectionClosed& e) {
    return "postern: connection to target " + name + " lost: " + e.what();
  } catch (const ProtocolError& e) {
    if (!m_target.host_key_refusal.empty()) return m_target.host_key_refusal;
    return "postern: connection to target " + name + " failed: " + e.what();
  }
  std::string why = outcome();
  if (why.empty()) write_some(target, m_target.fd);
  return why;
}

// One round without waiting: the target's messages, the client's, the agent's answers, and
// whatever the login can send next.
std::string TargetConnector::step() {
  net::Transport& target = m_target.transport;
  while (!login_done()) {
    auto m = target.next_message();
    if (!m) break;
    if (m_agent_login)
      m_agent_login->handle_target(*m);
    else if (m_login)
      m_login->handle(*m);
    else
      throw ProtocolError("message before the key exchange finished");
  }
  if (m_agent_login) {
    as_client([&] { client_messages(); });
    if (m_agent->state() == AgentChannel::State::kRefused)
      return "postern: " + m_target.name + " needs your agent: connect with ssh -A";
    while (!m_agent_login->done()) {
      auto answer = m_agent->next_answer();
      if (!answer) break;
      m_agent_login->handle_agent(*answer);
    }
    if (m_agent_login->waiting_for_agent() && !m_agent->failure().empty())
      return "postern: cannot log in to " + m_target.name + ": your agent: " + m_agent->failure();
    m_agent_login->progress();
  } else if (!m_login && target.first_kex_done()) {
    auto cred = make_credential(m_target.monitor, m_target.reply, m_ephemeral);
    if (!cred) return "postern: cannot log in to " + m_target.name + ": " + cred.error().message;
    m_login.emplace(target, m_target.reply.target_user, std::move(*cred));
    m_login->progress();
  }
  return {};
}

// While the agent is used: its channel's messages to it, the rest held for the relay.
void TargetConnector::client_messages() {
  while (!held_full()) {
    auto m = m_client.transport.next_message();
    if (!m) return;
    if (m->empty()) throw ProtocolError("empty message");
    if (m_agent->owns(*m)) {
      m_agent->handle(*m);
    } else if (relay_takes((*m)[0])) {
      m_held.emplace_back(m->begin(), m->end());
      m_held_bytes += m->size();
    } else {
      m_client.transport.send_unimplemented();
    }
  }
}

// The login ended: "" with accepted() set, or the line for the user.
std::string TargetConnector::outcome() {
  const std::string& user = m_target.reply.target_user;
  if (m_agent_login) {
    if (m_agent_login->state() == AgentTargetLogin::State::kSucceeded) {
      m_accepted = "accepted agent " + m_agent_login->accepted_key();
      m_agent->close();  // the relay loop sees the client's CLOSE through
      return {};
    }
    const std::string& detail = m_agent_login->failure();
    if (m_agent_login->failure_kind() == AgentTargetLogin::Failure::kAgent)
      return "postern: cannot log in to " + m_target.name + ": your agent: " + detail;
    return "postern: target " + m_target.name + " refused every key of your agent for " + user +
           (detail.empty() ? "" : " (" + detail + ")");
  }
  if (m_login->state() == TargetLogin::State::kFailed) {
    std::string what = m_target.reply.credential == "certificate" ? "the certificate" : "the key";
    return "postern: target " + m_target.name + " refused " + what + " for " + user + " (" +
           m_login->failure() + ")";
  }
  m_accepted = "accepted " + m_target.reply.credential;
  return {};
}

}  // namespace postern::bastion
