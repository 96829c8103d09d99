// No TOTP code is accepted twice (RFC 6238 §5.2: "the verifier MUST NOT accept the second
// attempt of the OTP after the successful validation"), across connections and restarts: the
// last accepted step of each user is kept in one root-only file beside the CA serial file
// (`totp_used`), read and rewritten under flock by every connection's monitor.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace postern::bastion {

// The state file for a policy: "totp_used" in the serial_file's directory.
std::string totp_used_path(const std::string& serial_file);

// Records `step` as `user`'s last accepted step when it is later than the one recorded: true.
// False when it is not (a replay, or an older code after a newer one). Errors (the file cannot
// be read or written) refuse the login: the caller must not accept a code it cannot record.
// The file holds "user step" lines, created 0600, at most 1 MiB.
Result<bool> claim_totp_step(const std::string& path, const std::string& user, uint64_t step);

}  // namespace postern::bastion
