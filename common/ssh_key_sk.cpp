// FIDO security keys (PROTOCOL.u2f), sk-ssh-ed25519@openssh.com and
// sk-ecdsa-sha2-nistp256@openssh.com: the public key of the inner family followed by string
// application (read by PublicKey with the other fields), signatures over what the
// authenticator signed, and the key files' records that name a credential the authenticator
// holds. Signing goes through the SecurityKeyProvider (PrivateKey::sign, sk_provider.h): the
// private half lives in the authenticator.
#include <openssl/sha.h>

#include "common/private_key_formats.h"
#include "common/ssh_key_family.h"
#include "common/ssh_key_openssl.h"

namespace postern::keys {
namespace {

// Bounds a key handle: authenticators' credential ids are at most a few hundred bytes
// (CTAP2 allows 1023 in practice); OpenSSH keeps the reserved field empty.
constexpr size_t kMaxKeyHandle = 1024;
constexpr size_t kMaxReserved = 1024;

// PROTOCOL.u2f: the authenticator signs SHA256(application) || flags || counter ||
// SHA256(message), with the inner family's algorithm; no extensions are defined, so none are
// accepted.
bool verify_u2f(const KeyFamily& inner, const KeyTypeInfo& ki, const VerifyInput& in) {
  uint8_t app_hash[32], msg_hash[32];
  SHA256(reinterpret_cast<const uint8_t*>(in.sk_application.data()), in.sk_application.size(),
         app_hash);
  SHA256(in.data.data(), in.data.size(), msg_hash);
  Writer signed_blob;
  signed_blob.raw(ByteView(app_hash, 32)).u8(in.sk.flags).u32(in.sk.counter);
  signed_blob.raw(ByteView(msg_hash, 32));
  VerifyInput signed_in = in;
  signed_in.data = signed_blob.buffer();
  return inner.verify(ki, signed_in);
}

// The family's EVP_PKEY entry points: OpenSSL never holds the private half of a security key,
// so openssh_private_key.cpp reads and writes its record with read_sk_private below instead.
Result<EvpPkeyPtr> read_private(const KeyTypeInfo&, Reader&) {
  return Unexpected("security key records carry no private key");
}

void write_private(const KeyTypeInfo&, EVP_PKEY*, SecretWriter&) {}

Result<Bytes> sign(const KeyTypeInfo&, EVP_PKEY*, std::string_view, ByteView) {
  return Unexpected("unsupported key type");
}

Result<EvpPkeyPtr> generate(const KeyTypeInfo&, int) {
  return Unexpected("security keys are made by their authenticator");
}

Result<EvpPkeyPtr> read_public_ed25519(const KeyTypeInfo& ki, Reader& r) {
  return kEd25519Family.read_public(ki, r);
}
bool verify_ed25519(const KeyTypeInfo& ki, const VerifyInput& in) {
  return verify_u2f(kEd25519Family, ki, in);
}

Result<EvpPkeyPtr> read_public_ecdsa(const KeyTypeInfo& ki, Reader& r) {
  return kEcdsaFamily.read_public(ki, r);
}
bool verify_ecdsa(const KeyTypeInfo& ki, const VerifyInput& in) {
  return verify_u2f(kEcdsaFamily, ki, in);
}

}  // namespace

// PROTOCOL.u2f "SSH U2F private key format": the public fields, then uint8 flags, string
// key_handle, string reserved.
Result<SkPrivateRecord> read_sk_private(const KeyTypeInfo& ki, Reader& r) {
  auto pub = PublicKey::read_fields(ki.name, r);
  if (!pub) return Unexpected(pub.error());
  SkPrivateRecord rec{std::move(*pub), {}};
  rec.handle.application = rec.public_key.sk_application();
  // The application reaches the provider as a C string (sk-api sk_sign).
  if (rec.handle.application.find('\0') != std::string::npos)
    return Unexpected("security key application contains a NUL byte");
  rec.handle.flags = r.u8();
  ByteView handle = r.string(kMaxKeyHandle);
  if (handle.empty()) return Unexpected("security key has an empty key handle");
  rec.handle.key_handle.assign(handle.begin(), handle.end());
  ByteView reserved = r.string(kMaxReserved);
  rec.handle.reserved.assign(reserved.begin(), reserved.end());
  return rec;
}

void write_sk_private(const PublicKey& pub, const SkKeyHandle& handle, SecretWriter& w) {
  // The public blob already is string type, the public fields, string application.
  w.raw(ByteView(pub.blob()));
  w.u8(handle.flags).string(ByteView(handle.key_handle)).string(ByteView(handle.reserved));
}

// OpenSSL never holds a security key (evp_id EVP_PKEY_NONE, no public_blob).
const KeyFamily kSkEd25519Family = {
    .evp_id = EVP_PKEY_NONE,
    .read_public = read_public_ed25519,
    .public_blob = nullptr,
    .read_private = read_private,
    .write_private = write_private,
    .signature_algorithms = type_name_algorithm,
    .verify = verify_ed25519,
    .sign = sign,
    .generate = generate,
};

const KeyFamily kSkEcdsaFamily = {
    .evp_id = EVP_PKEY_NONE,
    .read_public = read_public_ecdsa,
    .public_blob = nullptr,
    .read_private = read_private,
    .write_private = write_private,
    .signature_algorithms = type_name_algorithm,
    .verify = verify_ecdsa,
    .sign = sign,
    .generate = generate,
};

}  // namespace postern::keys
