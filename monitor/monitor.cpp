#include "monitor/monitor.h"

#include <grp.h>
#include <pty.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/ipc_messages.h"
#include "common/log.h"
#include "common/match_pattern.h"
#include "common/wire.h"
#include "monitor/host_key_proof.h"
#include "monitor/tun_device.h"
#include "net/moduli.h"

namespace postern::monitor {

using namespace ipc;

namespace {

// The permission table (CONVENTIONS.md): which request each phase allows. LogLine is allowed in
// every phase. Handlers move the phase on; nothing else does.
struct Permission {
  Phase phase;
  uint8_t type;
};
constexpr Permission kPermissions[] = {
    {Phase::kKex, SignRequest::kType},
    {Phase::kKex, ModuliRequest::kType},
    {Phase::kUser, PwnamRequest::kType},
    {Phase::kPubkey, KeyAllowedRequest::kType},
    {Phase::kVerify, KeyAllowedRequest::kType},
    {Phase::kVerify, KeyVerifyRequest::kType},
    {Phase::kAuthenticated, AuthDone::kType},
    {Phase::kPostauth, SignRequest::kType},
    {Phase::kPostauth, ModuliRequest::kType},
    {Phase::kPostauth, PtyRequest::kType},
    {Phase::kPubkey, PasswordRequest::kType},
    {Phase::kPubkey, KbdintStartRequest::kType},
    {Phase::kPubkey, KbdintResponseRequest::kType},
    {Phase::kPubkey, HostbasedRequest::kType},
    {Phase::kPostauth, HostKeysRequest::kType},
    {Phase::kPostauth, HostKeysProveRequest::kType},
    {Phase::kPostauth, TunOpenRequest::kType},
    {Phase::kPostauth, LoginRecordRequest::kType},
    {Phase::kPostauth, LogoutRecordRequest::kType},
};

// hostkeys-prove-00 requests one connection may have answered (a client sends one) and tun
// devices it may ask for; past these the monitor refuses.
constexpr unsigned kMaxHostKeyProofs = 8;
constexpr unsigned kMaxTunOpens = 64;

// SSH_MSG_USERAUTH_REQUEST (RFC 4252 §5).
constexpr uint8_t kMsgUserauthRequest = 50;
constexpr size_t kMaxUserName = 256;

// Sizes of the exchange hashes of every kex method (SHA-1 .. SHA-512).
bool is_exchange_hash_size(size_t n) {
  return n == 20 || n == 32 || n == 48 || n == 64;
}

// The Banner file (sshd_config(5)), read here because the net child cannot open files. Bounded
// (128 KiB) so it fits one ipc message (common/ipc.h) and one packet; OpenSSH's banner regress
// test sends 100000 bytes.
std::string read_banner(const std::string& path) {
  if (path.empty() || path == "none") return "";
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    log_error("Banner: cannot open %s", path.c_str());
    return "";
  }
  std::string text(128 * 1024, '\0');
  f.read(text.data(), std::streamsize(text.size()));
  text.resize(size_t(f.gcount()));
  return text;
}

}  // namespace

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::kKex:
      return "kex";
    case Phase::kUser:
      return "user";
    case Phase::kPubkey:
      return "pubkey";
    case Phase::kVerify:
      return "verify";
    case Phase::kAuthenticated:
      return "authenticated";
    case Phase::kPostauth:
      return "postauth";
    case Phase::kClosed:
      return "closed";
  }
  return "?";
}

std::vector<HostKeyEntry> host_key_entries(
    const std::vector<std::shared_ptr<const PrivateKey>>& keys) {
  std::vector<HostKeyEntry> out;
  for (const auto& k : keys)
    for (const auto& alg : k->public_key().signature_algorithms()) {
      bool dup = std::any_of(out.begin(), out.end(),
                             [&](const HostKeyEntry& e) { return e.algorithm == alg; });
      if (!dup)
        out.push_back({alg, k, std::nullopt});  // the first key of a type wins, as in OpenSSH
    }
  return out;
}

Monitor::Monitor(config::ServerConfig config, std::vector<HostKeyEntry> host_keys, Endpoint peer,
                 Endpoint local, AuthBackend& backend)
    : m_config(std::move(config)),
      m_effective(m_config),
      m_host_keys(std::move(host_keys)),
      m_peer(std::move(peer)),
      m_local(std::move(local)),
      m_backend(backend) {
  m_max_auth_tries = unsigned(std::max(1, m_config.max_auth_tries));
}

