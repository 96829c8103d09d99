// Which keys the bastion certifies for a caller (machine to machine, certificate_command.h):
// a plain public key of a type OpenSSH's sshd accepts by default and not weak. Runs in the
// monitor, on a blob the caller chose.
#pragma once

#include "common/bytes.h"
#include "common/result.h"
#include "common/ssh_key.h"

namespace postern::bastion {

inline constexpr size_t kMinRsaBits = 2048;

// The key, or one line saying why not: a certificate (send the plain key), not a key at all,
// DSA (OpenSSH removed it: 1024 bits, SHA-1), RSA under 2048 bits.
Result<PublicKey> check_issuable_key(ByteView blob);

}  // namespace postern::bastion
