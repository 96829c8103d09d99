#include "monitor/auth_backend.h"

#include <grp.h>
#include <pwd.h>

#include <string>
#include <vector>

#include "common/log.h"
#include "common/match_pattern.h"
#include "monitor/auth_cert.h"
#include "monitor/auth_commands.h"
#include "monitor/auth_hostbased.h"
#include "monitor/auth_password.h"
#include "monitor/auth_pubkey.h"

namespace postern::monitor {

std::vector<std::string> account_group_names(const char* user, gid_t gid) {
  int n = 64;
  std::vector<gid_t> gids(static_cast<size_t>(n));
  if (::getgrouplist(user, gid, gids.data(), &n) < 0) {
    gids.resize(size_t(n));
    if (::getgrouplist(user, gid, gids.data(), &n) < 0) n = 0;
  }
  gids.resize(size_t(n));
  std::vector<std::string> names;
  for (gid_t g : gids)
    if (group* gr = ::getgrgid(g)) names.emplace_back(gr->gr_name);
  return names;
}

CommandConnection SystemAuthBackend::command_connection(const Endpoint& peer,
                                                        const config::ServerConfig& config) const {
  return {peer.address, peer.port, local.address, local.port, config.rdomain};
}

std::optional<Account> SystemAuthBackend::find_user(const std::string& name,
                                                    const config::ServerConfig& config,
                                                    const Endpoint& peer) {
  passwd* pw = ::getpwnam(name.c_str());
  if (pw == nullptr) return std::nullopt;
  // DenyUsers / AllowUsers (sshd_config(5)): the user part of each USER[@HOST] pattern; the host
  // part is matched against the address and, with UseDNS yes, the verified name.
  auto matches = [&](const std::string& pattern) {
    size_t at = pattern.find('@');
    if (at == std::string::npos) return match_pattern(name, pattern);
    std::string host = pattern.substr(at + 1);
    return match_pattern(name, pattern.substr(0, at)) &&
           (match_pattern(peer.address, host) ||
            (!peer.name.empty() && match_pattern(peer.name, host)));
  };
  for (const auto& p : config.deny_users)
    if (matches(p)) {
      log_info("User %s from %s not allowed because listed in DenyUsers", name.c_str(),
               peer.address.c_str());
      return std::nullopt;
    }
  if (!config.allow_users.empty()) {
    bool listed = false;
    for (const auto& p : config.allow_users) listed = listed || matches(p);
    if (!listed) {
      log_info("User %s from %s not allowed because not listed in AllowUsers", name.c_str(),
               peer.address.c_str());
      return std::nullopt;
    }
  }
  if (!config.deny_groups.empty() || !config.allow_groups.empty()) {
    // DenyGroups / AllowGroups: the user's primary and supplementary groups, by name.
    std::vector<std::string> groups = account_group_names(pw->pw_name, pw->pw_gid);
    auto any_listed = [&](const std::vector<std::string>& patterns) {
      for (const auto& g : groups)
        for (const auto& p : patterns)
          if (match_pattern(g, p)) return true;
      return false;
    };
    if (any_listed(config.deny_groups)) {
      log_info("User %s from %s not allowed because a group is listed in DenyGroups", name.c_str(),
               peer.address.c_str());
      return std::nullopt;
    }
    if (!config.allow_groups.empty() && !any_listed(config.allow_groups)) {
      log_info(
          "User %s from %s not allowed because none of user's groups are listed in "
          "AllowGroups",
          name.c_str(), peer.address.c_str());
      return std::nullopt;
    }
  }
  Account u;
  u.name = pw->pw_name;
  u.uid = pw->pw_uid;
  u.gid = pw->pw_gid;
  u.home = pw->pw_dir;
  u.shell = pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh";
  return u;
}

std::optional<AuthorizedKeyOptions> SystemAuthBackend::key_authorized(
    const Account& user, const PublicKey& key, const config::ServerConfig& config,
    const Endpoint& peer) {
  if (key_revoked(config.revoked_keys, key)) return std::nullopt;
  AuthorizedKeysPolicy policy;
  policy.files = config.authorized_keys_files;
  policy.strict_modes = config.strict_modes;
  auto found = find_authorized_key(user, policy, key, peer);
  if (!found) {
    log_debug("%s", found.error().message.c_str());
    // AuthorizedKeysCommand is consulted after the files (monitor/auth_commands).
    auto by_command = keys_command_authorizes(user, key, config, command_connection(peer, config));
    if (!by_command) return std::nullopt;
    found = std::move(*by_command);
  }
  log_verbose("Accepted key %s %s found at %s", std::string(key.log_name()).c_str(),
              key.fingerprint_sha256().c_str(), found->location.c_str());
  return found->options;
}

std::optional<AuthorizedKeyOptions> SystemAuthBackend::certificate_authorized(
    const Account& user, const Certificate& cert, const config::ServerConfig& config,
    const Endpoint& peer) {
  if (certificate_revoked(config.revoked_keys, cert)) return std::nullopt;
  // from= sees the address and, with UseDNS, the verified name (peer.name), as for keys.
  if (auto o = trusted_ca_authorizes(user, cert, config, command_connection(peer, config), peer))
    return o;
  return authorized_keys_ca_authorizes(user, cert, config, peer);
}

bool SystemAuthBackend::password_ok(const std::string& name, const Account* user, ByteView password,
                                    const config::ServerConfig& config, const Endpoint& peer) {
  PasswordAttempt attempt{name, user != nullptr, user != nullptr && user->uid == 0, password, pam};
  return check_password(attempt, config, peer);
}

bool SystemAuthBackend::hostbased_authorized(const Account& user, const HostbasedKey& key,
                                             const std::string& client_host,
                                             const std::string& client_user,
                                             const config::ServerConfig& config,
                                             const Endpoint& peer) {
  if (key.cert ? certificate_revoked(config.revoked_keys, *key.cert)
               : key_revoked(config.revoked_keys, *key.key))
    return false;
  return monitor::hostbased_authorized(user, key, client_host, client_user, config, peer.address);
}

}  // namespace postern::monitor
