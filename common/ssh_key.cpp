#include "common/ssh_key.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/dsa.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "common/wire.h"

namespace postern {
namespace {

using OsslParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OsslFree<OSSL_PARAM_BLD_free>>;
using OsslParamPtr = std::unique_ptr<OSSL_PARAM, OsslFree<OSSL_PARAM_free>>;
using BioPtr = std::unique_ptr<BIO, OsslFree<BIO_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OsslFree<ECDSA_SIG_free>>;

constexpr size_t kEd25519KeyLen = 32;
constexpr size_t kEd25519SigLen = 64;
// RFC 4253 leaves RSA sizes open; 1024 is OpenSSH's hard floor (SSH_RSA_MINIMUM_MODULUS_SIZE
// is a published limit) and 16384 bounds the work a hostile key can cause.
constexpr int kRsaMinBits = 1024;
constexpr int kRsaMaxBits = 16384;
constexpr size_t kMaxMpint = kRsaMaxBits / 8 + 1;
// RFC 4253 §6.6: an ssh-dss signature is r and s, each 160 bits, as 20-byte unsigned integers.
constexpr size_t kDsaSigHalf = 20;
// DSA as OpenSSH uses it: FIPS 186-2 parameters, L = 1024 and N = 160 (ssh-keygen makes only
// these); p is bounded like an RSA modulus so a hostile key cannot cost unbounded work.
constexpr int kDsaMinBits = 1024;
constexpr int kDsaQBits = 160;

// Static facts about each key type, indexed by KeyType.
struct KeyTypeInfo {
  KeyType type;
  const char* name;      // blob type name
  const char* log_name;  // as OpenSSH's logs print it
  const char* curve;     // RFC 5656 §6.1 identifier, ECDSA only
  const char* group;     // OpenSSL group name, ECDSA only
  size_t field_bytes;    // coordinate size, ECDSA only
  const char* digest;    // ECDSA hash per RFC 5656 §6.2.1
};

constexpr KeyTypeInfo kKeyTypes[] = {
    {KeyType::kEd25519, "ssh-ed25519", "ED25519", nullptr, nullptr, 0, nullptr},
    {KeyType::kEcdsaP256, "ecdsa-sha2-nistp256", "ECDSA", "nistp256", "prime256v1", 32, "SHA256"},
    {KeyType::kEcdsaP384, "ecdsa-sha2-nistp384", "ECDSA", "nistp384", "secp384r1", 48, "SHA384"},
    {KeyType::kEcdsaP521, "ecdsa-sha2-nistp521", "ECDSA", "nistp521", "secp521r1", 66, "SHA512"},
    {KeyType::kRsa, "ssh-rsa", "RSA", nullptr, nullptr, 0, nullptr},
    // PROTOCOL.u2f: security keys, Ed25519 and ECDSA on P-256 only.
    {KeyType::kSkEd25519, "sk-ssh-ed25519@openssh.com", "ED25519-SK", nullptr, nullptr, 0, nullptr},
    {KeyType::kSkEcdsaP256, "sk-ecdsa-sha2-nistp256@openssh.com", "ECDSA-SK", "nistp256",
     "prime256v1", 32, "SHA256"},
    // RFC 4253 §6.6: ssh-dss signs a SHA-1 hash.
    {KeyType::kDsa, "ssh-dss", "DSA", nullptr, nullptr, 0, "SHA1"},
};
// Bounds the FIDO application string of security keys (typically "ssh:").
constexpr size_t kMaxSkApplication = 1024;

const KeyTypeInfo& info(KeyType t) {
  return kKeyTypes[static_cast<size_t>(t)];
}

const KeyTypeInfo* info_by_name(std::string_view name) {
  for (const auto& i : kKeyTypes)
    if (name == i.name) return &i;
  return nullptr;
}

const KeyTypeInfo* info_by_group(std::string_view group) {
  for (const auto& i : kKeyTypes) {
    // A key OpenSSL holds is never a security key.
    if (!i.group || i.type == KeyType::kSkEcdsaP256) continue;
    // OpenSSL may name the NIST curves either way.
    if (group == i.group) return &i;
    if ((group == "P-256" && i.type == KeyType::kEcdsaP256) ||
        (group == "P-384" && i.type == KeyType::kEcdsaP384) ||
        (group == "P-521" && i.type == KeyType::kEcdsaP521))
      return &i;
  }
  return nullptr;
}

// The digest an RSA signature algorithm uses (RFC 8332 §3, RFC 4253 §6.6).
const char* rsa_digest(std::string_view alg) {
  if (alg == "rsa-sha2-256") return "SHA256";
  if (alg == "rsa-sha2-512") return "SHA512";
  if (alg == "ssh-rsa") return "SHA1";
  return nullptr;
}

BignumPtr bn_from(ByteView magnitude) {
  return BignumPtr(BN_bin2bn(magnitude.data(), int(magnitude.size()), nullptr));
}

Bytes bn_bytes(const BIGNUM* bn) {
  Bytes out(size_t(BN_num_bytes(bn)));
  BN_bn2bin(bn, out.data());
  return out;
}

// A fixed-width big-endian encoding, for EC coordinates.
Bytes bn_bytes_padded(const BIGNUM* bn, size_t width) {
  Bytes out(width);
  if (BN_bn2binpad(bn, out.data(), int(width)) < 0) return {};
  return out;
}

BignumPtr get_bn(const EVP_PKEY* pkey, const char* name) {
  BIGNUM* bn = nullptr;
  if (!EVP_PKEY_get_bn_param(pkey, name, &bn)) return nullptr;
  return BignumPtr(bn);
}

// Builds an EVP_PKEY from OSSL_PARAMs (EVP_PKEY_fromdata), public or full key pair.
EvpPkeyPtr pkey_fromdata(const char* algorithm, OSSL_PARAM_BLD* bld, int selection) {
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  if (!params) return nullptr;
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, algorithm, nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0) return nullptr;
  EVP_PKEY* pkey = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &pkey, selection, params.get()) <= 0) return nullptr;
  return EvpPkeyPtr(pkey);
}

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
  if (pbits < kDsaMinBits || pbits > kRsaMaxBits || BN_num_bits(q) != kDsaQBits || !BN_is_odd(p) ||
      !BN_is_odd(q))
    return false;
  if (BN_cmp(g, BN_value_one()) <= 0 || BN_cmp(g, p) >= 0 || BN_cmp(y, BN_value_one()) <= 0 ||
      BN_cmp(y, p) >= 0)
    return false;
  BnCtxPtr ctx(BN_CTX_new());
  BignumPtr p1(BN_dup(p)), rem(BN_new());
  return ctx && p1 && rem && BN_sub_word(p1.get(), 1) &&
         BN_mod(rem.get(), p1.get(), q, ctx.get()) && BN_is_zero(rem.get());
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

