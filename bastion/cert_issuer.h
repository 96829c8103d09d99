// Ephemeral user certificates for targets (../shared/BASTION.md): the monitor certifies a public
// key the bastion session process made, for the one target it connected, from the role's
// template. Runs in the monitor only: it holds the CA key.
#pragma once

#include <cstdint>
#include <string>

#include "bastion/policy.h"
#include "common/bytes.h"
#include "common/result.h"
#include "common/ssh_key.h"

namespace postern::bastion {

// What a template's tokens stand for: %H target host, %R client address, %S serial,
// %P bastion user; %% a percent sign. An unknown token is an error (checked at load too).
struct CertRequest {
  std::string target_host;  // the target's name (%H)
  std::string client_address;
  std::string bastion_user;
  std::string target_user;  // the principal when the template's principals are empty
  std::string session_id;   // appended to key_id as " session <id>" so the target's log leads back
  uint64_t now = 0;         // seconds since the epoch; the certificate is valid from now - 60
  uint32_t validity = 300;  // seconds
};

// Substitutes the tokens of `text`. Errors name the unknown token.
Result<std::string> expand_template_tokens(std::string_view text, const CertRequest& req,
                                           uint64_t serial);

// Builds and signs a user certificate for `key` (a plain public key) with `ca` as `tmpl`
// says: key_id, principals, extensions ("permit-pty" or "name=value"), and for an RSA CA the
// signature algorithm from rsa_signature_types (first of them; rsa-sha2-512 when empty).
// Returns the certificate blob.
Result<Bytes> issue_certificate(const PrivateKey& ca, const CertTemplate& tmpl,
                                const PublicKey& key, const CertRequest& req, uint64_t serial);

// Serial numbers unique and increasing across restarts: the last one is kept in a file
// (created 0600 as needed, locked with flock while read and rewritten); the next is
// max(last + 1, now * 2^20) so a lost file still never repeats one.
Result<uint64_t> next_serial(const std::string& serial_file, uint64_t now);

}  // namespace postern::bastion