bool Monitor::allowed(uint8_t type) const {
  // Log lines are welcome in every phase: after MaxAuthTries the child still says why it leaves.
  if (type == LogLine::kType) return true;
  for (const auto& p : kPermissions)
    if (p.phase == m_phase && p.type == type) return true;
  return false;
}

void Monitor::start_postauth() {
  if (m_phase != Phase::kAuthenticated) throw ProtocolError("monitor: post-auth before auth");
  m_phase = Phase::kPostauth;
}

Result<Bytes> Monitor::sign(const std::string& algorithm, ByteView data) {
  for (const auto& e : m_host_keys)
    if (e.algorithm == algorithm) {
      std::string plain =
          e.certificate ? std::string(certificate_signature_algorithm(algorithm)) : algorithm;
      // hostkeys-prove-00 signs RSA keys with the algorithm of the latest key exchange.
      m_kex_signature_algorithm = plain;
      return e.key->sign(plain, data);
    }
  return Unexpected("no host key for " + algorithm);
}

std::vector<std::shared_ptr<const PrivateKey>> Monitor::loaded_host_keys() const {
  if (!m_all_host_keys.empty()) return m_all_host_keys;
  std::vector<std::shared_ptr<const PrivateKey>> keys;
  for (const auto& e : m_host_keys)
    if (std::find(keys.begin(), keys.end(), e.key) == keys.end()) keys.push_back(e.key);
  return keys;
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
  // permitopen= / permitlisten= narrow what the configuration allows; with the configuration at
  // "any" the key's list is the whole policy.
  auto narrow = [](std::vector<std::string>& configured, const std::vector<std::string>& key) {
    if (key.empty()) return;
    if (configured == std::vector<std::string>{"any"}) configured = key;
  };
  narrow(m_effective.permit_open, o.permitopen);
  narrow(m_effective.permit_listen, o.permitlisten);
}

std::vector<std::string> Monitor::enabled_methods() const {
  std::vector<std::string> out;
  if (m_effective.pubkey_authentication) out.push_back("publickey");
  if (m_effective.password_authentication) out.push_back("password");
  // keyboard-interactive needs a PAM conversation to carry.
  if (m_effective.kbd_interactive_authentication && m_effective.use_pam)
    out.push_back("keyboard-interactive");
  if (m_effective.hostbased_authentication) out.push_back("hostbased");
  return out;
}

Monitor::~Monitor() {
  if (!m_auth_info_file.empty()) ::unlink(m_auth_info_file.c_str());
}

Phase Monitor::method_succeeded(const std::string& method, bool& partial, ipc::StringList& next,
                                const std::string& detail, const std::string& log_suffix) {
  m_auth_info.push_back(detail.empty() ? method : method + " " + detail);
  if (m_methods.succeeded(method)) {
    // UsePAM: the account stage decides for every method, publickey included (monitor/auth_kbdint).
    pam_account_stage(method == "keyboard-interactive" ? "keyboard-interactive/pam" : method,
                      log_suffix);
    if (m_effective.expose_auth_info && m_user) {
      m_auth_info_file = write_auth_info(m_auth_info, m_user->uid, m_user->gid);
      // The session process exports it like a SetEnv variable (sshd_config(5) ExposeAuthInfo).
      if (!m_auth_info_file.empty())
        m_effective.set_env.push_back("SSH_USER_AUTH=" + m_auth_info_file);
    }
    return Phase::kAuthenticated;
  }
  partial = true;
  next = m_methods.next(enabled_methods());
  // publickey logs its own line with the key.
  if (method != "publickey")
    log_info("Partial %s for %s from %s port %d ssh2", method.c_str(), m_user_name.c_str(),
             m_peer.address.c_str(), m_peer.port);
  return Phase::kPubkey;
}