// The public blob of any key OpenSSL holds (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709 §4).
Result<Bytes> public_blob_of(EVP_PKEY* pkey, KeyType& type_out) {
  Writer w;
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_ED25519: {
      uint8_t pub[kEd25519KeyLen];
      size_t len = sizeof pub;
      if (!EVP_PKEY_get_raw_public_key(pkey, pub, &len) || len != kEd25519KeyLen)
        return Unexpected(ossl_error("cannot read Ed25519 public key"));
      type_out = KeyType::kEd25519;
      w.string("ssh-ed25519").string(ByteView(pub, len));
      return w.take();
    }
    case EVP_PKEY_EC: {
      char group[64];
      size_t glen = 0;
      if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                          &glen))
        return Unexpected(ossl_error("cannot read EC group"));
      const KeyTypeInfo* ki = info_by_group(std::string_view(group, glen));
      if (!ki) return Unexpected("unsupported EC curve " + std::string(group, glen));
      Bytes point = ec_point(pkey, *ki);
      if (point.empty()) return Unexpected(ossl_error("cannot read EC public key"));
      type_out = ki->type;
      w.string(ki->name).string(ki->curve).string(ByteView(point));
      return w.take();
    }
    case EVP_PKEY_RSA: {
      BignumPtr n = get_bn(pkey, OSSL_PKEY_PARAM_RSA_N), e = get_bn(pkey, OSSL_PKEY_PARAM_RSA_E);
      if (!n || !e) return Unexpected(ossl_error("cannot read RSA public key"));
      type_out = KeyType::kRsa;
      w.string("ssh-rsa").mpint_unsigned(bn_bytes(e.get())).mpint_unsigned(bn_bytes(n.get()));
      return w.take();
    }
    case EVP_PKEY_DSA: {
      // RFC 4253 §6.6: string "ssh-dss", mpint p, mpint q, mpint g, mpint y.
      BignumPtr p = get_bn(pkey, OSSL_PKEY_PARAM_FFC_P), q = get_bn(pkey, OSSL_PKEY_PARAM_FFC_Q),
                g = get_bn(pkey, OSSL_PKEY_PARAM_FFC_G), y = get_bn(pkey, OSSL_PKEY_PARAM_PUB_KEY);
      if (!p || !q || !g || !y) return Unexpected(ossl_error("cannot read DSA public key"));
      type_out = KeyType::kDsa;
      w.string("ssh-dss");
      for (const BIGNUM* bn : {p.get(), q.get(), g.get(), y.get()}) w.mpint_unsigned(bn_bytes(bn));
      return w.take();
    }
    default:
      return Unexpected("unsupported key algorithm");
  }
}

