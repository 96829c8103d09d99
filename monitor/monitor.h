// The per-connection monitor (docs/architecture.md): the only code that answers the
// children. Its request table (Monitor::requests(), monitor.cpp) gives each request the phases
// it is allowed in, its handler and the phases it may lead to; the dispatcher alone moves the
// phase. A request out of phase or order is a ProtocolError, which ends the connection. The
// monitor re-checks what it signs and verifies (session identifier, user, service, method, key)
// instead of trusting the child.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/account.h"
#include "common/authorized_keys.h"
#include "common/config/server_config.h"
#include "common/ipc.h"
#include "common/ipc_messages.h"
#include "common/ssh_cert.h"
#include "common/ssh_key.h"
#include "monitor/auth_hostbased.h"
#include "monitor/auth_methods.h"
#include "monitor/auth_pubkey.h"
#include "monitor/listener.h"
#include "monitor/login_records.h"
#include "monitor/pam_driver.h"
#include "monitor/rekey_sign_budget.h"
#include "monitor/tun_device.h"

namespace postern::bastion {
class PickerConversation;  // bastion/picker.h
}  // namespace postern::bastion

namespace postern::monitor {

class BastionSession;  // monitor/bastion_session.h

// The decisions that need the system (user database, files), behind an interface so the phase
// logic is testable with a fake.
class AuthBackend {
 public:
  virtual ~AuthBackend() = default;
  // The account, or nullopt when it does not exist or may not log in (AllowUsers...). Logs why.
  virtual std::optional<Account> find_user(const std::string& name,
                                           const config::ServerConfig& config,
                                           const Endpoint& peer) = 0;
  // The options of the authorized_keys line that authorizes `key` for `user` (AuthorizedKeysFile
  // with StrictModes, from= and expiry-time enforced), or nullopt. Logs what it found.
  virtual std::optional<AuthorizedKeyOptions> key_authorized(const Account& user,
                                                             const PublicKey& key,
                                                             const config::ServerConfig& config,
                                                             const Endpoint& peer) = 0;
  // The restrictions under which the user certificate `cert` logs `user` in (TrustedUserCAKeys,
  // AuthorizedPrincipalsFile, RevokedKeys; monitor/auth_cert), or nullopt. Logs why.
  virtual std::optional<AuthorizedKeyOptions> certificate_authorized(
      const Account& user, const Certificate& cert, const config::ServerConfig& config,
      const Endpoint& peer) {
    (void)user, (void)cert, (void)config, (void)peer;
    return std::nullopt;
  }
  // Whether `password` logs `user` in (PAM or crypt(3), PermitEmptyPasswords, PermitRootLogin);
  // `user` is nullptr for an invalid user, who is refused at the same cost. Logs the outcome.
  virtual bool password_ok(const std::string& name, const Account* user, ByteView password,
                           const config::ServerConfig& config, const Endpoint& peer) {
    (void)name, (void)user, (void)password, (void)config, (void)peer;
    return false;
  }
  // Hostbased (RFC 4252 §9; monitor/auth_hostbased.h): whether `client_user` on `client_host`
  // (as sent) with host key `key` may log in as `user`: the rhosts files, RevokedKeys and
  // known_hosts. The signature is the monitor's to check. Logs why.
  // Whether `user` is an account of this system (PAM's account stage applies), rather than a
  // bastion policy user (monitor/bastion_auth_backend.h).
  virtual bool system_account(const Account& user) const {
    (void)user;
    return true;
  }
  // sshd -B, the proxy front door: the policy user whose key or certificate (this blob) was
  // allowed, "" for none (monitor/bastion_auth_backend.h).
  virtual std::string proxy_key_owner(ByteView key_blob) const {
    (void)key_blob;
    return {};
  }
  virtual bool hostbased_authorized(const Account& user, const HostbasedKey& key,
                                    const std::string& client_host, const std::string& client_user,
                                    const config::ServerConfig& config, const Endpoint& peer) {
    (void)user, (void)key, (void)client_host, (void)client_user, (void)config, (void)peer;
    return false;
  }
};

// A host key and one signature algorithm it serves ("rsa-sha2-512" and "rsa-sha2-256" share a key).
struct HostKeyEntry {
  std::string algorithm;
  std::shared_ptr<const PrivateKey> key;
  // HostCertificate: the certificate blob served as K_S for a "...-cert-v01@openssh.com"
  // algorithm (monitor/host_certs); the key still signs, with the plain algorithm.
  std::optional<Bytes> certificate;
};

// The host key algorithms our keys can sign with, in a stable order.
std::vector<HostKeyEntry> host_key_entries(
    const std::vector<std::shared_ptr<const PrivateKey>>& keys);

// Where the connection is; the request table (Monitor::requests()) says what each phase allows.
enum class Phase : uint8_t {
  kKex,            // until the first key exchange's host key signature
  kUser,           // the user name, once
  kAwaitingAuth,   // any authentication attempt (or query) of any method
  kVerify,         // the signature for the key just allowed, or another query
  kAuthenticated,  // the net child's handoff of the transport
  kPostauth,       // the session process
  kClosed,         // MaxAuthTries reached: log lines only
  kBastion,        // sshd -B: the bastion session process (sshd-bastion) after login
};
const char* phase_name(Phase p);

// The longest user name a child may name (PWNAM, signed data, hostbased's client user).
inline constexpr size_t kMaxUserName = 256;

// A set of phases, for the table's rows.
class PhaseSet {
 public:
  constexpr PhaseSet(std::initializer_list<Phase> phases) {
    for (Phase p : phases) m_bits = uint16_t(m_bits | bit(p));
  }
  static constexpr PhaseSet all() {
    return {Phase::kKex,           Phase::kUser,     Phase::kAwaitingAuth, Phase::kVerify,
            Phase::kAuthenticated, Phase::kPostauth, Phase::kClosed,       Phase::kBastion};
  }
  constexpr bool contains(Phase p) const { return (m_bits & bit(p)) != 0; }

