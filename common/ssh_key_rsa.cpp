// The ssh-rsa key family (RFC 4253 §6.6, RFC 8332): public key mpint e, mpint n; signatures
// rsa-sha2-512, rsa-sha2-256 and ssh-rsa (SHA-1); OpenSSH's private record (PROTOCOL.key).
#include <openssl/evp.h>

#include <string>

#include "common/ssh_key_family.h"
#include "common/ssh_key_openssl.h"

namespace postern::keys {
namespace {

// 1024 is OpenSSH's hard floor (SSH_RSA_MINIMUM_MODULUS_SIZE is a published limit).
constexpr int kRsaMinBits = 1024;
constexpr int kRsaMaxBits = kMaxModulusBits;

// The digest an RSA signature algorithm uses (RFC 8332 §3, RFC 4253 §6.6).
const char* rsa_digest(std::string_view alg) {
  if (alg == "rsa-sha2-256") return "SHA256";
  if (alg == "rsa-sha2-512") return "SHA512";
  if (alg == "ssh-rsa") return "SHA1";
  return nullptr;
}

EvpPkeyPtr make_rsa_key(const BIGNUM* n, const BIGNUM* e, const BIGNUM* d = nullptr,
                        const BIGNUM* p = nullptr, const BIGNUM* q = nullptr,
                        const BIGNUM* iqmp = nullptr) {
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e))
    return nullptr;
  // OSSL_PARAM_BLD keeps pointers until OSSL_PARAM_BLD_to_param: these must outlive the build.
  BignumPtr dmp1, dmq1;
  if (d) {
    // OpenSSH's format carries iqmp, p and q but not the CRT exponents: derive them.
    BnCtxPtr bnctx(BN_CTX_new());
    BignumPtr p1(BN_new()), q1(BN_new());
    dmp1.reset(BN_new());
    dmq1.reset(BN_new());
    if (!bnctx || !p1 || !q1 || !dmp1 || !dmq1 || !BN_sub(p1.get(), p, BN_value_one()) ||
        !BN_sub(q1.get(), q, BN_value_one()) || !BN_mod(dmp1.get(), d, p1.get(), bnctx.get()) ||
        !BN_mod(dmq1.get(), d, q1.get(), bnctx.get()))
      return nullptr;
    if (!OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_D, d) ||
        !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_FACTOR1, p) ||
        !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_FACTOR2, q) ||
        !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_EXPONENT1, dmp1.get()) ||
        !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_EXPONENT2, dmq1.get()) ||
        !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_COEFFICIENT1, iqmp))
      return nullptr;
  }
  return pkey_fromdata("RSA", bld.get(), d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
}

Result<EvpPkeyPtr> rsa_read_public(const KeyTypeInfo&, Reader& r) {
  // RFC 4253 §6.6: mpint e, mpint n.
  ByteView e = r.mpint(kMaxMpint), n = r.mpint(kMaxMpint);
  BignumPtr eb = bn_from(e), nb = bn_from(n);
  if (!eb || !nb) return Unexpected("bad RSA public key");
  int bits = BN_num_bits(nb.get());
  if (bits < kRsaMinBits)
    return Unexpected("RSA key too small (" + std::to_string(bits) + " bits, minimum " +
                      std::to_string(kRsaMinBits) + ")");
  if (bits > kRsaMaxBits) return Unexpected("RSA key too large");
  // e must be odd and greater than 1, and n odd, for RSA to mean anything.
  if (!BN_is_odd(eb.get()) || BN_is_one(eb.get()) || !BN_is_odd(nb.get()) ||
      BN_num_bits(eb.get()) > 64)
    return Unexpected("bad RSA public key parameters");
  return make_rsa_key(nb.get(), eb.get());
}