// OpenSSL signs and verifies ECDSA and DSA signatures as DER: SEQUENCE { INTEGER r, INTEGER s }
// (the ECDSA-Sig-Value and Dss-Sig-Value forms are the same shape), so ECDSA_SIG codes both.
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

// The r and s of a DER signature from OpenSSL, through `emit` (which writes the SSH form).
template <typename Emit>
Result<Bytes> rs_from_der(ByteView der, Emit emit) {
  const uint8_t* p = der.data();
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, long(der.size())));
  if (!sig) return Unexpected(ossl_error("bad signature from OpenSSL"));
  const BIGNUM *r = nullptr, *s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  return emit(r, s);
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

// EVP_DigestSign / EVP_DigestVerify with the digest the algorithm calls for (none for Ed25519,
// which hashes internally: RFC 8032).
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

bool algorithm_fits_key(KeyType type, std::string_view alg) {
  if (type == KeyType::kRsa) return rsa_digest(alg) != nullptr;
  return alg == info(type).name;
}

// A fresh 1024-bit DSA key with a 160-bit q, the only size ssh-dss allows (FIPS 186-2, as
// ssh-keygen -t dsa makes): generate domain parameters, then the key pair from them.
EvpPkeyPtr generate_dsa() {
  EvpPkeyCtxPtr pctx(EVP_PKEY_CTX_new_from_name(nullptr, "DSA", nullptr));
  EVP_PKEY* params = nullptr;
  if (!pctx || EVP_PKEY_paramgen_init(pctx.get()) <= 0 ||
      EVP_PKEY_CTX_set_dsa_paramgen_bits(pctx.get(), kDsaMinBits) <= 0 ||
      EVP_PKEY_CTX_set_dsa_paramgen_q_bits(pctx.get(), kDsaQBits) <= 0 ||
      EVP_PKEY_paramgen(pctx.get(), &params) <= 0)
    return nullptr;
  EvpPkeyPtr param_key(params);
  EvpPkeyCtxPtr kctx(EVP_PKEY_CTX_new_from_pkey(nullptr, param_key.get(), nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!kctx || EVP_PKEY_keygen_init(kctx.get()) <= 0 || EVP_PKEY_keygen(kctx.get(), &pkey) <= 0)
    return nullptr;
  return EvpPkeyPtr(pkey);
}

// ---- OpenSSH private key format (PROTOCOL.key) ----------------------------------------------

constexpr std::string_view kOpensshBegin = "-----BEGIN OPENSSH PRIVATE KEY-----";
constexpr std::string_view kOpensshEnd = "-----END OPENSSH PRIVATE KEY-----";
constexpr std::string_view kOpensshMagic{"openssh-key-v1\0", 15};
constexpr size_t kMaxPrivateBlob = 64 * 1024;

std::string_view trim(std::string_view s) {
  while (!s.empty() && isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// The base64 body between the armour lines, whitespace removed.
Result<Bytes> dearmour(std::string_view text) {
  size_t begin = text.find(kOpensshBegin);
  size_t end = text.find(kOpensshEnd);
  if (begin == text.npos || end == text.npos || end < begin)
    return Unexpected("missing OpenSSH private key armour");
  std::string b64;
  for (char c : text.substr(begin + kOpensshBegin.size(), end - begin - kOpensshBegin.size()))
    if (!isspace(static_cast<unsigned char>(c))) b64 += c;
  Bytes out;
  if (b64.size() > kMaxPrivateBlob * 2 || !base64_decode(b64, out))
    return Unexpected("invalid base64 in OpenSSH private key");
  return out;
}

// Reads one private key record of the decrypted section (PROTOCOL.key "private keys"; the
// per-type fields are those OpenSSH writes: the public fields followed by the secret ones).
Result<EvpPkeyPtr> read_private_record(Reader& r, const KeyTypeInfo& ki) {
  switch (ki.type) {
    case KeyType::kEd25519: {
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
    case KeyType::kEcdsaP256:
    case KeyType::kEcdsaP384:
    case KeyType::kEcdsaP521: {
      if (r.text(64) != ki.curve) return Unexpected("ECDSA curve does not match key type");
      ByteView point = r.string(1 + 2 * ki.field_bytes);
      ByteView d = r.mpint(ki.field_bytes + 1);
      BignumPtr dn = bn_from(d);
      if (!dn) return Unexpected("bad ECDSA private key");
      EvpPkeyPtr key = make_ec_key(ki, point, dn.get());
      if (!key) return Unexpected(ossl_error("bad ECDSA private key"));
      return key;
    }
    case KeyType::kRsa: {
      ByteView n = r.mpint(kMaxMpint), e = r.mpint(kMaxMpint), d = r.mpint(kMaxMpint),
               iqmp = r.mpint(kMaxMpint), p = r.mpint(kMaxMpint), q = r.mpint(kMaxMpint);
      BignumPtr nb = bn_from(n), eb = bn_from(e), db = bn_from(d), ib = bn_from(iqmp),
                pb = bn_from(p), qb = bn_from(q);
      if (!nb || !eb || !db || !ib || !pb || !qb) return Unexpected("bad RSA private key");
      if (BN_num_bits(nb.get()) < kRsaMinBits)
        return Unexpected("RSA key too small (" + std::to_string(BN_num_bits(nb.get())) +
                          " bits, minimum " + std::to_string(kRsaMinBits) + ")");
      if (BN_is_zero(pb.get()) || BN_is_zero(qb.get())) return Unexpected("bad RSA private key");
      EvpPkeyPtr key = make_rsa_key(nb.get(), eb.get(), db.get(), pb.get(), qb.get(), ib.get());
      if (!key) return Unexpected(ossl_error("bad RSA private key"));
      return key;
    }
    case KeyType::kDsa: {
      // PROTOCOL.key / OpenSSH: mpint p, mpint q, mpint g, mpint y, mpint x.
      ByteView p = r.mpint(kMaxMpint), q = r.mpint(kMaxMpint), g = r.mpint(kMaxMpint),
               y = r.mpint(kMaxMpint), x = r.mpint(kMaxMpint);
      BignumPtr pb = bn_from(p), qb = bn_from(q), gb = bn_from(g), yb = bn_from(y), xb = bn_from(x);
      if (!pb || !qb || !gb || !yb || !xb ||
          !dsa_params_sane(pb.get(), qb.get(), gb.get(), yb.get()) || BN_is_zero(xb.get()) ||
          BN_cmp(xb.get(), qb.get()) >= 0)
        return Unexpected("bad DSA private key");
      EvpPkeyPtr key = make_dsa_key(pb.get(), qb.get(), gb.get(), yb.get(), xb.get());
      if (!key) return Unexpected(ossl_error("bad DSA private key"));
      return key;
    }
    case KeyType::kSkEd25519:
    case KeyType::kSkEcdsaP256:
      // The private half lives in the authenticator: nothing here can sign with it.
      return Unexpected("security key private keys are not supported");
  }
  return Unexpected("unsupported key type");
}

// A loaded key pair must be consistent, or signatures made with it would not verify.
bool pair_consistent(EVP_PKEY* pkey) {
  if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519) return true;  // pk derived from the seed
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  bool ok = ctx && EVP_PKEY_pairwise_check(ctx.get()) == 1;
  ERR_clear_error();
  return ok;
}

Result<EvpPkeyPtr> parse_openssh_private(std::string_view text) {
  auto raw = dearmour(text);
  if (!raw) return Unexpected(raw.error());
  try {
    Reader r(*raw);
    if (r.remaining() < kOpensshMagic.size() ||
        as_string(r.raw(kOpensshMagic.size())) != kOpensshMagic)
      return Unexpected("not an openssh-key-v1 private key");
    std::string_view cipher = r.text(64), kdf = r.text(64);
    r.string(1024);  // kdfoptions
    if (cipher != "none" || kdf != "none")
      return Unexpected("key is encrypted (cipher " + std::string(cipher) +
                        "): passphrase-protected host keys are not supported");
    uint32_t nkeys = r.u32();
    if (nkeys != 1) return Unexpected("expected exactly one key in the file");
    ByteView pub_blob = r.string(kMaxPrivateBlob);
    ByteView priv = r.string(kMaxPrivateBlob);
    r.expect_done("OpenSSH private key");
    // With cipher "none" the block size is 8 (PROTOCOL.key).
    if (priv.size() % 8) return Unexpected("private key section has bad padding length");
    Reader pr(priv);
    uint32_t check1 = pr.u32(), check2 = pr.u32();
    if (check1 != check2) return Unexpected("private key check values differ (corrupt key)");
    std::string_view type = pr.text(64);
    const KeyTypeInfo* ki = info_by_name(type);
    if (!ki) return Unexpected("unsupported key type " + std::string(type));
    auto key = read_private_record(pr, *ki);
    if (!key) return key;
    pr.string(kMaxPrivateBlob);  // comment
    // Padding is 1, 2, 3, ... up to the block size.
    for (uint8_t i = 1; !pr.done(); ++i)
      if (pr.u8() != i) return Unexpected("private key section has bad padding");
    KeyType kt{};
    auto derived = public_blob_of(key->get(), kt);
    if (!derived) return Unexpected(derived.error());
    if (*derived != Bytes(pub_blob.begin(), pub_blob.end()))
      return Unexpected("public key does not match the private key");
    if (!pair_consistent(key->get())) return Unexpected("private key is inconsistent");
    return std::move(*key);
  } catch (const ProtocolError& e) {
    return Unexpected(std::string("malformed OpenSSH private key: ") + e.what());
  }
}

// PEM passwords are never prompted for: a host key must load unattended.
int no_password(char*, int, int, void*) {
  return -1;
}

Result<EvpPkeyPtr> parse_pem_private(std::string_view text) {
  if (text.find("ENCRYPTED") != text.npos)
    return Unexpected("key is encrypted: passphrase-protected host keys are not supported");
  BioPtr bio(BIO_new_mem_buf(text.data(), int(text.size())));
  if (!bio) return Unexpected(ossl_error("BIO_new_mem_buf"));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr);
  if (!pkey) return Unexpected(ossl_error("cannot parse PEM private key"));
  return EvpPkeyPtr(pkey);
}

void append_wrapped(std::string& out, std::string_view b64, size_t width) {
  for (size_t i = 0; i < b64.size(); i += width) {
    out += b64.substr(i, width);
    out += '\n';
  }
}

}  // namespace

// ---- PublicKey -------------------------------------------------------------------------------

Result<PublicKey> PublicKey::from_blob(ByteView blob) {
  try {
    Reader r(blob);
    std::string_view name = r.text(64);
    auto key = read_fields(name, r);
    if (key) r.expect_done("public key blob");
    return key;
  } catch (const ProtocolError& e) {
    ERR_clear_error();
    return Unexpected(std::string("malformed public key blob: ") + e.what());
  }
}

Result<PublicKey> PublicKey::read_fields(std::string_view type_name, Reader& r) {
  const KeyTypeInfo* ki = info_by_name(type_name);
  if (!ki) return Unexpected("unknown key type " + std::string(type_name));
  // The fields are kept verbatim for the blob: a copy of the reader marks where they start.
  const Reader start = r;
  PublicKey key;
  EvpPkeyPtr pkey;
  // RFC 5656 §3.1 (and PROTOCOL.u2f for the security key form): the curve identifier must
  // agree with the key type name, and Q is in the uncompressed form (SEC1 2.3.3) OpenSSH uses.
  auto read_ec_point = [&]() -> Result<EvpPkeyPtr> {
    if (r.text(64) != ki->curve) return Unexpected("ECDSA curve does not match key type");
    ByteView point = r.string(1 + 2 * ki->field_bytes);
    if (point.size() != 1 + 2 * ki->field_bytes || point[0] != 0x04)
      return Unexpected("bad ECDSA public point encoding");
    EvpPkeyPtr k = make_ec_key(*ki, point, nullptr);
    if (k && !ec_public_check(k.get())) return Unexpected("ECDSA point is not valid");
    return k;
  };
  auto read_ed25519 = [&]() {
    ByteView pk = r.string(64);  // RFC 8709 §4: exactly 32 bytes
    if (pk.size() != kEd25519KeyLen) return EvpPkeyPtr();
    return EvpPkeyPtr(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pk.data(), pk.size()));
  };
  switch (ki->type) {
    case KeyType::kEd25519:
    case KeyType::kSkEd25519:
      pkey = read_ed25519();
      if (!pkey) return Unexpected("bad Ed25519 public key length");
      break;
    case KeyType::kEcdsaP256:
    case KeyType::kEcdsaP384:
    case KeyType::kEcdsaP521:
    case KeyType::kSkEcdsaP256: {
      auto k = read_ec_point();
      if (!k) return Unexpected(k.error());
      pkey = std::move(*k);
      break;
    }
    case KeyType::kRsa: {
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
      pkey = make_rsa_key(nb.get(), eb.get());
      break;
    }
    case KeyType::kDsa: {
      // RFC 4253 §6.6: mpint p, mpint q, mpint g, mpint y.
      ByteView p = r.mpint(kMaxMpint), q = r.mpint(kMaxMpint), g = r.mpint(kMaxMpint),
               y = r.mpint(kMaxMpint);
      BignumPtr pb = bn_from(p), qb = bn_from(q), gb = bn_from(g), yb = bn_from(y);
      if (!pb || !qb || !gb || !yb) return Unexpected("bad DSA public key");
      if (!dsa_params_sane(pb.get(), qb.get(), gb.get(), yb.get()))
        return Unexpected("bad DSA public key parameters");
      pkey = make_dsa_key(pb.get(), qb.get(), gb.get(), yb.get());
      break;
    }
  }
  // PROTOCOL.u2f: a security key's fields end with string application.
  if (ki->type == KeyType::kSkEd25519 || ki->type == KeyType::kSkEcdsaP256)
    key.m_sk_application = std::string(r.text(kMaxSkApplication));
  if (!pkey) return Unexpected(ossl_error("invalid public key"));
  Reader fields = start;
  Writer w;
  w.string(ki->name).raw(fields.raw(start.remaining() - r.remaining()));
  key.m_type = ki->type;
  key.m_blob = w.take();
  key.m_pkey = std::shared_ptr<EVP_PKEY>(pkey.release(), EVP_PKEY_free);
  return key;
}

