// The monitor's hostbased decisions (RFC 4252 §9; sshd(8) FILES, hosts.equiv(5);
// sshd_config(5) HostbasedAuthentication, HostbasedAcceptedAlgorithms, HostbasedUsesNameFrom-
// PacketOnly, IgnoreRhosts, IgnoreUserKnownHosts, UseDNS): whether a client host may log a user
// in (/etc/hosts.equiv, /etc/ssh/shosts.equiv, ~/.shosts, ~/.rhosts), whether the host key the
// client signed with is that host's (/etc/ssh/ssh_known_hosts, ~/.ssh/known_hosts and their "2"
// variants; host certificates through @cert-authority lines), and the signed data the monitor
// verifies. Runs in the monitor, as root; user files are read as the user. Logs sshd's lines.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/config/server_config.h"
#include "common/ssh_cert.h"
#include "common/ssh_key.h"
#include "monitor/auth_pubkey.h"

namespace postern::monitor {

// The system-wide files: /etc/hosts.equiv, and the others in the configuration directory
// (/etc/ssh in sshd(8); POSTERN_SYSCONFDIR of the build, where sshd_config is read from).
// Replaceable in tests.
struct HostbasedFiles {
  HostbasedFiles();
  std::string hosts_equiv;
  std::string shosts_equiv;
  // Searched in pairs with the user's files: (ssh_known_hosts, known_hosts), then the "2" pair.
  std::string system_known_hosts;
  std::string system_known_hosts2;
};

// The host key of a hostbased request: a plain key or a host certificate.
struct HostbasedKey {
  std::optional<PublicKey> key;
  std::optional<Certificate> cert;
  // "ED25519 SHA256:..." or the certificate's description, for log lines.
  std::string log_text() const;
  const PublicKey& signing_key() const { return cert ? cert->key() : *key; }
};

// Parses the request's key blob for `algorithm` and checks the algorithm against the key type
// and HostbasedAcceptedAlgorithms. Logs why it refuses.
std::optional<HostbasedKey> parse_hostbased_key(const std::string& algorithm, ByteView blob,
                                                const std::string& accepted_algorithms);

enum class RhostsVerdict { kNoMatch, kPermit, kDeny };

// One rhosts-format text (hosts.equiv(5)): "host [user]" lines; '-' negates and '+' affirms a
// host or user, "@name" is a netgroup; a missing user means the server user. Bare "+" wildcards
// are ignored, as sshd does. The first line naming both the host (`host` case-insensitively or
// the address `ip`) and `client_user` decides.
RhostsVerdict rhosts_text_verdict(std::string_view text, const std::string& path,
                                  std::string_view host, std::string_view ip,
                                  std::string_view client_user, std::string_view server_user);

// Whether the rhosts files let `client_user` on `host` (address `ip`) log in as `user`:
// the system files (not for root, and only for the same user name), then, unless IgnoreRhosts,
// ~/.shosts and (IgnoreRhosts no) ~/.rhosts, read as the user and, with StrictModes, refused when
// they or the home directory are writable by others.
bool rhosts_permit(const Account& user, std::string_view client_user, std::string_view host,
                   std::string_view ip, const config::ServerConfig& config,
                   const HostbasedFiles& files = {});

enum class HostKeyCheck { kUnknown, kKnown, kRevoked };

// Looks the client host key (or a host certificate's CA) up for `host` in the known_hosts
// files: system file, then the user's (unless IgnoreUserKnownHosts), then the "2" pair. A
// certificate must also pass the host certificate checks (type, validity, principal `host`,
// CASignatureAlgorithms). Logs what it found.
HostKeyCheck check_client_host_key(const Account& user, const std::string& host,
                                   const HostbasedKey& key, const config::ServerConfig& config,
                                   const HostbasedFiles& files = {},
                                   time_t now = std::time(nullptr));

// The name the peer's address resolves to: the address itself with UseDNS no, otherwise the
// reverse lookup when it maps back to the address (lower-cased), else the address.
std::string canonical_peer_name(const std::string& ip, bool use_dns);

// The client host name as sent, less the trailing dot the client appends (RFC 4252 §9: an FQDN).
std::string strip_trailing_dot(std::string_view host);

// Everything the monitor asks after the request's shape has been checked: the rhosts files for
// the host name (the packet's with HostbasedUsesNameFromPacketOnly, else the resolved one,
// logging a mismatch), and the known_hosts lookup for that name. (RevokedKeys is the caller's.)
bool hostbased_authorized(const Account& user, const HostbasedKey& key,
                          const std::string& client_host, const std::string& client_user,
                          const config::ServerConfig& config, const std::string& peer_ip,
                          const HostbasedFiles& files = {});

// RFC 4252 §9, what the client signed: string session id, byte 50, string user, string service,
// string "hostbased", string algorithm, string key blob, string client host, string client user.
Bytes hostbased_signed_data(ByteView session_id, std::string_view user, std::string_view service,
                            std::string_view algorithm, ByteView key_blob,
                            std::string_view client_host, std::string_view client_user);

}  // namespace postern::monitor
