// The table behind common/ssh_key.h: one row per SSH key type name (ssh_key_types.cpp), each
// pointing at the operations of its key family, one file per family (ssh_key_ed25519.cpp,
// ssh_key_ecdsa.cpp, ssh_key_rsa.cpp, ssh_key_dsa.cpp, ssh_key_sk.cpp,
// ssh_key_mldsa44_ed25519.cpp). PublicKey and
// PrivateKey (ssh_key.cpp) and the private key containers (openssh_private_key.cpp,
// pem_private_key.cpp) reach a key's format only through this table, so a new key type is one
// family file (or a row that reuses a family), one KeyType value and one row.
// Internal to common/ssh_key*.cpp and the container files.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/ossl.h"
#include "common/result.h"
#include "common/ssh_key.h"
#include "common/wire.h"

namespace postern::keys {

struct KeyFamily;

// Static facts about one key type name.
struct KeyTypeInfo {
  KeyType type;
  const char* name;      // blob type name
  const char* log_name;  // as OpenSSH's logs print it
  const KeyFamily* family;
  // PROTOCOL.u2f: the blob's fields end with string application, and the signature with byte
  // flags, uint32 counter.
  bool security_key = false;
  size_t fixed_bits = 0;            // bits() of every key of the type; 0: as OpenSSL reports
  const char* curve = nullptr;      // RFC 5656 §6.1 identifier, ECDSA only
  const char* group = nullptr;      // OpenSSL group name, ECDSA only
  const char* nist_name = nullptr;  // the other name OpenSSL may give the group ("P-256")
  size_t field_bytes = 0;           // coordinate size, ECDSA only
  const char* digest = nullptr;     // hash the signature covers (RFC 5656 §6.2.1, RFC 4253 §6.6)
};

// A signature blob (string alg, string sig [, byte flags, uint32 counter]) as PublicKey::verify
// has parsed it, for the family to check against `data`.
struct VerifyInput {
  EVP_PKEY* pkey;
  std::string_view algorithm;
  ByteView signature;  // the inner "string sig"
  ByteView data;
  std::string_view sk_application;  // security keys only
  SkSignature sk;                   // security keys only
};

// The operations of one key family. Every pointer is set (a family that cannot do something
// says why in its own error), except public_blob, which is null for keys OpenSSL never holds.
struct KeyFamily {
  // EVP_PKEY_get_base_id of the keys OpenSSL holds for this family; EVP_PKEY_NONE for none.
  int evp_id;
  // Reads the fields that follow the type name in a public key blob. A null key without an
  // error means OpenSSL refused the values: the caller reports it.
  Result<EvpPkeyPtr> (*read_public)(const KeyTypeInfo& ki, Reader& r);
  // The public blob of a key OpenSSL holds, and its type.
  Result<Bytes> (*public_blob)(EVP_PKEY* pkey, KeyType& type_out);
  // Reads the fields after the type name of a PROTOCOL.key private record.
  Result<EvpPkeyPtr> (*read_private)(const KeyTypeInfo& ki, Reader& r);
  // Writes those fields.
  void (*write_private)(const KeyTypeInfo& ki, EVP_PKEY* pkey, SecretWriter& w);
  // The signature algorithms keys of the type verify and sign, preferred first.
  std::vector<std::string> (*signature_algorithms)(const KeyTypeInfo& ki);
  // Whether in.signature signs in.data (the algorithm already fits the key).
  bool (*verify)(const KeyTypeInfo& ki, const VerifyInput& in);
  // The inner signature (the "string sig" of the blob) of `data` under `algorithm`.
  Result<Bytes> (*sign)(const KeyTypeInfo& ki, EVP_PKEY* pkey, std::string_view algorithm,
                        ByteView data);
  // A fresh key pair; a null key without an error means OpenSSL failed.
  Result<EvpPkeyPtr> (*generate)(const KeyTypeInfo& ki, int rsa_bits);
  // Only for a family whose keys OpenSSL holds under another family's evp_id (the ML-DSA-44
  // hybrid rides on an Ed25519 EVP_PKEY): whether `pkey` is one of its own. Null: every key of
  // evp_id not claimed this way.
  bool (*holds)(EVP_PKEY* pkey) = nullptr;
};

extern const KeyFamily kEd25519Family;
extern const KeyFamily kEcdsaFamily;
extern const KeyFamily kRsaFamily;
extern const KeyFamily kDsaFamily;
extern const KeyFamily kSkEd25519Family;
extern const KeyFamily kSkEcdsaFamily;
extern const KeyFamily kMlDsa44Ed25519Family;

// ---- the table (ssh_key_types.cpp) ----
// signature_algorithms of the families whose one algorithm is the key type name.
std::vector<std::string> type_name_algorithm(const KeyTypeInfo& ki);
std::span<const KeyTypeInfo> key_types();
const KeyTypeInfo& info(KeyType t);
const KeyTypeInfo* info_by_name(std::string_view name);
// Whether `alg` is one of the key type's signature algorithms.
bool algorithm_fits_key(const KeyTypeInfo& ki, std::string_view alg);
// The public blob of any key OpenSSL holds (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709 §4), by
// the family its EVP_PKEY type belongs to.
Result<Bytes> public_blob_of(EVP_PKEY* pkey, KeyType& type_out);

}  // namespace postern::keys