Result<OpensshPublicText> split_openssh_public_text(std::string_view line, size_t max_base64) {
  line = trim(line);
  size_t sp = line.find_first_of(" \t");
  if (sp == line.npos) return Unexpected("no key data after the key type");
  std::string_view rest = trim(line.substr(sp));
  std::string_view b64 = rest.substr(0, rest.find_first_of(" \t"));
  OpensshPublicText out;
  out.type = std::string(line.substr(0, sp));
  if (b64.size() > max_base64 || !base64_decode(b64, out.blob))
    return Unexpected("invalid base64 key data");
  return out;
}

Result<PublicKey> PublicKey::from_openssh_text(std::string_view line) {
  auto text = split_openssh_public_text(line, 4 * kMaxWireString / 3);
  if (!text) return Unexpected("public key line: " + text.error().message);
  auto key = from_blob(text->blob);
  if (!key) return key;
  if (key->type_name() != text->type)
    return Unexpected("key type " + text->type + " does not match the key data (" +
                      std::string(key->type_name()) + ")");
  return key;
}

std::string_view PublicKey::type_name() const {
  return info(m_type).name;
}
std::string_view PublicKey::log_name() const {
  return info(m_type).log_name;
}

size_t PublicKey::bits() const {
  if (m_type == KeyType::kEd25519 || m_type == KeyType::kSkEd25519) return 256;
  return m_pkey ? size_t(EVP_PKEY_get_bits(m_pkey.get())) : 0;
}