void Monitor::handle(Channel& ch, Message& m) {
  if (!allowed(m.type))
    throw ProtocolError("monitor: request " + std::to_string(m.type) + " not allowed in phase " +
                        phase_name(m_phase));
  if (!m.fds.empty() && m.type != LogLine::kType)
    throw ProtocolError("monitor: unexpected descriptors with a request");
  // Any other request abandons a keyboard-interactive conversation (RFC 4256 §3.4 answers only
  // the question asked), which PAM then sees fail.
  if (m_kbdint_active && m.type != KbdintResponseRequest::kType && m.type != LogLine::kType) {
    m_kbdint_active = false;
    if (m_pam != nullptr) m_pam->kbdint_abandon();
  }
  if (handle_kbdint(ch, m)) return;

  switch (m.type) {
    case LogLine::kType: {
      auto req = ipc::decode<LogLine>(m.data.view());
      if (req.level < uint32_t(LogLevel::kFatal) || req.level > uint32_t(LogLevel::kDebug3))
        throw ProtocolError("monitor: bad log level");
      if (!m.fds.empty()) throw ProtocolError("monitor: descriptors with a log line");
      LogLevel level = LogLevel(req.level);
      // The child has decided already, with its own level (Match LogLevel, internal-sftp -l)
      // and LogVerbose patterns whose places in the source only it knows.
      // The child's lines are marked as such: fail2ban's patterns expect " [preauth]".
      bool preauth = m_phase != Phase::kPostauth;
      if (req.line.size() > 1024) req.line.resize(1024);
      // internal-sftp -f: the child's facility for this line (common/log.cpp checks it).
      int facility = log_set_facility_override(int(std::min<uint32_t>(req.facility, 1U << 16)));
      logf(level, "%s%s", req.line.c_str(), preauth ? " [preauth]" : "");
      log_set_facility_override(facility);
      return;
    }

    case SignRequest::kType: {
      auto req = ipc::decode<SignRequest>(m.data.view());
      if (!is_exchange_hash_size(req.data.size()))
        throw ProtocolError("monitor: sign request for data that is no exchange hash");
      // The first exchange hash is the session identifier (RFC 4253 §7.2); the host key that
      // signs it is the one publickey-hostbound requests must name.
      if (m_session_id.empty()) {
        m_session_id = req.data;
        for (const auto& e : m_host_keys)
          if (e.algorithm == req.algorithm)
            m_session_host_key = e.certificate ? *e.certificate : e.key->public_key().blob();
      }
      auto sig = sign(req.algorithm, req.data);
      if (!sig) {
        ch.send(ErrorReply{sig.error().message});
        return;
      }
      ch.send(SignReply{std::move(*sig)});
      if (m_phase == Phase::kKex) m_phase = Phase::kUser;
      return;
    }

    case ModuliRequest::kType: {
      auto req = ipc::decode<ModuliRequest>(m.data.view());
      // One group exchange per key exchange: before authentication there is only the first.
      if (m_phase == Phase::kKex && m_moduli_served)
        throw ProtocolError("monitor: second moduli request before authentication");
      m_moduli_served = true;
      std::string path = m_config.moduli_file.empty() ? "/etc/ssh/moduli" : m_config.moduli_file;
      auto group = net::choose_group(path, req.min, req.n, req.max);
      if (!group) {
        ch.send(ErrorReply{group.error().message});
        return;
      }
      ch.send(ModuliReply{group->p, group->g});
      return;
    }

    case PwnamRequest::kType: {
      auto req = ipc::decode<PwnamRequest>(m.data.view());
      if (req.user.empty() || req.user.size() > kMaxUserName)
        throw ProtocolError("monitor: bad user name length");
      // "user:style" (a BSD auth style): the account is the part before the colon; the signed
      // data carries the whole string.
      m_user_name_raw = req.user;
      m_user_name = req.user.substr(0, req.user.find(':'));
      m_service = req.service;
      config::ConnectionInfo ci;
      ci.user = m_user_name;
      ci.addr = m_peer.address;
      // Match Host sees the verified name with UseDNS yes, else the address, as in sshd.
      ci.host = m_peer.host();
      ci.laddr = m_local.address;
      ci.lport = m_local.port;
      m_effective = config::apply_match(m_config, ci);
      m_max_auth_tries = unsigned(std::max(1, m_effective.max_auth_tries));
      m_user = m_backend.find_user(m_user_name, m_effective, m_peer);
      if (!m_user)
        log_info("Invalid user %s from %s port %d", m_user_name.c_str(), m_peer.address.c_str(),
                 m_peer.port);
      PwnamReply reply;
      reply.valid = m_user.has_value();
      reply.max_auth_tries = m_max_auth_tries;
      m_methods = AuthMethodLists(m_effective.authentication_methods);
      reply.methods = m_methods.next(enabled_methods());
      reply.banner = read_banner(m_effective.banner);
      ch.send(reply);
      m_phase = Phase::kPubkey;
      return;
    }

    case KeyAllowedRequest::kType: {
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
        if (!ok)
          log_debug("publickey algorithm %s not accepted for this key", req.algorithm.c_str());
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
      reply.allowed = ok;
      if (!ok) {
        // A reused key has its own line ("refusing previously-used"), and sshd adds no
        // "Failed publickey" to it.
        if (!reused) log_failed_publickey(key ? &*key : nullptr, cert ? &*cert : nullptr);
        ++m_failures;
        m_phase = Phase::kPubkey;
      } else if (req.with_signature) {
        m_pending_key = req.key;
        m_pending_algorithm = req.algorithm;
        m_pending_options = *options;
        m_phase = Phase::kVerify;
      } else {
        m_phase = Phase::kPubkey;
      }
      reply.exceeded = m_failures >= m_max_auth_tries;
      if (reply.exceeded) m_phase = Phase::kClosed;
      ch.send(reply);
      return;
    }

    case KeyVerifyRequest::kType: {
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
            (cert ? cert->log_name() : std::string(key->log_name())) + " " +
                key->fingerprint_sha256(),
            AttemptInfo{m_user_name, m_user.has_value(), m_peer.address, m_peer.port});
      KeyVerifyReply reply;
      reply.ok = ok;
      if (ok) {
        std::string what = cert ? cert->log_description()
                                : std::string(key->log_name()) + " " + key->fingerprint_sha256();
        apply_key_options(m_pending_options);
        m_used_keys.add(*key);
        Reader type_reader(req.key);
        std::string detail(type_reader.text(128));
        detail += " " + base64_encode(req.key);
        m_phase = method_succeeded("publickey", reply.partial, reply.methods, detail, ": " + what);
        // A partial success (AuthenticationMethods) is logged as such, as sshd does.
        log_info("%s publickey for %s from %s port %d ssh2: %s",
                 reply.partial ? "Partial" : "Accepted", m_user_name.c_str(),
                 m_peer.address.c_str(), m_peer.port, what.c_str());
      } else {
        log_failed_publickey(&*key, cert ? &*cert : nullptr);
        ++m_failures;
        reply.exceeded = m_failures >= m_max_auth_tries;
        m_phase = reply.exceeded ? Phase::kClosed : Phase::kPubkey;
      }
      ch.send(reply);
      return;
    }

    case PasswordRequest::kType: {
      auto req = ipc::decode<PasswordRequest>(m.data.view());
      if (req.password.size() > 1024) throw ProtocolError("monitor: password too long");
      // keyboard-interactive runs as a PAM conversation (KbdintStartRequest); a net child that
      // tries to pass a single answer off as one would skip the stack's other prompts.
      if (req.keyboard_interactive)
        throw ProtocolError("monitor: keyboard-interactive outside its PAM conversation");
      PasswordReply reply;
      reply.ok = m_service == "ssh-connection" && m_methods.may_try("password") &&
                 m_backend.password_ok(m_user_name, m_user ? &*m_user : nullptr, req.password,
                                       false, m_effective, m_peer);
      if (reply.ok) {
        m_phase = method_succeeded("password", reply.partial, reply.methods);
        if (!reply.partial)
          log_info("Accepted password for %s from %s port %d ssh2", m_user_name.c_str(),
                   m_peer.address.c_str(), m_peer.port);
        // What the account stage said (an expired password), shown before success as sshd does.
        if (m_pam != nullptr) reply.banner = m_pam->take_messages();
      } else {
        ++m_failures;
        reply.exceeded = m_failures >= m_max_auth_tries;
        if (reply.exceeded) m_phase = Phase::kClosed;
      }
      ch.send(reply);
      return;
    }

    case HostbasedRequest::kType:
      handle_hostbased(ch, m);
      return;

    case AuthDone::kType: {
      auto req = ipc::decode<AuthDone>(m.data.view());
      m_transport_state = std::move(req.transport_state);
      return;  // the caller sees kAuthenticated with a state and starts the session process
    }

    case PtyRequest::kType: {
      (void)ipc::decode<PtyRequest>(m.data.view());
      int master = -1, slave = -1;
      char name[128];
      if (::openpty(&master, &slave, name, nullptr, nullptr) != 0) {
        log_error("openpty: %s", std::strerror(errno));
        ch.send(ErrorReply{std::string("openpty: ") + std::strerror(errno)});
        return;
      }
      PtyReply reply;
      reply.fds.emplace_back(master);
      reply.fds.emplace_back(slave);
      reply.tty_name = name;
      m_login_records.pty_allocated(name);
      // The slave belongs to the user, readable by group tty for write(1) (as sshd's pty_setowner).
      group* tty = ::getgrnam("tty");
      gid_t gid = tty != nullptr ? tty->gr_gid : m_user->gid;
      mode_t mode = tty != nullptr ? 0620 : 0600;
      if (::fchown(slave, m_user->uid, gid) != 0 || ::fchmod(slave, mode) != 0)
        log_error("pty: setting owner of %s: %s", name, std::strerror(errno));
      int fds[2] = {master, slave};
      ch.send(reply, fds);
      return;
    }

    case LoginRecordRequest::kType: {
      // utmp, wtmp and lastlog for a session on a pty (monitor/login_records.h): only for a pty
      // allocated here and not logged in yet; anything else is a misbehaving session process.
      auto req = ipc::decode<LoginRecordRequest>(m.data.view());
      // The host is the UseDNS-verified name when there is one, as in sshd's utmp records.
      auto last =
          m_login_records.login(req.tty_name, m_user->name, m_user->uid, m_peer.host(), ::getpid());
      if (!last) throw ProtocolError("monitor: " + last.error().message);
      ch.send(LoginRecordReply{*last ? last_login_message(**last) : std::string()});
      return;
    }

    case LogoutRecordRequest::kType: {
      auto req = ipc::decode<LogoutRecordRequest>(m.data.view());
      if (auto r = m_login_records.logout(req.tty_name); !r)
        throw ProtocolError("monitor: " + r.error().message);
      return;
    }
  }
  if (handle_postauth_extra(ch, m)) return;
  throw ProtocolError("monitor: unhandled request " + std::to_string(m.type));
}

