// OpenSSL helpers the key families share: big numbers, keys from OSSL_PARAMs, EVP signing and
// verification, and the DER form of (r, s) signatures. Internal to common/ssh_key*.cpp and the
// private key container files.
#pragma once

#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include <initializer_list>
#include <memory>

#include "common/bytes.h"
#include "common/ossl.h"
#include "common/result.h"
#include "common/wire.h"

namespace postern::keys {

using OsslParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OsslFree<OSSL_PARAM_BLD_free>>;

// RFC 4253 leaves RSA (and DSA p) sizes open; 16384 bits bounds the work a hostile key can cause.
constexpr int kMaxModulusBits = 16384;
constexpr size_t kMaxMpint = kMaxModulusBits / 8 + 1;

BignumPtr bn_from(ByteView magnitude);
Bytes bn_bytes(const BIGNUM* bn);
BignumPtr get_bn(const EVP_PKEY* pkey, const char* name);
// Builds an EVP_PKEY from OSSL_PARAMs (EVP_PKEY_fromdata), public or full key pair.
EvpPkeyPtr pkey_fromdata(const char* algorithm, OSSL_PARAM_BLD* bld, int selection);
// Writes the named BIGNUM parameters of `pkey` as mpints, in order (a private key record).
void write_bn_params(const EVP_PKEY* pkey, std::initializer_list<const char*> names,
                     SecretWriter& w);
// A loaded key pair must be consistent, or signatures made with it would not verify.
bool pair_consistent(EVP_PKEY* pkey);

// OpenSSL signs and verifies ECDSA and DSA signatures as DER: SEQUENCE { INTEGER r, INTEGER s }
// (the ECDSA-Sig-Value and Dss-Sig-Value forms are the same shape), so ECDSA_SIG codes both.
Result<Bytes> der_from_rs(ByteView r, ByteView s);
// The r and s of a DER signature from OpenSSL, through `emit` (which writes the SSH form).
Result<Bytes> rs_from_der(ByteView der, Result<Bytes> (*emit)(const BIGNUM* r, const BIGNUM* s));

// EVP_DigestSign / EVP_DigestVerify with the digest the algorithm calls for (none for Ed25519,
// which hashes internally: RFC 8032).
bool evp_verify(EVP_PKEY* pkey, const char* digest, ByteView sig, ByteView data);
Result<Bytes> evp_sign(EVP_PKEY* pkey, const char* digest, ByteView data);

}  // namespace postern::keys
