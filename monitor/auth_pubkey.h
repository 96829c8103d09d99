// The monitor's answer to "is this public key authorized for this user": the user's
// AuthorizedKeysFile list (sshd_config(5)), each file read with the user's effective uid and gids
// as sshd does (so NFS root-squash and permissions apply), checked with StrictModes, and searched
// for the key (sshd(8) AUTHORIZED_KEYS FILE FORMAT). Runs in the monitor, as root.
#pragma once

#include <sys/types.h>

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "common/account.h"
#include "common/authorized_keys.h"
#include "common/endpoint.h"
#include "common/result.h"
#include "common/ssh_key.h"

namespace postern::monitor {

struct AuthorizedKeysPolicy {
  // AuthorizedKeysFile: tokens %% %h %u %U; relative paths are relative to the home directory.
  // "none" (alone) means no file.
  std::vector<std::string> files = {".ssh/authorized_keys", ".ssh/authorized_keys2"};
  bool strict_modes = true;
};

struct AuthorizedKeyMatch {
  AuthorizedKeyOptions options;
  std::string location;  // "/home/u/.ssh/authorized_keys:3", for logs
};

// Expands %% %h %u %U (common/config/tokens.h) and makes a relative result absolute under the
// home directory. Empty, with the reason logged, when the pattern has an unknown token or a
// lone '%': such a file is not read.
std::string expand_authorized_keys_path(std::string_view pattern, const Account& user);

// StrictModes for an opened file: `fd` must be a regular file owned by root or the user and not
// group- or world-writable, and so must every directory from its parent up to the home
// directory (or up to "/" for files outside it). Logs the refusal as sshd does.
Result<void> check_strict_modes(int fd, const std::string& path, const Account& user);

// sshd(8) AUTHORIZED_KEYS FILE FORMAT: the options that decide whether a matching line may be
// used for this login at all, for an authorized_keys line and for an AuthorizedPrincipalsFile or
// AuthorizedPrincipalsCommand line alike (a principals line takes the same options): the line's
// expiry-time= must not have passed at `now`; principals= needs cert-authority; cert-authority
// is refused where `allow_cert_authority` is false (principals lines); from= must admit `client`
// (its address, or with UseDNS its verified name). A refusal is logged as sshd logs it, the
// lines naming `loc` ("file:line", or "principals") and `user_name`; the caller adds its own
// "Refused by ..." line.
bool key_options_permit_login(const AuthorizedKeyOptions& options, const std::string& loc,
                              const Endpoint& client, time_t now, std::string_view user_name,
                              bool allow_cert_authority = true);

// Searches already-read authorized_keys text (`path` only names it in logs and the location).
// Lines with bad options are logged and skipped; cert-authority lines never match a plain key;
// with `ca_lines` only cert-authority lines match (`key` is then a certificate's CA key);
// from= and expiry-time are enforced against `client` and `now` by key_options_permit_login (a
// refusal is logged "Refused by key options", naming `user_name` for from= as sshd does).
Result<AuthorizedKeyMatch> find_key_in_text(std::string_view text, const std::string& path,
                                            const PublicKey& key, const Endpoint& client,
                                            time_t now, bool ca_lines = false,
                                            std::string_view user_name = {});

// The whole check: each configured file in turn, first match wins. The error says why nothing
// matched (logs carry the details).
Result<AuthorizedKeyMatch> find_authorized_key(const Account& user,
                                               const AuthorizedKeysPolicy& policy,
                                               const PublicKey& key, const Endpoint& client,
                                               time_t now = std::time(nullptr),
                                               bool ca_lines = false);

// AuthenticationMethods "publickey,publickey" asks for two different keys: sshd refuses a key
// that already succeeded in an earlier step, and a certificate counts as the key it certifies
// (sshd_config(5) AuthenticationMethods).
class UsedKeys {
 public:
  // `key` is the plain key (a certificate's certified key); `log_type` names what was offered
  // ("ED25519", "ED25519-CERT") in sshd's line "refusing previously-used ED25519 key".
  bool already_used(const PublicKey& key, std::string_view log_type) const;
  void add(const PublicKey& key);

 private:
  std::vector<Bytes> m_blobs;
};

// RequiredRSASize (sshd_config(5)): an RSA key, or a certificate of one, shorter than `min_bits`
// is refused before authorized_keys is read; logs sshd's "refusing RSA key: Invalid key length".
bool rsa_size_acceptable(const PublicKey& key, std::string_view log_type, int min_bits);

// What a security key's signature must assert (PROTOCOL.u2f flags): user presence unless the
// key's no-touch-required allows otherwise and PubkeyAuthOptions has no touch-required; user
// verification when PubkeyAuthOptions or the key (verify-required) asks for it.
struct SkRequirements {
  bool presence = true;
  bool verification = false;
};
SkRequirements sk_requirements(const std::vector<std::string>& pubkey_auth_options,
                               const AuthorizedKeyOptions& key_options);

// Who a publickey attempt came from, for log lines.
struct AttemptInfo {
  std::string user;
  bool user_valid = true;
  std::string address;
  int port = 0;
};

// Checks a verified security-key signature's flags against `req`; each unmet requirement is
// logged as sshd logs it. `key_text` is "ED25519-SK SHA256:...".
bool sk_flags_acceptable(const SkSignature& sig, const SkRequirements& req,
                         const std::string& key_text, const AttemptInfo& who);

// Switches the effective uid, gid and supplementary groups to the user's for its lifetime and
// restores root's on destruction (fatal if that fails: a monitor stuck with a user's identity
// must not go on). Does nothing when not running as root or when the user is root.
class TemporaryUserIdentity {
 public:
  explicit TemporaryUserIdentity(const Account& user);
  ~TemporaryUserIdentity();
  TemporaryUserIdentity(const TemporaryUserIdentity&) = delete;
  TemporaryUserIdentity& operator=(const TemporaryUserIdentity&) = delete;
  bool ok() const { return m_ok; }

 private:
  bool m_switched = false;
  bool m_ok = true;
  gid_t m_saved_egid = 0;
  std::vector<gid_t> m_saved_groups;
};

}  // namespace postern::monitor
