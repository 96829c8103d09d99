// The ssh-ed25519 key family (RFC 8709): public key string pk(32), signatures of exactly 64
// bytes, and OpenSSH's private record (PROTOCOL.key).
#include <openssl/evp.h>

#include "common/ssh_key_family.h"
#include "common/ssh_key_openssl.h"

namespace postern::keys {
namespace {

constexpr size_t kEd25519KeyLen = 32;
constexpr size_t kEd25519SigLen = 64;

Result<EvpPkeyPtr> ed25519_read_public(const KeyTypeInfo&, Reader& r) {
  ByteView pk = r.string(64);  // RFC 8709 §4: exactly 32 bytes
  EvpPkeyPtr key;
  if (pk.size() == kEd25519KeyLen)
    key.reset(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pk.data(), pk.size()));
  if (!key) return Unexpected("bad Ed25519 public key length");
  return key;
}

Result<Bytes> ed25519_public_blob(EVP_PKEY* pkey, KeyType& type_out) {
  uint8_t pub[kEd25519KeyLen];
  size_t len = sizeof pub;
  if (!EVP_PKEY_get_raw_public_key(pkey, pub, &len) || len != kEd25519KeyLen)
    return Unexpected(ossl_error("cannot read Ed25519 public key"));
  type_out = KeyType::kEd25519;
  Writer w;
  w.string(info(KeyType::kEd25519).name).string(ByteView(pub, len));
  return w.take();
}

Result<EvpPkeyPtr> ed25519_read_private(const KeyTypeInfo&, Reader& r) {
  // string pk(32), string sk(64) where sk = seed || pk (RFC 8032 §5.1.5 seed).
  ByteView pk = r.string(64), sk = r.string(128);
  if (pk.size() != kEd25519KeyLen || sk.size() != 2 * kEd25519KeyLen)
    return Unexpected("bad Ed25519 private key lengths");
  if (!equal_ct(sk.subspan(kEd25519KeyLen), pk))
    return Unexpected("Ed25519 private key does not match its public half");
  EvpPkeyPtr key(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, sk.data(), kEd25519KeyLen));
  if (!key) return Unexpected(ossl_error("bad Ed25519 private key"));
  return key;
}

void ed25519_write_private(const KeyTypeInfo&, EVP_PKEY* pkey, SecretWriter& w) {
  SecretBytes sk(2 * kEd25519KeyLen);
  size_t len = kEd25519KeyLen;
  EVP_PKEY_get_raw_private_key(pkey, sk.data(), &len);
  len = kEd25519KeyLen;
  EVP_PKEY_get_raw_public_key(pkey, sk.data() + kEd25519KeyLen, &len);
  w.string(sk.view().subspan(kEd25519KeyLen)).string(sk.view());
}

bool ed25519_verify(const KeyTypeInfo&, const VerifyInput& in) {
  // RFC 8709 §6: the signature is exactly 64 bytes.
  return in.signature.size() == kEd25519SigLen &&
         evp_verify(in.pkey, nullptr, in.signature, in.data);
}

Result<Bytes> ed25519_sign(const KeyTypeInfo&, EVP_PKEY* pkey, std::string_view, ByteView data) {
  return evp_sign(pkey, nullptr, data);
}

Result<EvpPkeyPtr> ed25519_generate(const KeyTypeInfo&, int) {
  return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
}

}  // namespace

const KeyFamily kEd25519Family = {
    .evp_id = EVP_PKEY_ED25519,
    .read_public = ed25519_read_public,
    .public_blob = ed25519_public_blob,
    .read_private = ed25519_read_private,
    .write_private = ed25519_write_private,
    .signature_algorithms = type_name_algorithm,
    .verify = ed25519_verify,
    .sign = ed25519_sign,
    .generate = ed25519_generate,
};

}  // namespace postern::keys
