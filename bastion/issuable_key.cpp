#include "bastion/issuable_key.h"

#include <string>

#include "common/ssh_cert.h"
#include "common/wire.h"

namespace postern::bastion {

Result<PublicKey> check_issuable_key(ByteView blob) {
  std::string type;
  try {
    Reader r(blob);
    type = std::string(r.text(64));
  } catch (const std::exception&) {
    return Unexpected("not a public key");
  }
  // PROTOCOL.certkeys: a certificate's type names end in -cert-v01@openssh.com. Certifying one
  // would chain certificates, which OpenSSH refuses; the caller meant the key inside.
  if (Certificate::is_certificate_name(type))
    return Unexpected("a certificate is no public key: send the plain key (id.pub)");
  auto key = PublicKey::from_blob(blob);
  if (!key) return Unexpected("not a public key (" + key.error().message + ")");
  if (key->type() == KeyType::kDsa)
    return Unexpected("DSA keys are too weak (1024 bits, SHA-1): use ed25519");
  if (key->type() == KeyType::kRsa && key->bits() < kMinRsaBits)
    return Unexpected("RSA key of " + std::to_string(key->bits()) + " bits is too weak (at least " +
                      std::to_string(kMinRsaBits) + ")");
  return key;
}

}  // namespace postern::bastion