Result<Bytes> rsa_public_blob(EVP_PKEY* pkey, KeyType& type_out) {
  BignumPtr n = get_bn(pkey, OSSL_PKEY_PARAM_RSA_N), e = get_bn(pkey, OSSL_PKEY_PARAM_RSA_E);
  if (!n || !e) return Unexpected(ossl_error("cannot read RSA public key"));
  type_out = KeyType::kRsa;
  Writer w;
  w.string(info(KeyType::kRsa).name);
  w.mpint_unsigned(bn_bytes(e.get())).mpint_unsigned(bn_bytes(n.get()));
  return w.take();
}

Result<EvpPkeyPtr> rsa_read_private(const KeyTypeInfo&, Reader& r) {
  // PROTOCOL.key: mpint n, mpint e, mpint d, mpint iqmp, mpint p, mpint q.
  ByteView n = r.mpint(kMaxMpint), e = r.mpint(kMaxMpint), d = r.mpint(kMaxMpint),
           iqmp = r.mpint(kMaxMpint), p = r.mpint(kMaxMpint), q = r.mpint(kMaxMpint);
  BignumPtr nb = bn_from(n), eb = bn_from(e), db = bn_from(d), ib = bn_from(iqmp), pb = bn_from(p),
            qb = bn_from(q);
  if (!nb || !eb || !db || !ib || !pb || !qb) return Unexpected("bad RSA private key");
  if (BN_num_bits(nb.get()) < kRsaMinBits)
    return Unexpected("RSA key too small (" + std::to_string(BN_num_bits(nb.get())) +
                      " bits, minimum " + std::to_string(kRsaMinBits) + ")");
  if (BN_is_zero(pb.get()) || BN_is_zero(qb.get())) return Unexpected("bad RSA private key");
  EvpPkeyPtr key = make_rsa_key(nb.get(), eb.get(), db.get(), pb.get(), qb.get(), ib.get());
  if (!key) return Unexpected(ossl_error("bad RSA private key"));
  return key;
}

void rsa_write_private(const KeyTypeInfo&, EVP_PKEY* pkey, SecretWriter& w) {
  // PROTOCOL.key records n e d iqmp p q, all as mpints.
  write_bn_params(
      pkey,
      {OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
       OSSL_PKEY_PARAM_RSA_COEFFICIENT1, OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2},
      w);
}

std::vector<std::string> rsa_signature_algorithms(const KeyTypeInfo&) {
  return {"rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"};
}

bool rsa_verify(const KeyTypeInfo&, const VerifyInput& in) {
  // RFC 8332 §3 requires the full modulus length, but some implementations drop leading
  // zero bytes; restore them rather than refuse a valid signature.
  size_t modlen = size_t(EVP_PKEY_get_size(in.pkey));
  if (in.signature.empty() || in.signature.size() > modlen) return false;
  Bytes padded(modlen - in.signature.size(), 0);
  padded.insert(padded.end(), in.signature.begin(), in.signature.end());
  return evp_verify(in.pkey, rsa_digest(in.algorithm), padded, in.data);
}

Result<Bytes> rsa_sign(const KeyTypeInfo&, EVP_PKEY* pkey, std::string_view algorithm,
                       ByteView data) {
  return evp_sign(pkey, rsa_digest(algorithm), data);
}

Result<EvpPkeyPtr> rsa_generate(const KeyTypeInfo&, int rsa_bits) {
  if (rsa_bits < kRsaMinBits || rsa_bits > kRsaMaxBits)
    return Unexpected("unsupported RSA key size " + std::to_string(rsa_bits));
  return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t(rsa_bits)));
}

}  // namespace

const KeyFamily kRsaFamily = {
    .evp_id = EVP_PKEY_RSA,
    .read_public = rsa_read_public,
    .public_blob = rsa_public_blob,
    .read_private = rsa_read_private,
    .write_private = rsa_write_private,
    .signature_algorithms = rsa_signature_algorithms,
    .verify = rsa_verify,
    .sign = rsa_sign,
    .generate = rsa_generate,
};

}  // namespace postern::keys
