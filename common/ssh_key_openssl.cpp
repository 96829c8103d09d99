#include "common/ssh_key_openssl.h"

#include <openssl/ec.h>

namespace postern::keys {
namespace {

using OsslParamPtr = std::unique_ptr<OSSL_PARAM, OsslFree<OSSL_PARAM_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OsslFree<ECDSA_SIG_free>>;

}  // namespace

BignumPtr bn_from(ByteView magnitude) {
  return BignumPtr(BN_bin2bn(magnitude.data(), int(magnitude.size()), nullptr));
}

Bytes bn_bytes(const BIGNUM* bn) {
  Bytes out(size_t(BN_num_bytes(bn)));
  BN_bn2bin(bn, out.data());
  return out;
}

BignumPtr get_bn(const EVP_PKEY* pkey, const char* name) {
  BIGNUM* bn = nullptr;
  if (!EVP_PKEY_get_bn_param(pkey, name, &bn)) return nullptr;
  return BignumPtr(bn);
}

EvpPkeyPtr pkey_fromdata(const char* algorithm, OSSL_PARAM_BLD* bld, int selection) {
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  if (!params) return nullptr;
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, algorithm, nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0) return nullptr;
  EVP_PKEY* pkey = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &pkey, selection, params.get()) <= 0) return nullptr;
  return EvpPkeyPtr(pkey);
}

void write_bn_params(const EVP_PKEY* pkey, std::initializer_list<const char*> names,
                     SecretWriter& w) {
  for (const char* name : names) {
    BignumPtr bn = get_bn(pkey, name);
    SecretBytes b(size_t(bn ? BN_num_bytes(bn.get()) : 0));
    if (bn) BN_bn2bin(bn.get(), b.data());
    w.mpint_unsigned(b);
  }
}

bool pair_consistent(EVP_PKEY* pkey) {
  if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519) return true;  // pk derived from the seed
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  bool ok = ctx && EVP_PKEY_pairwise_check(ctx.get()) == 1;
  ERR_clear_error();
  return ok;
}

Result<Bytes> der_from_rs(ByteView r, ByteView s) {
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BignumPtr rn = bn_from(r), sn = bn_from(s);
  if (!sig || !rn || !sn || !ECDSA_SIG_set0(sig.get(), rn.get(), sn.get()))
    return Unexpected("bad signature values");
  rn.release();
  sn.release();
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return Unexpected("bad signature values");
  Bytes der(size_t(len), 0);
  uint8_t* p = der.data();
  i2d_ECDSA_SIG(sig.get(), &p);
  return der;
}

Result<Bytes> rs_from_der(ByteView der, Result<Bytes> (*emit)(const BIGNUM* r, const BIGNUM* s)) {
  const uint8_t* p = der.data();
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, long(der.size())));
  if (!sig) return Unexpected(ossl_error("bad signature from OpenSSL"));
  const BIGNUM *r = nullptr, *s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  return emit(r, s);
}

bool evp_verify(EVP_PKEY* pkey, const char* digest, ByteView sig, ByteView data) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  bool ok =
      ctx &&
      EVP_DigestVerifyInit_ex(ctx.get(), nullptr, digest, nullptr, nullptr, pkey, nullptr) == 1 &&
      EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), data.data(), data.size()) == 1;
  ERR_clear_error();
  return ok;
}

Result<Bytes> evp_sign(EVP_PKEY* pkey, const char* digest, ByteView data) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (!ctx ||
      EVP_DigestSignInit_ex(ctx.get(), nullptr, digest, nullptr, nullptr, pkey, nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, data.data(), data.size()) != 1)
    return Unexpected(ossl_error("signing failed"));
  Bytes sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, data.data(), data.size()) != 1)
    return Unexpected(ossl_error("signing failed"));
  sig.resize(len);
  return sig;
}

}  // namespace postern::keys
