#include "monitor/auth_backend.h"

#include <pwd.h>

#include "common/log.h"
#include "common/match_pattern.h"
#include "monitor/auth_pubkey.h"

namespace postern::monitor {

std::optional<UserInfo> SystemAuthBackend::find_user(const std::string& name,
                                                     const config::ServerConfig& config,
                                                     const Endpoint& peer) {
  passwd* pw = ::getpwnam(name.c_str());
  if (pw == nullptr) return std::nullopt;
  // DenyUsers / AllowUsers (sshd_config(5)): the user part of each USER[@HOST] pattern; the host
  // part is matched against the address.
  auto matches = [&](const std::string& pattern) {
    size_t at = pattern.find('@');
    if (at == std::string::npos) return match_pattern(name, pattern);
    return match_pattern(name, pattern.substr(0, at)) &&
           match_pattern(peer.address, pattern.substr(at + 1));
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
  UserInfo u;
  u.name = pw->pw_name;
  u.uid = pw->pw_uid;
  u.gid = pw->pw_gid;
  u.home = pw->pw_dir;
  u.shell = pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh";
  return u;
}

std::optional<AuthorizedKeyOptions> SystemAuthBackend::key_authorized(
    const UserInfo& user, const PublicKey& key, const config::ServerConfig& config,
    const Endpoint& peer) {
  KeyOwner owner{user.name, user.uid, user.gid, user.home};
  AuthorizedKeysPolicy policy;
  policy.files = config.authorized_keys_files;
  policy.strict_modes = config.strict_modes;
  auto found = find_authorized_key(owner, policy, key, ClientAddress{"", peer.address});
  if (!found) {
    log_debug("%s", found.error().message.c_str());
    return std::nullopt;
  }
  log_verbose("Accepted key %s %s found at %s", std::string(key.log_name()).c_str(),
              key.fingerprint_sha256().c_str(), found->location.c_str());
  return found->options;
}

}  // namespace postern::monitor