 private:
  static constexpr uint16_t bit(Phase p) { return uint16_t(1U << unsigned(p)); }
  uint16_t m_bits = 0;
};

class Monitor {
 public:
  Monitor(config::ServerConfig config, std::vector<HostKeyEntry> host_keys, Endpoint peer,
          Endpoint local, AuthBackend& backend);
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  Phase phase() const { return m_phase; }
  // Serves one request from the child: checks the table, runs the handler, answers, moves to
  // the phase the handler returns. Throws ProtocolError for a request not allowed now or a
  // malformed one.
  void handle(ipc::Channel& channel, ipc::Message& message);

  // One row of the request table: a request the children may send, the phases it is allowed
  // in, its handler (which answers and returns the phase that follows) and the phases it may
  // lead to. The rows, in monitor.cpp, read top to bottom as the protocol.
  struct Request {
    uint8_t type;
    const char* name;
    PhaseSet allowed;
    Phase (Monitor::*handler)(ipc::Channel&, ipc::Message&);
    PhaseSet next;
  };
  static std::span<const Request> requests();
  // The row for `type`, or nullptr for a request the monitor does not know.
  static const Request* find_request(uint8_t type);

  // Moves to the post-auth phase once the session process takes over (kBastion in bastion
  // mode: sshd-bastion's requests instead of sshd-user's).
  void start_postauth();

  // sshd -B (monitor/bastion_session.h): the user name may name a route, policy users log in,
  // and after login the bastion requests are served. Set before the net child starts.
  void set_bastion(BastionSession* bastion) { m_bastion = bastion; }

  // Every loaded HostKey, announced with hostkeys-00@openssh.com (PROTOCOL §2.5); the entries
  // keep only the first key of each algorithm. Without this call the entries' keys are used.
  void set_host_keys(std::vector<std::shared_ptr<const PrivateKey>> keys) {
    m_all_host_keys = std::move(keys);
  }

  // UsePAM: the connection's PAM handle (monitor/pam_context.h), for keyboard-interactive and the
  // account stage of every method. Without it keyboard-interactive is refused.
  void set_pam(PamDriver* pam) { m_pam = pam; }
  // PAM said the password has expired: the session may only change it (sshd's force_pwchange).
  bool password_change_required() const { return m_password_expired; }

  // After AUTHDONE: who logged in, with the Match-applied configuration and the transport.
  const Account& user() const { return *m_user; }
  const config::ServerConfig& effective_config() const { return m_effective; }
  const std::string& user_name() const { return m_user_name; }
  bool user_known() const { return !m_user_name.empty(); }
  bool user_valid() const { return m_user.has_value(); }
  // Failed authentication attempts so far (publickey, password, keyboard-interactive).
  unsigned failures() const { return m_failures; }
  // The authorizing key's environment= (only when PermitUserEnvironment allows any) and
  // whether the effective ForceCommand is its command= rather than the configuration's.
  const std::vector<std::string>& key_environment() const { return m_key_environment; }
  bool key_command() const { return m_key_command; }
  // The authorizing key's permitopen= and permitlisten= (empty: no restriction of its own).
  const std::vector<std::string>& key_permit_open() const { return m_key_permit_open; }
  const std::vector<std::string>& key_permit_listen() const { return m_key_permit_listen; }
  SecretBytes take_transport_state() { return std::move(m_transport_state); }
  ByteView session_id() const { return m_session_id; }

