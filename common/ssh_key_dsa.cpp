// The ssh-dss key family (RFC 4253 §6.6), only for configurations that still name it: public
// key mpint p, q, g, y; signatures of r and s as two 20-byte integers over SHA-1; OpenSSH's
// private record (PROTOCOL.key).
#include <openssl/dsa.h>
#include <openssl/evp.h>

#include "common/ssh_key_family.h"
#include "common/ssh_key_openssl.h"

namespace postern::keys {
namespace {

// RFC 4253 §6.6: an ssh-dss signature is r and s, each 160 bits, as 20-byte unsigned integers.
constexpr size_t kDsaSigHalf = 20;
// DSA as OpenSSH uses it: FIPS 186-2 parameters, L = 1024 and N = 160 (ssh-keygen makes only
// these); p is bounded like an RSA modulus so a hostile key cannot cost unbounded work.
constexpr int kDsaMinBits = 1024;
constexpr int kDsaQBits = 160;

// A DSA key from its domain parameters p, q, g, public y and, for a key pair, private x.
EvpPkeyPtr make_dsa_key(const BIGNUM* p, const BIGNUM* q, const BIGNUM* g, const BIGNUM* y,
                        const BIGNUM* x = nullptr) {
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_FFC_P, p) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_FFC_Q, q) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_FFC_G, g) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, y))
    return nullptr;
  if (x && !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, x)) return nullptr;
  return pkey_fromdata("DSA", bld.get(), x ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
}

// Sanity of DSA public values, so that verification means something: q is 160 bits and divides
// p - 1, 1 < g < p, 1 < y < p, and p is of a size OpenSSH accepts.
bool dsa_params_sane(const BIGNUM* p, const BIGNUM* q, const BIGNUM* g, const BIGNUM* y) {
  int pbits = BN_num_bits(p);
  if (pbits < kDsaMinBits || pbits > kMaxModulusBits || BN_num_bits(q) != kDsaQBits ||
      !BN_is_odd(p) || !BN_is_odd(q))
    return false;
  if (BN_cmp(g, BN_value_one()) <= 0 || BN_cmp(g, p) >= 0 || BN_cmp(y, BN_value_one()) <= 0 ||
      BN_cmp(y, p) >= 0)
    return false;
  BnCtxPtr ctx(BN_CTX_new());
  BignumPtr p1(BN_dup(p)), rem(BN_new());
  return ctx && p1 && rem && BN_sub_word(p1.get(), 1) &&
         BN_mod(rem.get(), p1.get(), q, ctx.get()) && BN_is_zero(rem.get());
}

// ssh-dss signatures: RFC 4253 §6.6 carries r and s as two 160-bit unsigned integers, each
// zero-padded to 20 bytes and concatenated.
Result<Bytes> dsa_ssh_to_der(ByteView ssh_sig) {
  if (ssh_sig.size() != 2 * kDsaSigHalf) return Unexpected("bad DSA signature length");
  return der_from_rs(ssh_sig.subspan(0, kDsaSigHalf), ssh_sig.subspan(kDsaSigHalf));
}

Result<Bytes> dsa_der_to_ssh(ByteView der) {
  return rs_from_der(der, [](const BIGNUM* r, const BIGNUM* s) -> Result<Bytes> {
    Bytes out(2 * kDsaSigHalf);
    if (BN_bn2binpad(r, out.data(), int(kDsaSigHalf)) < 0 ||
        BN_bn2binpad(s, out.data() + kDsaSigHalf, int(kDsaSigHalf)) < 0)
      return Unexpected("DSA signature does not fit 160 bits");
    return out;
  });
}

Result<EvpPkeyPtr> dsa_read_public(const KeyTypeInfo&, Reader& r) {
  // RFC 4253 §6.6: mpint p, mpint q, mpint g, mpint y.
  ByteView p = r.mpint(kMaxMpint), q = r.mpint(kMaxMpint), g = r.mpint(kMaxMpint),
           y = r.mpint(kMaxMpint);
  BignumPtr pb = bn_from(p), qb = bn_from(q), gb = bn_from(g), yb = bn_from(y);
  if (!pb || !qb || !gb || !yb) return Unexpected("bad DSA public key");
  if (!dsa_params_sane(pb.get(), qb.get(), gb.get(), yb.get()))
    return Unexpected("bad DSA public key parameters");
  return make_dsa_key(pb.get(), qb.get(), gb.get(), yb.get());
}

