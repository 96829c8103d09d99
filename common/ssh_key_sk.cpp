// FIDO security keys (PROTOCOL.u2f), sk-ssh-ed25519@openssh.com and
// sk-ecdsa-sha2-nistp256@openssh.com: the public key of the inner family followed by string
// application (read by PublicKey with the other fields), signatures over what the
// authenticator signed. They verify here but never sign: the private half lives in the
// authenticator.
#include <openssl/sha.h>

#include "common/ssh_key_family.h"
#include "common/ssh_key_openssl.h"

namespace postern::keys {
namespace {

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

Result<EvpPkeyPtr> read_private(const KeyTypeInfo&, Reader&) {
  return Unexpected("security key private keys are not supported");
}

void write_private(const KeyTypeInfo&, EVP_PKEY*, SecretWriter&) {
  // Never reached: no PrivateKey holds a security key (parse and generate refuse them).
}

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