 private:
  friend struct MonitorPhaseProbe;  // monitor_test.cpp walks the table from every phase

  // ---- the handlers, one file per request family
  Phase on_log_line(ipc::Channel& ch, ipc::Message& m);  // monitor.cpp
  // monitor_kex.cpp
  Phase on_sign(ipc::Channel& ch, ipc::Message& m);
  Phase on_moduli(ipc::Channel& ch, ipc::Message& m);
  // monitor_user.cpp
  Phase on_pwnam(ipc::Channel& ch, ipc::Message& m);
  // monitor_proxy.cpp (sshd -B, the proxy front door: the target the proxy request named)
  Phase on_proxy_target(ipc::Channel& ch, ipc::Message& m);
  // monitor_pubkey.cpp
  Phase on_key_allowed(ipc::Channel& ch, ipc::Message& m);
  Phase on_key_verify(ipc::Channel& ch, ipc::Message& m);
  // monitor_password.cpp
  Phase on_password(ipc::Channel& ch, ipc::Message& m);
  // monitor_kbdint.cpp
  Phase on_kbdint_start(ipc::Channel& ch, ipc::Message& m);
  Phase on_kbdint_response(ipc::Channel& ch, ipc::Message& m);
  // monitor_hostbased.cpp
  Phase on_hostbased(ipc::Channel& ch, ipc::Message& m);
  // monitor_postauth.cpp
  Phase on_auth_done(ipc::Channel& ch, ipc::Message& m);
  Phase on_pty(ipc::Channel& ch, ipc::Message& m);
  Phase on_login_record(ipc::Channel& ch, ipc::Message& m);
  Phase on_logout_record(ipc::Channel& ch, ipc::Message& m);
  Phase on_host_keys(ipc::Channel& ch, ipc::Message& m);
  Phase on_host_keys_prove(ipc::Channel& ch, ipc::Message& m);
  Phase on_tun_open(ipc::Channel& ch, ipc::Message& m);
  // monitor_bastion.cpp (sshd-bastion, phase kBastion)
  Phase on_target_open(ipc::Channel& ch, ipc::Message& m);
  Phase on_target_host_key(ipc::Channel& ch, ipc::Message& m);
  Phase on_target_cert(ipc::Channel& ch, ipc::Message& m);
  Phase on_target_sign(ipc::Channel& ch, ipc::Message& m);
  Phase on_channel_decision(ipc::Channel& ch, ipc::Message& m);
  Phase on_bastion_event(ipc::Channel& ch, ipc::Message& m);
  // monitor_bastion_issue.cpp (machine to machine, phase kBastion)
  Phase on_issue_cert(ipc::Channel& ch, ipc::Message& m);
  Phase on_recording_open(ipc::Channel& ch, ipc::Message& m);  // monitor_recording.cpp
  // monitor_pty_picker.cpp (the full-screen picker, phase kBastion)
  Phase on_picker_list(ipc::Channel& ch, ipc::Message& m);
  Phase on_picker_choose(ipc::Channel& ch, ipc::Message& m);
  Phase on_extender_listen(ipc::Channel& ch, ipc::Message& m);  // monitor_extender.cpp
  BastionSession& bastion();  // throws ProtocolError outside bastion mode

  Result<Bytes> sign(const std::string& algorithm, ByteView data);
  // A post-auth SIGN: only a re-key's, with the session's host key, within the budget.
  void check_rekey_sign(const std::string& algorithm);
  void log_failed_publickey(const PublicKey* key, const Certificate* cert = nullptr);
  void check_signed_data(ByteView data, const std::string& algorithm, ByteView key);
  void apply_key_options(const AuthorizedKeyOptions& o);
  // The methods the configuration enables for this user (before AuthenticationMethods).
  std::vector<std::string> enabled_methods() const;
  // A method succeeded: authenticated, or a partial success with the methods that continue.
  // `detail` follows the method name in the ExposeAuthInfo file (the key for publickey).
  // `log_suffix` follows the "Failed ..." line when PAM's account stage refuses (": KEY").
  Phase method_succeeded(const std::string& method, ipc::AuthOutcome& outcome,
                         const std::string& detail = {}, const std::string& log_suffix = {});
  // A method failed: counts it against MaxAuthTries; kClosed once they are used up.
  Phase method_failed(ipc::AuthOutcome& outcome);

  config::ServerConfig m_config;     // global
  config::ServerConfig m_effective;  // after Match for the user
  std::vector<HostKeyEntry> m_host_keys;
  Endpoint m_peer;
  Endpoint m_local;
  AuthBackend& m_backend;