std::string PublicKey::fingerprint_sha256() const {
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(m_blob.data(), m_blob.size(), md, &len, EVP_sha256(), nullptr);
  return "SHA256:" + base64_encode(ByteView(md, len), false);
}

std::string PublicKey::to_openssh_text() const {
  return std::string(type_name()) + " " + base64_encode(m_blob);
}

std::vector<std::string> PublicKey::signature_algorithms() const {
  if (m_type == KeyType::kRsa) return {"rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"};
  return {info(m_type).name};
}

bool PublicKey::verify(ByteView signature, ByteView data, std::string* alg_out,
                       SkSignature* sk_out) const {
  if (!m_pkey) return false;
  try {
    Reader r(signature);
    std::string_view alg = r.text(64);
    ByteView sig = r.string(kMaxMpint + 1024);
    SkSignature sk;
    if (is_security_key()) {
      // PROTOCOL.u2f: security key signatures append byte flags, uint32 counter.
      sk.flags = r.u8();
      sk.counter = r.u32();
    }
    r.expect_done("signature");
    if (alg_out) *alg_out = std::string(alg);
    if (!algorithm_fits_key(m_type, alg)) return false;
    switch (m_type) {
      case KeyType::kEd25519:
        // RFC 8709 §6: the signature is exactly 64 bytes.
        return sig.size() == kEd25519SigLen && evp_verify(m_pkey.get(), nullptr, sig, data);
      case KeyType::kEcdsaP256:
      case KeyType::kEcdsaP384:
      case KeyType::kEcdsaP521: {
        auto der = ecdsa_ssh_to_der(sig, info(m_type).field_bytes);
        return der && evp_verify(m_pkey.get(), info(m_type).digest, *der, data);
      }
      case KeyType::kRsa: {
        // RFC 8332 §3 requires the full modulus length, but some implementations drop leading
        // zero bytes; restore them rather than refuse a valid signature.
        size_t modlen = size_t(EVP_PKEY_get_size(m_pkey.get()));
        if (sig.empty() || sig.size() > modlen) return false;
        Bytes padded(modlen - sig.size(), 0);
        padded.insert(padded.end(), sig.begin(), sig.end());
        return evp_verify(m_pkey.get(), rsa_digest(alg), padded, data);
      }
      case KeyType::kDsa: {
        auto der = dsa_ssh_to_der(sig);
        return der && evp_verify(m_pkey.get(), "SHA1", *der, data);
      }
      case KeyType::kSkEd25519:
      case KeyType::kSkEcdsaP256: {
        // PROTOCOL.u2f: the authenticator signs SHA256(application) || flags || counter ||
        // SHA256(message); no extensions are defined, so none are accepted.
        uint8_t app_hash[32], msg_hash[32];
        SHA256(reinterpret_cast<const uint8_t*>(m_sk_application.data()), m_sk_application.size(),
               app_hash);
        SHA256(data.data(), data.size(), msg_hash);
        Writer signed_blob;
        signed_blob.raw(ByteView(app_hash, 32)).u8(sk.flags).u32(sk.counter);
        signed_blob.raw(ByteView(msg_hash, 32));
        bool ok = false;
        if (m_type == KeyType::kSkEd25519) {
          ok = sig.size() == kEd25519SigLen &&
               evp_verify(m_pkey.get(), nullptr, sig, signed_blob.buffer());
        } else {
          auto der = ecdsa_ssh_to_der(sig, info(m_type).field_bytes);
          ok = der && evp_verify(m_pkey.get(), "SHA256", *der, signed_blob.buffer());
        }
        if (!ok) return false;
        if (sk_out) {
          *sk_out = sk;
          return true;
        }
        return (sk.flags & SkSignature::kUserPresent) != 0;
      }
    }
  } catch (const ProtocolError&) {
  }
  return false;
}

