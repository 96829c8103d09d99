#include "monitor/bastion_auth_backend.h"

#include <pwd.h>

#include <algorithm>
#include <ctime>

#include "common/log.h"
#include "monitor/auth_cert.h"
#include "monitor/auth_pubkey.h"
#include "postern_config.h"

namespace postern::monitor {

std::optional<Account> BastionAuthBackend::find_user(const std::string& name,
                                                     const config::ServerConfig& config,
                                                     const Endpoint& peer) {
  if (m_proxy_door) {
    // The target account's stand-in: nothing of this machine's account of that name is used.
    const passwd* pw = ::getpwnam(POSTERN_PRIVSEP_USER);
    if (pw == nullptr) return std::nullopt;
    m_proxy_account = name;
    return Account{name, pw->pw_uid, pw->pw_gid, "/", "/usr/sbin/nologin"};
  }
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
  if (is_proxy_account(user)) return proxy_key_authorized(key, config, peer);
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
  if (is_proxy_account(user)) return proxy_certificate_authorized(user, cert, config, peer);
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
  if (user != nullptr && (is_policy_user(user->name) || is_proxy_account(*user)))
    return SystemAuthBackend::password_ok(name, nullptr, password, config, peer);
  return SystemAuthBackend::password_ok(name, user, password, config, peer);
}

bool BastionAuthBackend::hostbased_authorized(const Account& user, const HostbasedKey& key,
                                              const std::string& client_host,
                                              const std::string& client_user,
                                              const config::ServerConfig& config,
                                              const Endpoint& peer) {
  if (is_policy_user(user.name) || is_proxy_account(user)) return false;
  return SystemAuthBackend::hostbased_authorized(user, key, client_host, client_user, config, peer);
}

const bastion::Extender* BastionAuthBackend::find_extender(const std::string& name) const {
  for (const auto& e : m_policy.extenders)
    if (e.name == name) return &e;
  return nullptr;
}

bool BastionAuthBackend::system_account(const Account& user) const {
  return !is_policy_user(user.name) && !is_proxy_account(user);
}

std::string BastionAuthBackend::proxy_key_owner(ByteView key_blob) const {
  auto it = m_proxy_owners.find(Bytes(key_blob.begin(), key_blob.end()));
  return it == m_proxy_owners.end() ? std::string() : it->second;
}

bool BastionAuthBackend::proxy_owner_acceptable(const std::vector<std::string>& owners,
                                                const std::string& what) {
  if (owners.empty()) {
    log_verbose("proxy front door: %s belongs to no policy user", what.c_str());
    return false;
  }
  if (owners.size() > 1) {
    // Which of them would be logged in, audited and granted cannot be told: refused.
    log_info("proxy front door: refusing %s: policy users %s and %s share it (ambiguous)",
             what.c_str(), owners[0].c_str(), owners[1].c_str());
    return false;
  }
  const bastion::PolicyUser* pu = m_policy.find_user(owners[0]);
  if (pu != nullptr && !pu->totp.empty()) {
    log_info("proxy front door: refusing %s of %s: a TOTP user logs in on the SSH port",
             what.c_str(), owners[0].c_str());
    return false;
  }
  return true;
}

std::optional<AuthorizedKeyOptions> BastionAuthBackend::proxy_key_authorized(
    const PublicKey& key, const config::ServerConfig& config, const Endpoint& peer) {
  if (key_revoked(config.revoked_keys, key)) return std::nullopt;
  std::vector<std::string> owners;
  std::optional<AuthorizedKeyOptions> options;
  for (const bastion::PolicyUser& pu : m_policy.users) {
    std::string text;
    for (const auto& line : pu.keys) text += line + "\n";
    // Each user's lines with their own options (from=, expiry-time=): a key that one user's
    // line allows from here counts for that user only.
    auto match = find_key_in_text(text, m_policy.path + " [[user]] " + pu.name, key, peer,
                                  std::time(nullptr), false, pu.name);
    if (!match) continue;
    owners.push_back(pu.name);
    options = match->options;
  }
  std::string what = std::string(key.log_name()) + " " + key.fingerprint_sha256();
  if (!proxy_owner_acceptable(owners, what)) return std::nullopt;
  m_proxy_owners[key.blob()] = owners[0];
  return options;
}

std::optional<AuthorizedKeyOptions> BastionAuthBackend::proxy_certificate_authorized(
    const Account& user, const Certificate& cert, const config::ServerConfig& config,
    const Endpoint& peer) {
  if (certificate_revoked(config.revoked_keys, cert)) return std::nullopt;
  // The bastion user is the policy user a principal names (TrustedUserCAKeys then checks the
  // certificate for that name, as for a policy user's own login).
  std::vector<std::string> owners;
  for (const std::string& p : cert.principals())
    if (m_policy.find_user(p) != nullptr &&
        std::find(owners.begin(), owners.end(), p) == owners.end())
      owners.push_back(p);
  if (!proxy_owner_acceptable(owners, "certificate " + cert.log_description())) return std::nullopt;
  Account owner = user;
  owner.name = owners[0];
  config::ServerConfig c = config;
  c.authorized_principals_file.clear();
  c.authorized_principals_command.clear();
  CommandConnection conn{peer.address, peer.port, local.address, local.port, config.rdomain};
  auto options = trusted_ca_authorizes(owner, cert, c, conn, peer);
  if (options) m_proxy_owners[cert.blob()] = owners[0];
  return options;
}

}  // namespace postern::monitor
