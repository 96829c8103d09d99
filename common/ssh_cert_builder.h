// Making OpenSSH certificates (PROTOCOL.certkeys): the encoder that ssh_cert.h's parser reads
// back. The bastion's monitor certifies the keys its session process makes for targets; tests
// make host and user certificates without ssh-keygen.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/ssh_cert.h"
#include "common/ssh_key.h"

namespace postern {

// What a certificate says besides its key and its signature.
struct CertificateFields {
  CertType type = CertType::kUser;
  uint64_t serial = 0;
  std::string key_id;
  std::vector<std::string> principals;
  uint64_t valid_after = 0;
  uint64_t valid_before = 0;
  // Written sorted by name (PROTOCOL.certkeys: "lexically ordered"); a name twice is an error.
  // `data` is the option's data as it goes on the wire: empty for flags, else an encoded string.
  std::vector<CertOption> critical_options;
  std::vector<CertOption> extensions;
};

// The certificate type name for a plain key ("ssh-ed25519" → "ssh-ed25519-cert-v01@openssh.com").
std::string certificate_type_name(const PublicKey& key);

// Builds the certificate of `key` with `fields`, signed by `ca` with `signature_algorithm` (empty:
// the CA key's first algorithm, rsa-sha2-512 for RSA), with a fresh 32-byte nonce, and parses it
// back, so the result is one Certificate::from_blob accepts.
Result<Certificate> build_certificate(const PublicKey& key, const CertificateFields& fields,
                                      const PrivateKey& ca,
                                      std::string_view signature_algorithm = "");

}  // namespace postern
