#include "monitor/bastion_auth_backend.h"

#include <pwd.h>

#include <ctime>

#include "common/log.h"
#include "monitor/auth_cert.h"
#include "monitor/auth_pubkey.h"
#include "postern_config.h"

namespace postern::monitor {

std::optional<Account> BastionAuthBackend::find_user(const std::string& name,
                                                     const config::ServerConfig& config,
                                                     const Endpoint& peer) {
  if (m_policy.find_user(name) == nullptr && find_extender(name) == nullptr)
    return SystemAuthBackend::find_user(name, config, peer);
  // No account: the privilege separation user's ids, so nothing that would run "as" this user
  // could ever be root; in bastion mode nothing runs as the user at all.
  const passwd* pw = ::getpwnam(POSTERN_PRIVSEP_USER);
  if (pw == nullptr) return std::nullopt;
  m_policy_users.insert(name);
  return Account{name, pw->pw_uid, pw->pw_gid, "/", "/usr/sbin/nologin"};
}

std::optional<AuthorizedKeyOptions> BastionAuthBackend::key_authorized(
    const Account& user, const PublicKey& key, const config::ServerConfig& config,
    const Endpoint& peer) {
  if (!is_policy_user(user.name)) return SystemAuthBackend::key_authorized(user, key, config, peer);
  if (key_revoked(config.revoked_keys, key)) return std::nullopt;
  const bastion::PolicyUser* pu = m_policy.find_user(user.name);
  const bastion::Extender* ext = pu == nullptr ? find_extender(user.name) : nullptr;
  if (pu == nullptr && ext == nullptr) return std::nullopt;
  // The policy's key lines are authorized_keys lines: options (from=, expiry-time, ...) count.
  std::string text;
  for (const auto& line : pu ? pu->keys : ext->keys) text += line + "\n";
  auto match =
      find_key_in_text(text, m_policy.path + (pu ? " [[user]] " : " [[extender]] ") + user.name,
                       key, peer, std::time(nullptr), false, user.name);
  if (!match) return std::nullopt;
  return match->options;
}

std::optional<AuthorizedKeyOptions> BastionAuthBackend::certificate_authorized(
    const Account& user, const Certificate& cert, const config::ServerConfig& config,
    const Endpoint& peer) {
  if (!is_policy_user(user.name))
    return SystemAuthBackend::certificate_authorized(user, cert, config, peer);
  if (certificate_revoked(config.revoked_keys, cert)) return std::nullopt;
  // An extender is its listed keys only: a certificate naming it opens no route.
  if (find_extender(user.name) != nullptr) return std::nullopt;
  // TrustedUserCAKeys with the user's name as a principal; a policy user has no home for an
  // AuthorizedPrincipalsFile and no account to run an AuthorizedPrincipalsCommand as.
  config::ServerConfig c = config;
  c.authorized_principals_file.clear();
  c.authorized_principals_command.clear();
  CommandConnection conn{peer.address, peer.port, local.address, local.port, config.rdomain};
  return trusted_ca_authorizes(user, cert, c, conn, peer);
}

bool BastionAuthBackend::password_ok(const std::string& name, const Account* user,
                                     ByteView password, const config::ServerConfig& config,
                                     const Endpoint& peer) {
  // A policy user has no password: refused at the cost of an unknown user's attempt.
  if (user != nullptr && is_policy_user(user->name))
    return SystemAuthBackend::password_ok(name, nullptr, password, config, peer);
  return SystemAuthBackend::password_ok(name, user, password, config, peer);
}

bool BastionAuthBackend::hostbased_authorized(const Account& user, const HostbasedKey& key,
                                              const std::string& client_host,
                                              const std::string& client_user,
                                              const config::ServerConfig& config,
                                              const Endpoint& peer) {
  if (is_policy_user(user.name)) return false;
  return SystemAuthBackend::hostbased_authorized(user, key, client_host, client_user, config, peer);
}

const bastion::Extender* BastionAuthBackend::find_extender(const std::string& name) const {
  for (const auto& e : m_policy.extenders)
    if (e.name == name) return &e;
  return nullptr;
}

bool BastionAuthBackend::system_account(const Account& user) const {
  return !is_policy_user(user.name);
}

}  // namespace postern::monitor