  Phase m_phase = Phase::kKex;
  Bytes m_session_id;
  Bytes m_session_host_key;  // K_S of the first key exchange (publickey-hostbound binds to it)
  std::shared_ptr<const PrivateKey> m_session_signing_key;  // the key that signed it
  RekeySignBudget m_rekey_signs;  // post-auth signatures (monitor/rekey_sign_budget.h)
  bool m_moduli_served = false;
  std::string m_user_name;      // the account
  std::string m_user_name_raw;  // as the client sent it ("user:style")
  std::string m_service;
  std::optional<Account> m_user;
  unsigned m_failures = 0;
  AuthMethodLists m_methods{std::vector<std::string>{}};
  std::vector<std::string> m_auth_info;  // ExposeAuthInfo lines
  std::string m_auth_info_file;          // removed when the connection ends
  unsigned m_max_auth_tries = 6;
  // The key (and algorithm) the last KEYALLOWED accepted for a signed attempt.
  std::optional<Bytes> m_pending_key;
  std::string m_pending_algorithm;
  AuthorizedKeyOptions m_pending_options;
  UsedKeys m_used_keys;  // keys that succeeded in an earlier AuthenticationMethods step
  SecretBytes m_transport_state;
  std::vector<std::string> m_key_environment;
  bool m_key_command = false;
  std::vector<std::string> m_key_permit_open;
  std::vector<std::string> m_key_permit_listen;
  LoginRecords m_login_records;  // the ptys of this connection (utmp, wtmp, lastlog)
  // Host key rotation and tun forwarding (monitor/host_key_proof.h, monitor/tun_device.h).
  std::vector<std::shared_ptr<const PrivateKey>> loaded_host_keys() const;
  std::vector<std::shared_ptr<const PrivateKey>> m_all_host_keys;
  std::string m_kex_signature_algorithm;  // the plain algorithm of the latest host signature
  bool m_host_keys_announced = false;
  unsigned m_host_key_proofs = 0;
  unsigned m_tun_opens = 0;
  TunKeyOptions m_key_tun;  // tunnel= and restrict of the key(s) that logged the user in
  // keyboard-interactive through PAM and the PAM account stage (monitor/monitor_kbdint.cpp).
  Phase kbdint_outcome(const PamStep& step, ipc::KbdintReply& reply);
  // At the final success of any method: pam_acct_mgmt. Throws PamAccessDenied after logging
  // "Failed <method> ..." when the account may not log in.
  void pam_account_stage(const std::string& log_method, const std::string& log_suffix);
  PamDriver* m_pam = nullptr;
  bool m_kbdint_active = false;  // a conversation waits for the client's answers
  size_t m_kbdint_prompts = 0;   // the prompts it asked (RFC 4256 §3.4: one answer each)
  bool m_password_expired = false;
  BastionSession* m_bastion = nullptr;
  // sshd -B, a policy user with a `totp` secret: after the key, keyboard-interactive is the
  // monitor's own "Verification code: " instead of PAM's (monitor/monitor_totp.cpp).
  void require_totp_if_policy_says();
  Phase totp_kbdint_start(ipc::Channel& ch);
  Phase totp_kbdint_answer(ipc::Channel& ch, const ipc::KbdintResponseRequest& req,
                           std::chrono::steady_clock::time_point start);
  std::string m_totp_secret;  // base32, as the policy has it; empty: no TOTP for this user
  // sshd -B, a user name without a route (monitor/monitor_picker.cpp): the target picker, one
  // more keyboard-interactive step after the user's own authentication, for a client that
  // has itself tried keyboard-interactive on this connection (man/postern-bastion.5 says why).
  void prepare_picker();
  // Whether the user's completed authentication must still pass the picker; sets the outcome.
  bool picker_step_due(ipc::AuthOutcome& outcome);
  Phase picker_kbdint_start(ipc::Channel& ch);
  Phase picker_kbdint_answer(ipc::Channel& ch, const ipc::KbdintResponseRequest& req);
  // keyboard-interactive before the user's own methods are done, when nothing else answers it.
  Phase picker_probe_start(ipc::Channel& ch);
  Phase picker_probe_answer(ipc::Channel& ch, const ipc::KbdintResponseRequest& req);
  std::unique_ptr<bastion::PickerConversation> m_picker;  // the user's targets, or null
  bool m_client_tried_kbdint = false;  // any keyboard-interactive request on this connection
  bool m_picker_pending = false;       // the user's own methods are done; the picker is not
  bool m_picker_asking = false;        // a picker round waits for the client's answer
  bool m_picker_probing = false;       // the empty round before the user's own methods
};

}  // namespace postern::monitor
