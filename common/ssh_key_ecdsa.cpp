// The ecdsa-sha2-nistp256/384/521 key family (RFC 5656): public key string curve, string Q;
// signatures (mpint r, mpint s) over the curve's hash; OpenSSH's private record
// (PROTOCOL.key). The security-key form (ssh_key_sk.cpp) reuses its public key and
// verification.
#include <openssl/evp.h>

#include "common/ssh_key_family.h"
#include "common/ssh_key_openssl.h"

namespace postern::keys {
namespace {

EvpPkeyPtr make_ec_key(const KeyTypeInfo& ki, ByteView point, const BIGNUM* priv) {
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, ki.group, 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                        point.size()))
    return nullptr;
  if (priv && !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv)) return nullptr;
  return pkey_fromdata("EC", bld.get(), priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
}

// RFC 5656 §3.1: Q is an uncompressed point (SEC1 2.3.3) that must lie on the curve and not be
// the point at infinity; EVP_PKEY_public_check performs the SEC1 / SP 800-56A validation.
bool ec_public_check(EVP_PKEY* pkey) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  bool ok = ctx && EVP_PKEY_public_check(ctx.get()) == 1;
  ERR_clear_error();
  return ok;
}

// A fixed-width big-endian encoding, for EC coordinates.
Bytes bn_bytes_padded(const BIGNUM* bn, size_t width) {
  Bytes out(width);
  if (BN_bn2binpad(bn, out.data(), int(width)) < 0) return {};
  return out;
}

// The EC public point as an uncompressed SEC1 octet string, whatever form OpenSSL holds.
Bytes ec_point(const EVP_PKEY* pkey, const KeyTypeInfo& ki) {
  BignumPtr x = get_bn(pkey, OSSL_PKEY_PARAM_EC_PUB_X), y = get_bn(pkey, OSSL_PKEY_PARAM_EC_PUB_Y);
  if (!x || !y) return {};
  Bytes out{0x04};
  Bytes xb = bn_bytes_padded(x.get(), ki.field_bytes),
        yb = bn_bytes_padded(y.get(), ki.field_bytes);
  if (xb.empty() || yb.empty()) return {};
  out.insert(out.end(), xb.begin(), xb.end());
  out.insert(out.end(), yb.begin(), yb.end());
  return out;
}

// The ECDSA row for a group OpenSSL names; never a security key, which OpenSSL does not hold.
const KeyTypeInfo* info_by_group(std::string_view group) {
  for (const auto& i : key_types()) {
    if (i.family != &kEcdsaFamily) continue;
    // OpenSSL may name the NIST curves either way.
    if (group == i.group || (i.nist_name && group == i.nist_name)) return &i;
  }
  return nullptr;
}

// ECDSA signatures: SSH carries (mpint r, mpint s) (RFC 5656 §3.1.2).
Result<Bytes> ecdsa_ssh_to_der(ByteView ssh_sig, size_t field_bytes) {
  Reader r(ssh_sig);
  ByteView rb = r.mpint(field_bytes + 1), sb = r.mpint(field_bytes + 1);
  r.expect_done("ECDSA signature");
  return der_from_rs(rb, sb);
}

Result<Bytes> ecdsa_der_to_ssh(ByteView der) {
  return rs_from_der(der, [](const BIGNUM* r, const BIGNUM* s) -> Result<Bytes> {
    Writer w;
    w.mpint_unsigned(bn_bytes(r)).mpint_unsigned(bn_bytes(s));
    return w.take();
  });
}

Result<EvpPkeyPtr> ecdsa_read_public(const KeyTypeInfo& ki, Reader& r) {
  // RFC 5656 §3.1 (and PROTOCOL.u2f for the security key form): the curve identifier must
  // agree with the key type name, and Q is in the uncompressed form (SEC1 2.3.3) OpenSSH uses.
  if (r.text(64) != ki.curve) return Unexpected("ECDSA curve does not match key type");
  ByteView point = r.string(1 + 2 * ki.field_bytes);
  if (point.size() != 1 + 2 * ki.field_bytes || point[0] != 0x04)
    return Unexpected("bad ECDSA public point encoding");
  EvpPkeyPtr k = make_ec_key(ki, point, nullptr);
  if (k && !ec_public_check(k.get())) return Unexpected("ECDSA point is not valid");
  return k;
}

Result<Bytes> ecdsa_public_blob(EVP_PKEY* pkey, KeyType& type_out) {
  char group[64];
  size_t glen = 0;
  if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &glen))
    return Unexpected(ossl_error("cannot read EC group"));
  const KeyTypeInfo* ki = info_by_group(std::string_view(group, glen));
  if (!ki) return Unexpected("unsupported EC curve " + std::string(group, glen));
  Bytes point = ec_point(pkey, *ki);
  if (point.empty()) return Unexpected(ossl_error("cannot read EC public key"));
  type_out = ki->type;
  Writer w;
  w.string(ki->name).string(ki->curve).string(ByteView(point));
  return w.take();
}

Result<EvpPkeyPtr> ecdsa_read_private(const KeyTypeInfo& ki, Reader& r) {
  // string curve, string Q, mpint d.
  if (r.text(64) != ki.curve) return Unexpected("ECDSA curve does not match key type");
  ByteView point = r.string(1 + 2 * ki.field_bytes);
  ByteView d = r.mpint(ki.field_bytes + 1);
  BignumPtr dn = bn_from(d);
  if (!dn) return Unexpected("bad ECDSA private key");
  EvpPkeyPtr key = make_ec_key(ki, point, dn.get());
  if (!key) return Unexpected(ossl_error("bad ECDSA private key"));
  return key;
}

void ecdsa_write_private(const KeyTypeInfo& ki, EVP_PKEY* pkey, SecretWriter& w) {
  BignumPtr d = get_bn(pkey, OSSL_PKEY_PARAM_PRIV_KEY);
  SecretBytes db(size_t(d ? BN_num_bytes(d.get()) : 0));
  if (d) BN_bn2bin(d.get(), db.data());
  w.string(ki.curve).string(ByteView(ec_point(pkey, ki))).mpint_unsigned(db);
}

bool ecdsa_verify(const KeyTypeInfo& ki, const VerifyInput& in) {
  auto der = ecdsa_ssh_to_der(in.signature, ki.field_bytes);
  return der && evp_verify(in.pkey, ki.digest, *der, in.data);
}

Result<Bytes> ecdsa_sign(const KeyTypeInfo& ki, EVP_PKEY* pkey, std::string_view, ByteView data) {
  auto der = evp_sign(pkey, ki.digest, data);
  return der ? ecdsa_der_to_ssh(*der) : der;
}

Result<EvpPkeyPtr> ecdsa_generate(const KeyTypeInfo& ki, int) {
  return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", ki.group));
}

}  // namespace

const KeyFamily kEcdsaFamily = {
    .evp_id = EVP_PKEY_EC,
    .read_public = ecdsa_read_public,
    .public_blob = ecdsa_public_blob,
    .read_private = ecdsa_read_private,
    .write_private = ecdsa_write_private,
    .signature_algorithms = type_name_algorithm,
    .verify = ecdsa_verify,
    .sign = ecdsa_sign,
    .generate = ecdsa_generate,
};

}  // namespace postern::keys
