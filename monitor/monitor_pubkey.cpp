// The monitor's publickey requests (RFC 4252 §7): KEYALLOWED decides whether a key (or a user
// certificate) may log the user in, for a query or before a signature; KEYVERIFY checks the
// signature of the key just allowed over signed data the monitor parses itself.
#include <algorithm>
#include <optional>
#include <string>

#include "common/ipc_messages.h"
#include "common/log.h"
#include "common/match_pattern.h"
#include "common/ssh_msg.h"
#include "common/wire.h"
#include "monitor/bastion_session.h"
#include "monitor/monitor.h"

namespace postern::monitor {

using namespace ipc;

Phase Monitor::on_key_allowed(Channel& ch, Message& m) {
  auto req = ipc::decode<KeyAllowedRequest>(m.data.view());
  m_pending_key.reset();
  auto key = PublicKey::from_blob(req.key);
  // A user certificate (PROTOCOL.certkeys): its CA signature is verified on parsing.
  std::optional<Certificate> cert;
  if (!key && Certificate::is_certificate_name(req.algorithm)) {
    auto c = Certificate::from_blob(req.key);
    if (c)
      cert = std::move(*c);
    else
      log_info("refusing certificate: %s", c.error().message.c_str());
  }
  bool ok = (key.has_value() || cert.has_value()) && m_user.has_value() &&
            m_service == "ssh-connection" && m_effective.pubkey_authentication;
  if (ok) {
    auto algs = cert ? cert->algorithms() : key->signature_algorithms();
    ok = std::find(algs.begin(), algs.end(), req.algorithm) != algs.end() &&
         match_pattern_list(req.algorithm, m_effective.pubkey_accepted_algorithms) ==
             PatternMatch::kMatch;
    if (!ok) log_debug("publickey algorithm %s not accepted for this key", req.algorithm.c_str());
  }
  std::optional<AuthorizedKeyOptions> options;
  ok = ok && m_methods.may_try("publickey");
  bool reused = false;
  if (ok) {
    // sshd's checks on the key itself (monitor/auth_pubkey.h): one key (or its
    // certificate) serves one AuthenticationMethods step only; RequiredRSASize.
    const PublicKey& plain = cert ? cert->key() : *key;
    std::string type = cert ? cert->log_name() : std::string(key->log_name());
    reused = m_used_keys.already_used(plain, type);
    ok = !reused && rsa_size_acceptable(plain, type, m_effective.required_rsa_size);
  }
  if (ok) {
    options = cert ? m_backend.certificate_authorized(*m_user, *cert, m_effective, m_peer)
                   : m_backend.key_authorized(*m_user, *key, m_effective, m_peer);
    ok = options.has_value();
  }
  if (ok && m_user->uid == 0) {
    // PermitRootLogin: keys may log in as root unless "no"; forced-commands-only only with
    // the key's command= option (sshd_config(5)).
    int prl = m_effective.permit_root_login;
    if (prl == config::PermitRootLogin::kNo ||
        (prl == config::PermitRootLogin::kForcedCommandsOnly && !options->command)) {
      log_info("ROOT LOGIN REFUSED FROM %s port %d", m_peer.address.c_str(), m_peer.port);
      ok = false;
    }
  }
  KeyAllowedReply reply;
  Phase next = Phase::kAwaitingAuth;
  reply.allowed = ok;
  if (!ok) {
    // A reused key has its own line ("refusing previously-used"), and sshd adds no
    // "Failed publickey" to it.
    if (!reused) log_failed_publickey(key ? &*key : nullptr, cert ? &*cert : nullptr);
    ++m_failures;
  } else if (req.with_signature) {
    m_pending_key = req.key;
    m_pending_algorithm = req.algorithm;
    m_pending_options = *options;
    next = Phase::kVerify;
  }
  reply.exceeded = m_failures >= m_max_auth_tries;
  if (reply.exceeded) next = Phase::kClosed;
  ch.send(reply);
  return next;
}

Phase Monitor::on_key_verify(Channel& ch, Message& m) {
  auto req = ipc::decode<KeyVerifyRequest>(m.data.view());
  // Only the key and algorithm the previous KEYALLOWED accepted may be verified.
  if (!m_pending_key || req.key != *m_pending_key || req.algorithm != m_pending_algorithm)
    throw ProtocolError("monitor: key verify for a key that was not allowed");
  m_pending_key.reset();
  check_signed_data(req.signed_data, req.algorithm, req.key);
  std::optional<Certificate> cert;
  std::optional<PublicKey> key;
  if (Certificate::is_certificate_name(req.algorithm)) {
    auto c = Certificate::from_blob(req.key);
    if (!c) throw ProtocolError("monitor: certificate blob no longer parses");
    cert = std::move(*c);
    key = cert->key();
  } else {
    auto k = PublicKey::from_blob(req.key);
    if (!k) throw ProtocolError("monitor: key blob no longer parses");
    key = std::move(*k);
  }
  // A certificate's signature is made by the certified key with the matching plain algorithm.
  std::string want_alg =
      cert ? std::string(certificate_signature_algorithm(req.algorithm)) : req.algorithm;
  std::string sig_alg;
  SkSignature sk;
  bool ok = key->verify(req.signature, req.signed_data, &sig_alg, &sk) && sig_alg == want_alg;
  // Security keys: the flags PubkeyAuthOptions and the key's options require.
  if (ok && key->is_security_key())
    ok = sk_flags_acceptable(
        sk, sk_requirements(m_effective.pubkey_auth_options, m_pending_options),
        (cert ? cert->log_name() : std::string(key->log_name())) + " " + key->fingerprint_sha256(),
        AttemptInfo{m_user_name, m_user.has_value(), m_peer.address, m_peer.port});
  // sshd -B, the proxy front door: the key's (or certificate's) one policy user is the bastion
  // user; every step of AuthenticationMethods must name the same one.
  if (ok && m_bastion != nullptr && m_bastion->proxy_door()) {
    std::string owner = m_backend.proxy_key_owner(req.key);
    const std::string& before = m_bastion->proxy_bastion_user();
    if (owner.empty()) {
      log_info("proxy front door: the verified key belongs to no single policy user");
      ok = false;
    } else if (!before.empty() && before != owner) {
      log_info("proxy front door: the key of %s is not the earlier step's user %s", owner.c_str(),
               before.c_str());
      ok = false;
    } else {
      m_bastion->set_proxy_bastion_user(owner);
      log_verbose("proxy front door: %s logs in as policy user %s", m_user_name.c_str(),
                  owner.c_str());
    }
  }
  AuthOutcome reply;
  reply.ok = ok;
  Phase next;
  if (ok) {
    std::string what = cert ? cert->log_description()
                            : std::string(key->log_name()) + " " + key->fingerprint_sha256();
    apply_key_options(m_pending_options);
    m_used_keys.add(*key);
    Reader type_reader(req.key);
    std::string detail(type_reader.text(128));
    detail += " " + base64_encode(req.key);
    next = method_succeeded("publickey", reply, detail, ": " + what);
    // A partial success (AuthenticationMethods) is logged as such, as sshd does.
    log_info("%s publickey for %s from %s port %d ssh2: %s", reply.partial ? "Partial" : "Accepted",
             m_user_name.c_str(), m_peer.address.c_str(), m_peer.port, what.c_str());
  } else {
    log_failed_publickey(&*key, cert ? &*cert : nullptr);
    next = method_failed(reply);
  }
  ch.send(reply);
  return next;
}

void Monitor::log_failed_publickey(const PublicKey* key, const Certificate* cert) {
  // OpenSSH logs failures quietly (VERBOSE) until half of MaxAuthTries is used up, and always
  // for invalid users: that is what fail2ban and sshguard count.
  LogLevel level =
      (!m_user || m_failures >= m_max_auth_tries / 2) ? LogLevel::kInfo : LogLevel::kVerbose;
  std::string key_text;
  if (cert != nullptr)
    key_text = ": " + cert->log_description();
  else if (key != nullptr)
    key_text = ": " + std::string(key->log_name()) + " " + key->fingerprint_sha256();
  if (log_enabled(level))
    logf(level, "Failed publickey for %s%s from %s port %d ssh2%s", m_user ? "" : "invalid user ",
         m_user_name.c_str(), m_peer.address.c_str(), m_peer.port, key_text.c_str());
}

// RFC 4252 §7: the signed data of a publickey request, re-parsed here rather than trusted:
//   string session identifier, byte 50, string user, string service, string "publickey",
//   boolean TRUE, string algorithm, string key blob
// and for publickey-hostbound-v00@openssh.com (PROTOCOL §2.5) also string host key blob.
void Monitor::check_signed_data(ByteView data, const std::string& algorithm, ByteView key) {
  Reader r(data);
  ByteView sid = r.string(64);
  if (m_session_id.empty() || !equal_ct(sid, m_session_id))
    throw ProtocolError("monitor: signed data has the wrong session id");
  if (r.u8() != kMsgUserauthRequest) throw ProtocolError("monitor: signed data is no userauth");
  if (r.text(kMaxUserName) != m_user_name_raw)
    throw ProtocolError("monitor: signed data user differs");
  if (r.text(64) != m_service) throw ProtocolError("monitor: signed data service differs");
  std::string_view method = r.text(64);
  bool hostbound = method == "publickey-hostbound-v00@openssh.com";
  if (method != "publickey" && !hostbound) throw ProtocolError("monitor: signed data method");
  if (!r.boolean()) throw ProtocolError("monitor: signed data without signature flag");
  if (r.text(128) != algorithm) throw ProtocolError("monitor: signed data algorithm differs");
  ByteView signed_key = r.string();
  if (signed_key.size() != key.size() || !std::equal(key.begin(), key.end(), signed_key.begin()))
    throw ProtocolError("monitor: signed data key differs");
  if (hostbound) {
    // The signature binds the login to the host key the client verified in the first key
    // exchange (the certificate, with HostCertificate); another of our keys is no match.
    ByteView hostkey = r.string();
    const Bytes& b = m_session_host_key;
    if (b.empty() || b.size() != hostkey.size() || !std::equal(b.begin(), b.end(), hostkey.begin()))
      throw ProtocolError("monitor: signed data names a host key other than the session's");
  }
  r.expect_done("signed data");
}

// authorized_keys options restrict the session (sshd(8) AUTHORIZED_KEYS FILE FORMAT); the session
// process sees them as the effective configuration. ForceCommand in the configuration wins over
// command=, as in sshd.
void Monitor::apply_key_options(const AuthorizedKeyOptions& o) {
  if (o.command && m_effective.force_command.empty()) {
    m_effective.force_command = *o.command;
    m_key_command = true;
  }
  if (!o.permit_pty) m_effective.permit_tty = false;
  // no-port-forwarding (and restrict) covers Unix-domain socket forwarding too, as in sshd.
  if (!o.permit_port_forwarding) {
    m_effective.allow_tcp_forwarding = config::Forwarding::kNo;
    m_effective.allow_stream_local_forwarding = config::Forwarding::kNo;
  }
  if (!o.permit_agent_forwarding) m_effective.allow_agent_forwarding = false;
  if (!o.permit_x11_forwarding) m_effective.x11_forwarding = false;
  if (!o.permit_user_rc) m_effective.permit_user_rc = false;
  // environment= reaches the session only where PermitUserEnvironment lets it (login_env.h
  // filters the names). command= is told apart from ForceCommand above: ~/.ssh/rc runs for
  // the key's command but not for the configuration's.
  if (m_effective.permit_user_environment != "no" && !m_effective.permit_user_environment.empty())
    m_key_environment = o.environment;
  if (o.restrict) m_key_tun.restrict = true;
  if (o.tunnel) m_key_tun.device = o.tunnel;
  // permitopen= / permitlisten= go to the session as lists of their own: a destination must
  // pass both these and PermitOpen / PermitListen (sshd(8) AUTHORIZED_KEYS FILE FORMAT; the
  // session's ForwardPolicy asks both). With AuthenticationMethods "publickey,publickey" the first
  // key that has a list keeps it, as sshd's option merge prefers the earlier key.
  if (m_key_permit_open.empty()) m_key_permit_open = o.permitopen;
  if (m_key_permit_listen.empty()) m_key_permit_listen = o.permitlisten;
}

}  // namespace postern::monitor
