// The file formats a private key arrives in: OpenSSH's own container "openssh-key-v1"
// (PROTOCOL.key; openssh_private_key.cpp) and PEM (PKCS#1, PKCS#8, SEC1; pem_private_key.cpp).
// Each yields the key as OpenSSL holds it; PrivateKey (ssh_key.cpp) checks it against the key
// type table. Internal to common/ssh_key*.cpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/ossl.h"
#include "common/result.h"
#include "common/ssh_key_family.h"

namespace postern::keys {

// Bounds the decoded container (and, four times over, a key file's size).
constexpr size_t kMaxPrivateBlob = 64 * 1024;

// A security key's private record (PROTOCOL.u2f "SSH U2F private key format"): the public key
// fields (PublicKey::read_fields, so every public check applies), then byte flags, string
// key_handle, string reserved. ssh_key_sk.cpp reads and writes it.
struct SkPrivateRecord {
  PublicKey public_key;
  SkKeyHandle handle;
};
Result<SkPrivateRecord> read_sk_private(const KeyTypeInfo& ki, Reader& r);
void write_sk_private(const PublicKey& pub, const SkKeyHandle& handle, SecretWriter& w);

// The key of an openssh-key-v1 container: one OpenSSL holds, or a security key's record.
struct OpensshPrivate {
  EvpPkeyPtr key;
  std::optional<SkPrivateRecord> sk;
};

// Whether `text` holds an OpenSSH container ("-----BEGIN OPENSSH PRIVATE KEY-----").
bool is_openssh_private(std::string_view text);
// An unencrypted openssh-key-v1 container with exactly one key, consistent with its public key.
Result<OpensshPrivate> parse_openssh_private(std::string_view text);
// The armoured openssh-key-v1 text of a key, unencrypted ("none"), as ssh-keygen writes it:
// `pkey`'s record, or with `sk` set that security key's.
std::string write_openssh_private(const KeyTypeInfo& ki, EVP_PKEY* pkey, const PublicKey& pub,
                                  const SkKeyHandle* sk, std::string_view comment);

// An unencrypted PEM private key; passphrases are never prompted for.
Result<EvpPkeyPtr> parse_pem_private(std::string_view text);

}  // namespace postern::keys
