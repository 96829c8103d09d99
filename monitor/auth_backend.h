// The monitor's AuthBackend on the real system: the user database (getpwnam, AllowUsers and
// DenyUsers) and authorized_keys through monitor/auth_pubkey (StrictModes).
#pragma once

#include "monitor/auth_commands.h"
#include "monitor/monitor.h"

namespace postern::monitor {

// The system groups of an account (getgrouplist), by name: AllowGroups, DenyGroups, and the
// bastion policy's group:NAME members.
std::vector<std::string> account_group_names(const char* user, gid_t gid);

class SystemAuthBackend : public AuthBackend {
 public:
  // UsePAM: the connection's PAM handle, used by password_ok (monitor/pam_context.h).
  PamDriver* pam = nullptr;
  // The server end of the connection, for the %C token of Authorized*Command.
  Endpoint local;
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

 private:
  CommandConnection command_connection(const Endpoint& peer,
                                       const config::ServerConfig& config) const;
};

}  // namespace postern::monitor
