// The monitor's HOSTBASED request (common/ipc_messages.h): one request decides a "hostbased"
// attempt whole (RFC 4252 §9). The net child only carries the fields; the monitor checks the
// algorithm and key, asks the backend about the client host (monitor/auth_hostbased.h), and
// verifies the signature over data it builds from its own session identifier, user and service.
#include "common/ipc_messages.h"
#include "common/log.h"
#include "common/wire.h"
#include "monitor/auth_hostbased.h"
#include "monitor/monitor.h"

namespace postern::monitor {

namespace {
constexpr size_t kMaxHostName = 1025;
}  // namespace

Phase Monitor::on_hostbased(ipc::Channel& ch, ipc::Message& m) {
  auto req = ipc::decode<ipc::HostbasedRequest>(m.data.view());
  if (req.client_host.size() > kMaxHostName || req.client_user.size() > kMaxUserName ||
      req.algorithm.size() > 128)
    throw ProtocolError("monitor: hostbased request fields too long");
  std::string chost = strip_trailing_dot(req.client_host);
  auto key = parse_hostbased_key(req.algorithm, req.key, m_effective.hostbased_accepted_algorithms);
  bool ok = key.has_value() && m_user.has_value() && m_service == "ssh-connection" &&
            m_effective.hostbased_authentication && m_methods.may_try("hostbased");
  if (ok && m_user->uid == 0) {
    // PermitRootLogin (sshd_config(5)): hostbased is no password method, but it carries no
    // forced command, so forced-commands-only refuses it like "no".
    int prl = m_effective.permit_root_login;
    if (prl == config::PermitRootLogin::kNo ||
        prl == config::PermitRootLogin::kForcedCommandsOnly) {
      log_info("ROOT LOGIN REFUSED FROM %s port %d", m_peer.address.c_str(), m_peer.port);
      ok = false;
    }
  }
  ok = ok && m_backend.hostbased_authorized(*m_user, *key, req.client_host, req.client_user,
                                            m_effective, m_peer);
  if (ok) {
    Bytes data = hostbased_signed_data(m_session_id, m_user_name_raw, m_service, req.algorithm,
                                       req.key, req.client_host, req.client_user);
    // A certificate's signature is made by the certified key with the plain algorithm.
    std::string want_alg =
        key->cert ? std::string(certificate_signature_algorithm(req.algorithm)) : req.algorithm;
    std::string sig_alg;
    ok = !m_session_id.empty() && key->signing_key().verify(req.signature, data, &sig_alg) &&
         sig_alg == want_alg;
    if (!ok) log_debug("userauth_hostbased: signature verification failed");
  }
  ipc::AuthOutcome reply;
  reply.ok = ok;
  Phase next;
  std::string key_text;
  if (key)
    key_text = ": " + key->log_text();
  else if (auto plain = PublicKey::from_blob(req.key))
    key_text = ": " + std::string(plain->log_name()) + " " + plain->fingerprint_sha256();
  if (ok) {
    Reader type_reader(req.key);
    std::string detail(type_reader.text(128));
    detail += " " + base64_encode(req.key);
    next = method_succeeded("hostbased", reply, detail);
    if (!reply.partial)
      log_info("Accepted hostbased for %s from %s port %d ssh2%s", m_user_name.c_str(),
               m_peer.address.c_str(), m_peer.port, key_text.c_str());
  } else {
    // The same quiet-then-loud rule as publickey failures (see log_failed_publickey).
    LogLevel level =
        (!m_user || m_failures >= m_max_auth_tries / 2) ? LogLevel::kInfo : LogLevel::kVerbose;
    if (log_enabled(level))
      logf(level,
           "Failed hostbased for %s%s from %s port %d ssh2%s, client user \"%s\", client "
           "host \"%s\"",
           m_user ? "" : "invalid user ", m_user_name.c_str(), m_peer.address.c_str(), m_peer.port,
           key_text.c_str(), req.client_user.c_str(), chost.c_str());
    next = method_failed(reply);
  }
  ch.send(reply);
  return next;
}

}  // namespace postern::monitor
