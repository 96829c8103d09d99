// sshd -B: bastion users are the policy's [[user]] entries (keys in bastion.toml, no account of
// this machine) and, as in sshd mode, the system's accounts (NSS, PAM: local, LDAP, AD through
// sssd). A policy user wins over an account of the same name; it has no password, no PAM stage,
// no hostbased login, and logs in with a listed key or a certificate from TrustedUserCAKeys
// whose principal is its name. An [[extender]]'s name logs in with that extender's keys only (no
// certificate, no password): its connection may only forward (man/postern-bastion.5 EXTENDERS).
// whose principal is its name.
//
// On the proxy front door (set_proxy_door) the user name is the target account, not a bastion
// user: the one account that name finds is a stand-in with no password, no PAM and no hostbased
// login, and a key (or certificate) logs it in when it belongs to exactly one policy user, who
// is then the bastion user (proxy_key_owner). A key two policy users share is ambiguous and
// refused; so is a user with a TOTP secret, which this door has no step to ask for.
#pragma once

#include <map>
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
  std::string proxy_key_owner(ByteView key_blob) const override;

  // The connection came in on a proxy_listen port: see the file comment.
  void set_proxy_door() { m_proxy_door = true; }

 private:
  bool is_policy_user(const std::string& name) const { return m_policy_users.count(name) != 0; }
  const bastion::Extender* find_extender(const std::string& name) const;
  bool is_proxy_account(const Account& user) const {
    return m_proxy_door && user.name == m_proxy_account;
  }
  std::optional<AuthorizedKeyOptions> proxy_key_authorized(const PublicKey& key,
                                                           const config::ServerConfig& config,
                                                           const Endpoint& peer);
  std::optional<AuthorizedKeyOptions> proxy_certificate_authorized(
      const Account& user, const Certificate& cert, const config::ServerConfig& config,
      const Endpoint& peer);
  // Whether `name` may be the proxy door's bastion user (one owner, no TOTP). Logs why not.
  bool proxy_owner_acceptable(const std::vector<std::string>& owners, const std::string& what);
  const bastion::Policy& m_policy;
  std::set<std::string> m_policy_users;  // found by find_user
  bool m_proxy_door = false;
  std::string m_proxy_account;                  // the target account's stand-in, once found
  std::map<Bytes, std::string> m_proxy_owners;  // key or certificate blob -> its policy user
};

}  // namespace postern::monitor