Result<Bytes> dsa_public_blob(EVP_PKEY* pkey, KeyType& type_out) {
  // RFC 4253 §6.6: string "ssh-dss", mpint p, mpint q, mpint g, mpint y.
  BignumPtr p = get_bn(pkey, OSSL_PKEY_PARAM_FFC_P), q = get_bn(pkey, OSSL_PKEY_PARAM_FFC_Q),
            g = get_bn(pkey, OSSL_PKEY_PARAM_FFC_G), y = get_bn(pkey, OSSL_PKEY_PARAM_PUB_KEY);
  if (!p || !q || !g || !y) return Unexpected(ossl_error("cannot read DSA public key"));
  type_out = KeyType::kDsa;
  Writer w;
  w.string(info(KeyType::kDsa).name);
  for (const BIGNUM* bn : {p.get(), q.get(), g.get(), y.get()}) w.mpint_unsigned(bn_bytes(bn));
  return w.take();
}

Result<EvpPkeyPtr> dsa_read_private(const KeyTypeInfo&, Reader& r) {
  // PROTOCOL.key / OpenSSH: mpint p, mpint q, mpint g, mpint y, mpint x.
  ByteView p = r.mpint(kMaxMpint), q = r.mpint(kMaxMpint), g = r.mpint(kMaxMpint),
           y = r.mpint(kMaxMpint), x = r.mpint(kMaxMpint);
  BignumPtr pb = bn_from(p), qb = bn_from(q), gb = bn_from(g), yb = bn_from(y), xb = bn_from(x);
  if (!pb || !qb || !gb || !yb || !xb || !dsa_params_sane(pb.get(), qb.get(), gb.get(), yb.get()) ||
      BN_is_zero(xb.get()) || BN_cmp(xb.get(), qb.get()) >= 0)
    return Unexpected("bad DSA private key");
  EvpPkeyPtr key = make_dsa_key(pb.get(), qb.get(), gb.get(), yb.get(), xb.get());
  if (!key) return Unexpected(ossl_error("bad DSA private key"));
  return key;
}

void dsa_write_private(const KeyTypeInfo&, EVP_PKEY* pkey, SecretWriter& w) {
  // PROTOCOL.key records p q g y x, all as mpints.
  write_bn_params(pkey,
                  {OSSL_PKEY_PARAM_FFC_P, OSSL_PKEY_PARAM_FFC_Q, OSSL_PKEY_PARAM_FFC_G,
                   OSSL_PKEY_PARAM_PUB_KEY, OSSL_PKEY_PARAM_PRIV_KEY},
                  w);
}

bool dsa_verify(const KeyTypeInfo& ki, const VerifyInput& in) {
  auto der = dsa_ssh_to_der(in.signature);
  return der && evp_verify(in.pkey, ki.digest, *der, in.data);
}

Result<Bytes> dsa_sign(const KeyTypeInfo& ki, EVP_PKEY* pkey, std::string_view, ByteView data) {
  auto der = evp_sign(pkey, ki.digest, data);
  return der ? dsa_der_to_ssh(*der) : der;
}

// A fresh 1024-bit DSA key with a 160-bit q, the only size ssh-dss allows (FIPS 186-2, as
// ssh-keygen -t dsa makes): generate domain parameters, then the key pair from them.
Result<EvpPkeyPtr> dsa_generate(const KeyTypeInfo&, int) {
  EvpPkeyCtxPtr pctx(EVP_PKEY_CTX_new_from_name(nullptr, "DSA", nullptr));
  EVP_PKEY* params = nullptr;
  if (!pctx || EVP_PKEY_paramgen_init(pctx.get()) <= 0 ||
      EVP_PKEY_CTX_set_dsa_paramgen_bits(pctx.get(), kDsaMinBits) <= 0 ||
      EVP_PKEY_CTX_set_dsa_paramgen_q_bits(pctx.get(), kDsaQBits) <= 0 ||
      EVP_PKEY_paramgen(pctx.get(), &params) <= 0)
    return EvpPkeyPtr();
  EvpPkeyPtr param_key(params);
  EvpPkeyCtxPtr kctx(EVP_PKEY_CTX_new_from_pkey(nullptr, param_key.get(), nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!kctx || EVP_PKEY_keygen_init(kctx.get()) <= 0 || EVP_PKEY_keygen(kctx.get(), &pkey) <= 0)
    return EvpPkeyPtr();
  return EvpPkeyPtr(pkey);
}

}  // namespace

const KeyFamily kDsaFamily = {
    .evp_id = EVP_PKEY_DSA,
    .read_public = dsa_read_public,
    .public_blob = dsa_public_blob,
    .read_private = dsa_read_private,
    .write_private = dsa_write_private,
    .signature_algorithms = type_name_algorithm,
    .verify = dsa_verify,
    .sign = dsa_sign,
    .generate = dsa_generate,
};

}  // namespace postern::keys