// Host key rotation (PROTOCOL §2.5) and tun forwarding (PROTOCOL §2.3) for the session
// process. Returns false for any other request.
bool Monitor::handle_postauth_extra(Channel& ch, Message& m) {
  switch (m.type) {
    case HostKeysRequest::kType: {
      (void)ipc::decode<HostKeysRequest>(m.data.view());
      // Announced once, right after authentication.
      if (m_host_keys_announced) throw ProtocolError("monitor: host keys asked for twice");
      m_host_keys_announced = true;
      ch.send(HostKeysReply{announced_host_keys(loaded_host_keys())});
      return true;
    }
    case HostKeysProveRequest::kType: {
      auto req = ipc::decode<HostKeysProveRequest>(m.data.view());
      Result<std::vector<Bytes>> sigs = Unexpected("too many hostkeys-prove requests");
      if (++m_host_key_proofs <= kMaxHostKeyProofs)
        sigs =
            prove_host_keys(loaded_host_keys(), req.keys, m_session_id, m_kex_signature_algorithm);
      if (!sigs) {
        log_debug("hostkeys-prove-00@openssh.com refused: %s", sigs.error().message.c_str());
        ch.send(ErrorReply{sigs.error().message});
        return true;
      }
      log_debug("hostkeys-prove-00@openssh.com: proved %zu keys", sigs->size());
      ch.send(HostKeysProveReply{std::move(*sigs)});
      return true;
    }
    case TunOpenRequest::kType: {
      auto req = ipc::decode<TunOpenRequest>(m.data.view());
      Result<uint32_t> unit = Unexpected("too many tunnel requests");
      if (++m_tun_opens <= kMaxTunOpens)
        unit = decide_tun(m_effective.permit_tunnel, m_key_tun, req.mode, req.unit);
      if (!unit) {
        log_info("refused tun device forwarding for %s from %s port %d: %s", m_user_name.c_str(),
                 m_peer.address.c_str(), m_peer.port, unit.error().message.c_str());
        ch.send(ErrorReply{unit.error().message});
        return true;
      }
      auto dev = open_tun_device(req.mode, *unit, m_user->name, m_user->uid, m_user->gid);
      if (!dev) {
        log_info("tun device forwarding for %s: %s", m_user_name.c_str(),
                 dev.error().message.c_str());
        ch.send(ErrorReply{dev.error().message});
        return true;
      }
      TunOpenReply reply;
      reply.name = dev->name;
      int fds[1] = {dev->fd.get()};
      ch.send(reply, fds);
      return true;
    }
  }
  return false;
}

}  // namespace postern::monitor