// ---- PrivateKey ------------------------------------------------------------------------------

PrivateKey::PrivateKey(PublicKey pub, EvpPkeyPtr key)
    : m_public(std::move(pub)), m_pkey(key.release(), EVP_PKEY_free) {}

Result<PrivateKey> PrivateKey::parse(std::string_view text) {
  Result<EvpPkeyPtr> key =
      text.find(kOpensshBegin) != text.npos ? parse_openssh_private(text) : parse_pem_private(text);
  if (!key) return Unexpected(key.error());
  KeyType kt{};
  auto blob = public_blob_of(key->get(), kt);
  if (!blob) return Unexpected(blob.error());
  // from_blob applies the public checks (RSA size, EC point) to keys from every format.
  auto pub = PublicKey::from_blob(*blob);
  if (!pub) return Unexpected(pub.error());
  if (!pair_consistent(key->get())) return Unexpected("private key is inconsistent");
  return PrivateKey(std::move(*pub), std::move(*key));
}

Result<PrivateKey> PrivateKey::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unexpected(path + ": " + std::strerror(errno));
  std::string text;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, size_t(in.gcount()));
    if (text.size() > 4 * kMaxPrivateBlob) return Unexpected(path + ": file too large");
  }
  auto key = parse(text);
  OPENSSL_cleanse(text.data(), text.size());
  if (!key) return Unexpected(path + ": " + key.error().message);
  return key;
}

