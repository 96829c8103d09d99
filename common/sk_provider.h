// A SecurityKeyProvider: the FIDO middleware library OpenSSH's sk-api defines (sk-api.h,
// PROTOCOL.u2f), loaded with dlopen to sign with a security key named by its key handle.
// Only the monitor signs with host keys, so only the monitor calls this (issue 17).
#pragma once

#include <cstdint>
#include <string>

#include "common/bytes.h"
#include "common/result.h"
#include "common/ssh_key.h"

namespace postern {

// What sk_sign returned (struct sk_sign_response): for ECDSA the big-endian r and s, for Ed25519
// the 64-byte signature in sig_r and nothing in sig_s.
struct SkProviderSignature {
  uint8_t flags = 0;
  uint32_t counter = 0;
  Bytes sig_r;
  Bytes sig_s;
};

// Whether `path` may be loaded into a root process: absolute, a regular file owned by root or by
// us, and neither it nor its directory writable by group or others (OpenSSH's sshd checks its
// helpers the same way). The error says which.
Result<void> check_sk_provider_path(const std::string& path);

// Asks the provider at `provider` to sign `message` with the credential `handle` names, as
// `ed25519` (SSH_SK_ED25519) or ECDSA P-256 (SSH_SK_ECDSA). sk-api passes the message itself:
// the provider hashes it and the authenticator signs SHA256(application) || flags || counter ||
// SHA256(message) (PROTOCOL.u2f "SSH U2F signatures").
Result<SkProviderSignature> sk_provider_sign(const std::string& provider, bool ed25519,
                                             ByteView message, const SkKeyHandle& handle);

}  // namespace postern
