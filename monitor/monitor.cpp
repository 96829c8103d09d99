// The per-connection monitor: its request table and the dispatcher that holds every request to
// it. The handlers live one file per request family (monitor_kex, monitor_user, monitor_pubkey,
// monitor_password, monitor_kbdint, monitor_hostbased, monitor_postauth).
#include "monitor/monitor.h"

#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "bastion/picker.h"
#include "common/ipc_bastion_messages.h"
#include "common/ipc_extender_messages.h"
#include "common/ipc_messages.h"
#include "common/ipc_picker_messages.h"
#include "common/ipc_proxy_messages.h"
#include "common/log.h"

namespace postern::monitor {

using namespace ipc;

std::span<const Monitor::Request> Monitor::requests() {
  using enum Phase;
  // The protocol, top to bottom (each handler permits the next step): the net
  // child's key exchange and user name, then attempts of any method until one succeeds (or
  // MaxAuthTries closes), the handoff, and the session process's requests after login. A
  // request in no row, or in a phase its row does not list, ends the connection.
  // clang-format off
  static constexpr Request kRows[] = {
      {.type = LogLine::kType, .name = "LOG", .allowed = PhaseSet::all(),
       .handler = &Monitor::on_log_line, .next = PhaseSet::all()},
      // ---- the net child, before authentication; on a proxy front door connection the
      // proxy request's target comes first (monitor_proxy.cpp)
      {.type = ProxyTarget::kType, .name = "PROXY_TARGET", .allowed = {kKex},
       .handler = &Monitor::on_proxy_target, .next = {kKex}},
      {.type = SignRequest::kType, .name = "SIGN", .allowed = {kKex, kPostauth, kBastion},
       .handler = &Monitor::on_sign, .next = {kKex, kUser, kPostauth, kBastion}},
      {.type = ModuliRequest::kType, .name = "MODULI", .allowed = {kKex, kPostauth, kBastion},
       .handler = &Monitor::on_moduli, .next = {kKex, kPostauth, kBastion}},
      {.type = PwnamRequest::kType, .name = "PWNAM", .allowed = {kUser},
       .handler = &Monitor::on_pwnam, .next = {kAwaitingAuth}},
      {.type = KeyAllowedRequest::kType, .name = "KEYALLOWED", .allowed = {kAwaitingAuth, kVerify},
       .handler = &Monitor::on_key_allowed, .next = {kAwaitingAuth, kVerify, kClosed}},
      {.type = KeyVerifyRequest::kType, .name = "KEYVERIFY", .allowed = {kVerify},
       .handler = &Monitor::on_key_verify, .next = {kAwaitingAuth, kAuthenticated, kClosed}},
      {.type = PasswordRequest::kType, .name = "PASSWORD", .allowed = {kAwaitingAuth},
       .handler = &Monitor::on_password, .next = {kAwaitingAuth, kAuthenticated, kClosed}},
      {.type = KbdintStartRequest::kType, .name = "KBDINT", .allowed = {kAwaitingAuth},
       .handler = &Monitor::on_kbdint_start, .next = {kAwaitingAuth, kAuthenticated, kClosed}},
      {.type = KbdintResponseRequest::kType, .name = "KBDINT_RESPONSE", .allowed = {kAwaitingAuth},
       .handler = &Monitor::on_kbdint_response, .next = {kAwaitingAuth, kAuthenticated, kClosed}},
      {.type = HostbasedRequest::kType, .name = "HOSTBASED", .allowed = {kAwaitingAuth},
       .handler = &Monitor::on_hostbased, .next = {kAwaitingAuth, kAuthenticated, kClosed}},
      {.type = AuthDone::kType, .name = "AUTHDONE", .allowed = {kAuthenticated},
       .handler = &Monitor::on_auth_done, .next = {kAuthenticated}},
      // ---- the session process, after start_postauth(); SIGN and MODULI above serve re-keys
      {.type = PtyRequest::kType, .name = "PTY", .allowed = {kPostauth},
       .handler = &Monitor::on_pty, .next = {kPostauth}},
      {.type = LoginRecordRequest::kType, .name = "LOGIN_RECORD", .allowed = {kPostauth},
       .handler = &Monitor::on_login_record, .next = {kPostauth}},
      {.type = LogoutRecordRequest::kType, .name = "LOGOUT_RECORD", .allowed = {kPostauth},
       .handler = &Monitor::on_logout_record, .next = {kPostauth}},
      {.type = HostKeysRequest::kType, .name = "HOSTKEYS", .allowed = {kPostauth},
       .handler = &Monitor::on_host_keys, .next = {kPostauth}},
      {.type = HostKeysProveRequest::kType, .name = "HOSTKEYS_PROVE", .allowed = {kPostauth},
       .handler = &Monitor::on_host_keys_prove, .next = {kPostauth}},
      {.type = TunOpenRequest::kType, .name = "TUN_OPEN", .allowed = {kPostauth},
       .handler = &Monitor::on_tun_open, .next = {kPostauth}},
      // ---- sshd-bastion, after start_postauth() in bastion mode (monitor_bastion.cpp): a
      // target is opened, its host key checked, then it is logged in to; channels are decided
      {.type = TargetOpenRequest::kType, .name = "TARGET_OPEN", .allowed = {kBastion},
       .handler = &Monitor::on_target_open, .next = {kBastion}},
      {.type = TargetHostKeyRequest::kType, .name = "TARGET_HOSTKEY", .allowed = {kBastion},
       .handler = &Monitor::on_target_host_key, .next = {kBastion}},
      {.type = TargetCertRequest::kType, .name = "TARGET_CERT", .allowed = {kBastion},
       .handler = &Monitor::on_target_cert, .next = {kBastion}},
      {.type = TargetSignRequest::kType, .name = "TARGET_SIGN", .allowed = {kBastion},
       .handler = &Monitor::on_target_sign, .next = {kBastion}},
      {.type = ChannelDecisionRequest::kType, .name = "CHANNEL_DECISION", .allowed = {kBastion},
       .handler = &Monitor::on_channel_decision, .next = {kBastion}},
      {.type = BastionEvent::kType, .name = "BASTION_EVENT", .allowed = {kBastion},
       .handler = &Monitor::on_bastion_event, .next = {kBastion}},
      {.type = IssueCertRequest::kType, .name = "ISSUE_CERT", .allowed = {kBastion},
       .handler = &Monitor::on_issue_cert, .next = {kBastion}},
      {.type = RecordingOpenRequest::kType, .name = "RECORDING_OPEN", .allowed = {kBastion},
       .handler = &Monitor::on_recording_open, .next = {kBastion}},
      {.type = PickerListRequest::kType, .name = "PICKER_LIST", .allowed = {kBastion},
       .handler = &Monitor::on_picker_list, .next = {kBastion}},
      {.type = PickerChooseRequest::kType, .name = "PICKER_CHOOSE", .allowed = {kBastion},
       .handler = &Monitor::on_picker_choose, .next = {kBastion}},
      {.type = ExtenderListenRequest::kType, .name = "EXTENDER_LISTEN", .allowed = {kBastion},
       .handler = &Monitor::on_extender_listen, .next = {kBastion}},
  };
  // clang-format on
  return kRows;
}

const Monitor::Request* Monitor::find_request(uint8_t type) {
  for (const Request& r : requests())
    if (r.type == type) return &r;
  return nullptr;
}

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::kKex:
      return "kex";
    case Phase::kUser:
      return "user";
    case Phase::kAwaitingAuth:
      return "awaiting-auth";
    case Phase::kVerify:
      return "verify";
    case Phase::kAuthenticated:
      return "authenticated";
    case Phase::kPostauth:
      return "postauth";
    case Phase::kClosed:
      return "closed";
    case Phase::kBastion:
      return "bastion";
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

Monitor::~Monitor() {
  if (!m_auth_info_file.empty()) ::unlink(m_auth_info_file.c_str());
}

void Monitor::handle(Channel& ch, Message& m) {
  const Request* row = find_request(m.type);
  if (row == nullptr || !row->allowed.contains(m_phase))
    throw ProtocolError("monitor: request " +
                        std::string(row ? row->name : std::to_string(m.type)) +
                        " not allowed in phase " + phase_name(m_phase));
  // Descriptors travel only in replies.
  if (!m.fds.empty()) throw ProtocolError("monitor: unexpected descriptors with a request");
  // Any other request abandons a keyboard-interactive conversation (RFC 4256 §3.4 answers only
  // the question asked), which PAM then sees fail.
  if (m_kbdint_active && m.type != KbdintResponseRequest::kType && m.type != LogLine::kType) {
    m_kbdint_active = false;
    if (m_pam != nullptr) m_pam->kbdint_abandon();
  }
  Phase next;
  try {
    next = (this->*row->handler)(ch, m);
  } catch (const PamAccessDenied&) {
    // PAM's account stage refused a user who authenticated: nothing more may happen.
    m_phase = Phase::kClosed;
    throw;
  }
  // A handler that leads elsewhere than its row says is a bug here, not the child's doing.
  if (!row->next.contains(next))
    throw std::logic_error(std::string("monitor: ") + row->name + " led to phase " +
                           phase_name(next));
  m_phase = next;
}

void Monitor::start_postauth() {
  if (m_phase != Phase::kAuthenticated) throw ProtocolError("monitor: post-auth before auth");
  m_phase = m_bastion != nullptr ? Phase::kBastion : Phase::kPostauth;
}

Phase Monitor::on_log_line(Channel&, Message& m) {
  auto req = ipc::decode<LogLine>(m.data.view());
  if (req.level < uint32_t(LogLevel::kFatal) || req.level > uint32_t(LogLevel::kDebug3))
    throw ProtocolError("monitor: bad log level");
  LogLevel level = LogLevel(req.level);
  // The child has decided already, with its own level (Match LogLevel, internal-sftp -l)
  // and LogVerbose patterns whose places in the source only it knows.
  // The child's lines are marked as such: fail2ban's patterns expect " [preauth]".
  bool preauth = m_phase != Phase::kPostauth && m_phase != Phase::kBastion;
  if (req.line.size() > 1024) req.line.resize(1024);
  // internal-sftp -f: the child's facility for this line (common/log.cpp checks it).
  int facility = log_set_facility_override(int(std::min<uint32_t>(req.facility, 1U << 16)));
  logf(level, "%s%s", req.line.c_str(), preauth ? " [preauth]" : "");
  log_set_facility_override(facility);
  return m_phase;
}

std::vector<std::string> Monitor::enabled_methods() const {
  std::vector<std::string> out;
  if (m_effective.pubkey_authentication) out.push_back("publickey");
  if (m_effective.password_authentication) out.push_back("password");
  // keyboard-interactive needs a PAM conversation to carry.
  // A bastion policy user's TOTP step is the monitor's own conversation (monitor_totp.cpp).
  // The picker (monitor_picker.cpp) is one too.
  if ((m_effective.kbd_interactive_authentication && m_effective.use_pam) ||
      !m_totp_secret.empty() || m_picker != nullptr)
    out.push_back("keyboard-interactive");
  if (m_effective.hostbased_authentication) out.push_back("hostbased");
  return out;
}

Phase Monitor::method_succeeded(const std::string& method, ipc::AuthOutcome& outcome,
                                const std::string& detail, const std::string& log_suffix) {
  m_auth_info.push_back(detail.empty() ? method : method + " " + detail);
  // Once the user's own methods are done, only the picker remains (monitor_picker.cpp): another
  // method succeeding again changes nothing.
  if (m_picker_pending || m_methods.succeeded(method)) {
    if (!m_picker_pending) {
      // UsePAM: the account stage decides for every method, publickey included (monitor_kbdint).
      pam_account_stage(method == "keyboard-interactive" ? "keyboard-interactive/pam" : method,
                        log_suffix);
      if (m_effective.expose_auth_info && m_user) {
        m_auth_info_file = write_auth_info(m_auth_info, m_user->uid, m_user->gid);
        // The session process exports it like a SetEnv variable (sshd_config(5) ExposeAuthInfo).
        if (!m_auth_info_file.empty())
          m_effective.set_env.push_back("SSH_USER_AUTH=" + m_auth_info_file);
      }
    }
    if (picker_step_due(outcome)) {
      log_info("Partial %s for %s from %s port %d ssh2: the target picker follows", method.c_str(),
               m_user_name.c_str(), m_peer.address.c_str(), m_peer.port);
      return Phase::kAwaitingAuth;
    }
    return Phase::kAuthenticated;
  }
  outcome.partial = true;
  outcome.methods = m_methods.next(enabled_methods());
  // publickey logs its own line with the key.
  if (method != "publickey")
    log_info("Partial %s for %s from %s port %d ssh2", method.c_str(), m_user_name.c_str(),
             m_peer.address.c_str(), m_peer.port);
  return Phase::kAwaitingAuth;
}

Phase Monitor::method_failed(ipc::AuthOutcome& outcome) {
  ++m_failures;
  outcome.exceeded = m_failures >= m_max_auth_tries;
  return outcome.exceeded ? Phase::kClosed : Phase::kAwaitingAuth;
}

}  // namespace postern::monitor
