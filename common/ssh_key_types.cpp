// The key type table: one row per SSH key type name, in KeyType order, each naming its family
// (ssh_key_family.h). A new key type is a KeyType value, a row here and, unless an existing
// family serves, one family file.
#include <algorithm>

#include "common/ssh_key_family.h"

namespace postern::keys {
namespace {

constexpr KeyTypeInfo kKeyTypes[] = {
    {.type = KeyType::kEd25519,
     .name = "ssh-ed25519",
     .log_name = "ED25519",
     .family = &kEd25519Family,
     .fixed_bits = 256},
    // RFC 5656 §6.2.1: the hash follows the curve size.
    {.type = KeyType::kEcdsaP256,
     .name = "ecdsa-sha2-nistp256",
     .log_name = "ECDSA",
     .family = &kEcdsaFamily,
     .curve = "nistp256",
     .group = "prime256v1",
     .nist_name = "P-256",
     .field_bytes = 32,
     .digest = "SHA256"},
    {.type = KeyType::kEcdsaP384,
     .name = "ecdsa-sha2-nistp384",
     .log_name = "ECDSA",
     .family = &kEcdsaFamily,
     .curve = "nistp384",
     .group = "secp384r1",
     .nist_name = "P-384",
     .field_bytes = 48,
     .digest = "SHA384"},
    {.type = KeyType::kEcdsaP521,
     .name = "ecdsa-sha2-nistp521",
     .log_name = "ECDSA",
     .family = &kEcdsaFamily,
     .curve = "nistp521",
     .group = "secp521r1",
     .nist_name = "P-521",
     .field_bytes = 66,
     .digest = "SHA512"},
    {.type = KeyType::kRsa, .name = "ssh-rsa", .log_name = "RSA", .family = &kRsaFamily},
    // PROTOCOL.u2f: security keys, Ed25519 and ECDSA on P-256 only.
    {.type = KeyType::kSkEd25519,
     .name = "sk-ssh-ed25519@openssh.com",
     .log_name = "ED25519-SK",
     .family = &kSkEd25519Family,
     .security_key = true,
     .fixed_bits = 256},
    {.type = KeyType::kSkEcdsaP256,
     .name = "sk-ecdsa-sha2-nistp256@openssh.com",
     .log_name = "ECDSA-SK",
     .family = &kSkEcdsaFamily,
     .security_key = true,
     .curve = "nistp256",
     .group = "prime256v1",
     .field_bytes = 32,
     .digest = "SHA256"},
    // RFC 4253 §6.6: ssh-dss signs a SHA-1 hash.
    {.type = KeyType::kDsa,
     .name = "ssh-dss",
     .log_name = "DSA",
     .family = &kDsaFamily,
     .digest = "SHA1"},
    // draft-miller-sshm-mldsa44-ed25519-composite-sigs-00; OpenSSH reports such keys as 256
    // bits and logs them as MLDSA44-ED25519.
    {.type = KeyType::kMlDsa44Ed25519,
     .name = "ssh-mldsa44-ed25519@openssh.com",
     .log_name = "MLDSA44-ED25519",
     .family = &kMlDsa44Ed25519Family,
     .fixed_bits = 256},
};

// info() indexes the table by KeyType.
constexpr bool rows_in_key_type_order() {
  for (size_t i = 0; i < std::size(kKeyTypes); ++i)
    if (static_cast<size_t>(kKeyTypes[i].type) != i) return false;
  return true;
}
static_assert(rows_in_key_type_order(), "kKeyTypes rows must follow the KeyType enum");

}  // namespace

std::span<const KeyTypeInfo> key_types() {
  return kKeyTypes;
}

const KeyTypeInfo& info(KeyType t) {
  return kKeyTypes[static_cast<size_t>(t)];
}

const KeyTypeInfo* info_by_name(std::string_view name) {
  for (const auto& i : kKeyTypes)
    if (name == i.name) return &i;
  return nullptr;
}

std::vector<std::string> type_name_algorithm(const KeyTypeInfo& ki) {
  return {ki.name};
}

bool algorithm_fits_key(const KeyTypeInfo& ki, std::string_view alg) {
  auto algs = ki.family->signature_algorithms(ki);
  return std::find(algs.begin(), algs.end(), alg) != algs.end();
}

Result<Bytes> public_blob_of(EVP_PKEY* pkey, KeyType& type_out) {
  int id = EVP_PKEY_get_base_id(pkey);
  // A family that claims its keys (KeyFamily::holds) first, then the one that has the rest.
  for (bool claimed : {true, false})
    for (const auto& i : kKeyTypes) {
      const KeyFamily* f = i.family;
      if (f->public_blob && f->evp_id == id && (f->holds != nullptr) == claimed &&
          (!claimed || f->holds(pkey)))
        return f->public_blob(pkey, type_out);
    }
  return Unexpected("unsupported key algorithm");
}

}  // namespace postern::keys
