// sshd -B: bastion users are the policy's [[user]] entries (keys in bastion.toml, no account of
// this machine) and, as in sshd mode, the system's accounts (NSS, PAM: local, LDAP, AD through
// sssd). A policy user wins over an account of the same name; it has no password, no PAM stage,
// no hostbased login, and logs in with a listed key or a certificate from TrustedUserCAKeys
// whose principal is its name. An [[extender]]'s name logs in with that extender's keys only (no
// certificate, no password): its connection may only forward (man/postern-bastion.5 EXTENDERS).
#pragma once

#include <set>
#include <string>

#include "bastion/policy.h"
#include "monitor/auth_backend.h"

namespace postern::monitor {

class BastionAuthBackend : public SystemAuthBackend {
 public:
  explicit BastionAuthBackend(const bastion::Policy& policy) : m_policy(policy) {}

  std::optional<Account> find_user(const std::string& name, const config::ServerConfig& config,
                                   const Endpoint& peer) override;
  std::optional<AuthorizedKeyOptions> key_authorized(const Account& user, const PublicKey& key,
                                                     const config::ServerConfig& config,
                                                     const Endpoint& peer) override;
  std::optional<AuthorizedKeyOptions> certificate_authorized(const Account& user,
                                                             const Certificate& cert,
                                                             const config::ServerConfig& config,
                                                             const Endpoint& peer) override;
  bool password_ok(const std::string& name, const Account* user, ByteView password,
                   const config::ServerConfig& config, const Endpoint& peer) override;
  bool hostbased_authorized(const Account& user, const HostbasedKey& key,
                            const std::string& client_host, const std::string& client_user,
                            const config::ServerConfig& config, const Endpoint& peer) override;
  bool system_account(const Account& user) const override;

 private:
  bool is_policy_user(const std::string& name) const { return m_policy_users.count(name) != 0; }
  const bastion::Extender* find_extender(const std::string& name) const;
  const bastion::Policy& m_policy;
  std::set<std::string> m_policy_users;  // found by find_user
};

}  // namespace postern::monitor
