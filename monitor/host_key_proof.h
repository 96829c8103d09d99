// Host key rotation (OpenSSH PROTOCOL §2.5): after authentication the server announces all its
// host keys with "hostkeys-00@openssh.com", and the client asks it to prove the ones it did not
// know with "hostkeys-prove-00@openssh.com". This is the monitor's half: which keys are
// announced, and the signatures, made over data the monitor builds itself.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "common/ssh_key.h"

namespace postern::monitor {

// Most keys one hostkeys-prove-00 request may name (sshd loads a handful of host keys).
inline constexpr size_t kMaxProvedKeys = 64;

// The public key blob of every loaded host key, in configuration order, each once. Host
// certificates are not announced (PROTOCOL §2.5 speaks of host keys).
std::vector<Bytes> announced_host_keys(const std::vector<std::shared_ptr<const PrivateKey>>& keys);

// The signed data for one key (PROTOCOL §2.5):
//   string "hostkeys-prove-00@openssh.com", string session identifier, string host key
Bytes hostkeys_prove_data(ByteView session_id, ByteView key_blob);

// The algorithm a key proves itself with. RSA keys sign with the algorithm the last key
// exchange used when that was an RSA one (ssh(1) then insists on it), else rsa-sha2-512;
// other keys have one algorithm. `kex_algorithm` is the plain signature algorithm of the host
// key signature in the latest key exchange ("" when unknown).
std::string proof_algorithm(const PublicKey& key, std::string_view kex_algorithm);

// The reply's signatures, one per requested key in the request's order. Refused (an error, the
// request fails) when a key is not one of `keys`, is named twice, or there are too many.
Result<std::vector<Bytes>> prove_host_keys(
    const std::vector<std::shared_ptr<const PrivateKey>>& keys, const std::vector<Bytes>& requested,
    ByteView session_id, std::string_view kex_algorithm);

}  // namespace postern::monitor