Result<PrivateKey> PrivateKey::generate(KeyType type, int rsa_bits) {
  EVP_PKEY* pkey = nullptr;
  switch (type) {
    case KeyType::kEd25519:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
    case KeyType::kEcdsaP256:
    case KeyType::kEcdsaP384:
    case KeyType::kEcdsaP521:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", info(type).group);
      break;
    case KeyType::kRsa:
      if (rsa_bits < kRsaMinBits || rsa_bits > kRsaMaxBits)
        return Unexpected("unsupported RSA key size " + std::to_string(rsa_bits));
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t(rsa_bits));
      break;
    case KeyType::kDsa:
      pkey = generate_dsa().release();
      break;
    case KeyType::kSkEd25519:
    case KeyType::kSkEcdsaP256:
      return Unexpected("security keys are made by their authenticator");
  }
  if (!pkey) return Unexpected(ossl_error("key generation failed"));
  EvpPkeyPtr key(pkey);
  KeyType kt{};
  auto blob = public_blob_of(key.get(), kt);
  if (!blob) return Unexpected(blob.error());
  auto pub = PublicKey::from_blob(*blob);
  if (!pub) return Unexpected(pub.error());
  return PrivateKey(std::move(*pub), std::move(key));
}

std::string PrivateKey::to_openssh_text(std::string_view comment) const {
  // PROTOCOL.key: the private section, padded to the cipher block size (8 for "none").
  SecretWriter pw;
  uint32_t check = 0;
  RAND_bytes(reinterpret_cast<uint8_t*>(&check), sizeof check);
  pw.u32(check).u32(check);
  EVP_PKEY* pkey = m_pkey.get();
  const KeyTypeInfo& ki = info(type());
  pw.string(ki.name);
  switch (type()) {
    case KeyType::kEd25519: {
      SecretBytes sk(2 * kEd25519KeyLen);
      size_t len = kEd25519KeyLen;
      EVP_PKEY_get_raw_private_key(pkey, sk.data(), &len);
      len = kEd25519KeyLen;
      EVP_PKEY_get_raw_public_key(pkey, sk.data() + kEd25519KeyLen, &len);
      pw.string(sk.view().subspan(kEd25519KeyLen)).string(sk.view());
      break;
    }
    case KeyType::kEcdsaP256:
    case KeyType::kEcdsaP384:
    case KeyType::kEcdsaP521: {
      BignumPtr d = get_bn(pkey, OSSL_PKEY_PARAM_PRIV_KEY);
      SecretBytes db(size_t(d ? BN_num_bytes(d.get()) : 0));
      if (d) BN_bn2bin(d.get(), db.data());
      pw.string(ki.curve).string(ByteView(ec_point(pkey, ki))).mpint_unsigned(db);
      break;
    }
    case KeyType::kRsa:
    case KeyType::kDsa: {
      // PROTOCOL.key records: RSA n e d iqmp p q; DSA p q g y x; all as mpints.
      std::vector<const char*> names;
      if (ki.type == KeyType::kRsa)
        names = {OSSL_PKEY_PARAM_RSA_N,       OSSL_PKEY_PARAM_RSA_E,
                 OSSL_PKEY_PARAM_RSA_D,       OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
                 OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2};
      else
        names = {OSSL_PKEY_PARAM_FFC_P, OSSL_PKEY_PARAM_FFC_Q, OSSL_PKEY_PARAM_FFC_G,
                 OSSL_PKEY_PARAM_PUB_KEY, OSSL_PKEY_PARAM_PRIV_KEY};
      for (const char* name : names) {
        BignumPtr bn = get_bn(pkey, name);
        SecretBytes b(size_t(bn ? BN_num_bytes(bn.get()) : 0));
        if (bn) BN_bn2bin(bn.get(), b.data());
        pw.mpint_unsigned(b);
      }
      break;
    }
    case KeyType::kSkEd25519:
    case KeyType::kSkEcdsaP256:
      break;  // never held by a PrivateKey (parse and generate refuse them)
  }
  pw.string(comment);
  for (uint8_t pad = 1; pw.size() % 8; ++pad) pw.u8(pad);

  SecretWriter w;
  w.raw(as_bytes(kOpensshMagic)).string("none").string("none").string("").u32(1);
  w.string(ByteView(m_public.blob())).string(pw.buffer().view());
  std::string b64 = base64_encode(w.buffer().view());
  std::string out(kOpensshBegin);
  out += '\n';
  append_wrapped(out, b64, 70);
  OPENSSL_cleanse(b64.data(), b64.size());
  out += kOpensshEnd;
  out += '\n';
  return out;
}

