// The monitor's certificate and revocation decisions for publickey authentication (sshd(8),
// sshd_config(5) TrustedUserCAKeys, AuthorizedPrincipalsFile, RevokedKeys; PROTOCOL.certkeys):
// whether a user certificate is trusted for an account, which session restrictions it carries,
// and whether a key is revoked. Runs in the monitor, as root; logs OpenSSH's lines.
#pragma once

#include <ctime>
#include <optional>
#include <string>

#include "common/authorized_keys.h"
#include "common/config/server_config.h"
#include "common/ssh_cert.h"
#include "common/ssh_key.h"
#include "monitor/auth_commands.h"
#include "monitor/auth_pubkey.h"

namespace postern::monitor {

// RevokedKeys: true when `key` must be refused, either because the file lists it or because
// the file cannot be read or parsed (sshd then refuses every key). Logs the reason.
bool key_revoked(const std::string& revoked_keys, const PublicKey& key);
// The same for a certificate: its certified key, its CA key, or (binary KRLs) its serial/key ID.
bool certificate_revoked(const std::string& revoked_keys, const Certificate& cert);

// The session restrictions a certificate imposes (force-command, permit-* extensions) as
// authorized_keys options, so the monitor folds them in like key options.
AuthorizedKeyOptions certificate_options(const Certificate& cert);

// TrustedUserCAKeys: the certificate is trusted for `user` when its CA key is listed in the file,
// the CA is not revoked, a principal is accepted (AuthorizedPrincipalsFile, then
// AuthorizedPrincipalsCommand, when set; otherwise the user name must be listed) and
// check_certificate passes (CASignatureAlgorithms, validity, source-address against the
// client's address), and then the accepting principals line's own options (expiry-time=,
// from= against `client`, no cert-authority) allow the login. Returns the line's options and
// the certificate's restrictions combined, or nullopt.
std::optional<AuthorizedKeyOptions> trusted_ca_authorizes(
    const Account& user, const Certificate& cert, const config::ServerConfig& config,
    const CommandConnection& conn, const Endpoint& client, time_t now = std::time(nullptr));

// authorized_keys cert-authority lines (sshd(8)): the certificate's CA is such a line's key;
// principals="..." then names the accepted principals, otherwise the user name must be listed
// (an empty principal list is then valid). The line's options and the certificate's
// restrictions combine, the stricter winning.
std::optional<AuthorizedKeyOptions> authorized_keys_ca_authorizes(
    const Account& user, const Certificate& cert, const config::ServerConfig& config,
    const Endpoint& client, time_t now = std::time(nullptr));

// One AuthorizedPrincipalsFile text: the options of the first non-comment line naming one of
// the certificate's principals ("[authorized_keys options] principal"; a line with bad options
// is skipped), or nullopt. Whether those options allow the login is the caller's question
// (key_options_permit_login).
std::optional<AuthorizedKeyOptions> principals_text_accepts(std::string_view text,
                                                            const Certificate& cert,
                                                            const std::string& location);

// Splits a comma-separated algorithm list.
std::vector<std::string> split_algorithm_list(const std::string& list);

}  // namespace postern::monitor