Result<Bytes> PrivateKey::sign(std::string_view algorithm, ByteView data) const {
  if (!algorithm_fits_key(type(), algorithm))
    return Unexpected("signature algorithm " + std::string(algorithm) + " does not fit a " +
                      std::string(m_public.type_name()) + " key");
  Result<Bytes> sig = Unexpected("unsupported key type");
  switch (type()) {
    case KeyType::kEd25519:
      sig = evp_sign(m_pkey.get(), nullptr, data);
      break;
    case KeyType::kEcdsaP256:
    case KeyType::kEcdsaP384:
    case KeyType::kEcdsaP521: {
      auto der = evp_sign(m_pkey.get(), info(type()).digest, data);
      sig = der ? ecdsa_der_to_ssh(*der) : der;
      break;
    }
    case KeyType::kRsa:
      sig = evp_sign(m_pkey.get(), rsa_digest(algorithm), data);
      break;
    case KeyType::kDsa: {
      auto der = evp_sign(m_pkey.get(), "SHA1", data);
      sig = der ? dsa_der_to_ssh(*der) : der;
      break;
    }
    case KeyType::kSkEd25519:
    case KeyType::kSkEcdsaP256:
      break;  // never held by a PrivateKey
  }
  if (!sig) return sig;
  Writer w;
  w.string(algorithm).string(ByteView(*sig));
  return w.take();
}

}  // namespace postern
