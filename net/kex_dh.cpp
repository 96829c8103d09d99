// Finite-field DH for SSH (RFC 4253 §8) through OpenSSL's EVP DH keys. Public values e and f
// are exchanged as mpints; this file sees their two's-complement contents (net/kex_method.h).
#include "net/kex_dh.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/params.h>

#include <algorithm>
#include <string>

#include "common/ossl.h"
#include "net/kex_shared_secret.h"

namespace postern::net {
namespace {

using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OsslFree<OSSL_PARAM_BLD_free>>;
using ParamsPtr = std::unique_ptr<OSSL_PARAM, OsslFree<OSSL_PARAM_free>>;

BignumPtr bn_from(ByteView magnitude) {
  return BignumPtr(BN_bin2bn(magnitude.data(), int(magnitude.size()), nullptr));
}

Bytes bn_to_bytes(const BIGNUM* bn) {
  Bytes out(size_t(BN_num_bytes(bn)));
  BN_bn2bin(bn, out.data());
  return out;
}

// The contents of an mpint holding a non-negative value (RFC 4251 §5): big-endian, a leading
// zero byte only when the top bit would otherwise be set.
Bytes mpint_contents(const BIGNUM* bn) {
  Bytes mag = bn_to_bytes(bn);
  if (!mag.empty() && (mag[0] & 0x80)) mag.insert(mag.begin(), 0);
  return mag;
}

// A key-exchange object over one group. The domain parameters are built once; our key is
// generated on first use; the peer's value becomes an EVP key over the same domain.
class DhKex final : public EphemeralKexMethod {
 public:
  DhKex(std::string name, const EVP_MD* md, BignumPtr p, BignumPtr g)
      : m_name(std::move(name)), m_md(md), m_p(std::move(p)), m_g(std::move(g)) {}

  std::string_view name() const override { return m_name; }
  const EVP_MD* hash() const override { return m_md; }
  bool public_is_mpint() const override { return true; }

 private:
  // p and g, and optionally a public value, as OSSL_PARAMs for EVP_PKEY_fromdata.
  ParamsPtr domain_params(const BIGNUM* pub) const {
    ParamBldPtr bld(OSSL_PARAM_BLD_new());
    if (!bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_FFC_P, m_p.get()) ||
        !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_FFC_G, m_g.get()) ||
        (pub && !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub)))
      return nullptr;
    return ParamsPtr(OSSL_PARAM_BLD_to_param(bld.get()));
  }

  EvpPkeyPtr key_from(const BIGNUM* pub) const {
    ParamsPtr params = domain_params(pub);
    if (!params) return nullptr;
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr));
    EVP_PKEY* key = nullptr;
    if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
        EVP_PKEY_fromdata(ctx.get(), &key, pub ? EVP_PKEY_PUBLIC_KEY : EVP_PKEY_KEY_PARAMETERS,
                          params.get()) <= 0)
      return nullptr;
    return EvpPkeyPtr(key);
  }

  bool has_key() const override { return bool(m_key); }
  Result<void> ensure_key() override {
    if (m_key) return {};
    EvpPkeyPtr domain = key_from(nullptr);
    if (!domain) return Unexpected(ossl_error("dh: domain parameters"));
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, domain.get(), nullptr));
    // Without a length OpenSSL would draw a full-size exponent for groups whose order it does
    // not know (every group from moduli); a short one is as strong and far cheaper (RFC 3526 §8).
    int priv_len = dh_exponent_bits(BN_num_bits(m_p.get()));
    OSSL_PARAM gen_params[] = {
        OSSL_PARAM_construct_int(OSSL_PKEY_PARAM_DH_PRIV_LEN, &priv_len),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY* key = nullptr;
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0 ||
        EVP_PKEY_CTX_set_params(ctx.get(), gen_params) <= 0 ||
        EVP_PKEY_generate(ctx.get(), &key) <= 0)
      return Unexpected(ossl_error("dh: key generation"));
    m_key.reset(key);
    return {};
  }

  Bytes our_public() const override {
    BIGNUM* raw = nullptr;
    if (EVP_PKEY_get_bn_param(m_key.get(), OSSL_PKEY_PARAM_PUB_KEY, &raw) <= 0) return {};
    BignumPtr pub(raw);
    return mpint_contents(pub.get());
  }

  // The peer's e or f must be a well-formed positive mpint with 1 < value < p-1 (RFC 4253 §8:
  // "values not in the range [1, p-1] MUST NOT be sent or accepted"; 1 and p-1 are excluded
  // too because they confine K to a subgroup of order at most 2).
  Result<BignumPtr> parse_peer(ByteView value) const {
    size_t p_bytes = size_t(BN_num_bytes(m_p.get()));
    if (value.empty()) return Unexpected("dh: peer value is zero");
    if (value.size() > p_bytes + 1) return Unexpected("dh: peer value is too large");
    if (value[0] & 0x80) return Unexpected("dh: peer value is negative");
    if (value[0] == 0 && (value.size() == 1 || !(value[1] & 0x80)))
      return Unexpected("dh: peer value is not a minimal mpint");
    BignumPtr v = bn_from(value);
    BignumPtr p_minus_1(BN_dup(m_p.get()));
    if (!v || !p_minus_1 || !BN_sub_word(p_minus_1.get(), 1))
      return Unexpected(ossl_error("dh: bignum"));
    if (BN_cmp(v.get(), BN_value_one()) <= 0 || BN_cmp(v.get(), p_minus_1.get()) >= 0)
      return Unexpected("dh: peer value out of range");
    return v;
  }

  Result<SecretBytes> agree(ByteView peer_public) override {
    auto value = parse_peer(peer_public);
    if (!value) return Unexpected(value.error());
    EvpPkeyPtr peer = key_from(value->get());
    if (!peer) return Unexpected(ossl_error("dh: peer value rejected"));
    auto raw = evp_derive(m_key.get(), peer.get());
    if (!raw) return Unexpected("dh: " + raw.error().message);
    return encode_mpint_secret(*raw);
  }

  std::string m_name;
  const EVP_MD* m_md;
  BignumPtr m_p;
  BignumPtr m_g;
  EvpPkeyPtr m_key;
};

struct FixedMethod {
  std::string_view name;
  int group;
  const EVP_MD* (*md)();
};

// RFC 8268 §3 (group14-sha256, 16-sha512, 18-sha512) and RFC 4253 §8.1, §8.2 (the SHA-1 ones,
// kept only for old peers and never offered by default).
constexpr FixedMethod kFixedMethods[] = {
    {"diffie-hellman-group14-sha256", 14, EVP_sha256},
    {"diffie-hellman-group16-sha512", 16, EVP_sha512},
    {"diffie-hellman-group18-sha512", 18, EVP_sha512},
    {"diffie-hellman-group14-sha1", 14, EVP_sha1},
    {"diffie-hellman-group1-sha1", 1, EVP_sha1},
};

}  // namespace

size_t DhGroup::bits() const {
  size_t i = 0;
  while (i < p.size() && p[i] == 0) ++i;
  if (i == p.size()) return 0;
  size_t bits = (p.size() - i - 1) * 8;
  for (uint8_t top = p[i]; top; top >>= 1) ++bits;
  return bits;
}

std::optional<DhGroup> builtin_dh_group(int id) {
  BIGNUM* (*get)(BIGNUM*) = nullptr;
  switch (id) {
    case 1:
      get = BN_get_rfc2409_prime_1024;
      break;
    case 14:
      get = BN_get_rfc3526_prime_2048;
      break;
    case 16:
      get = BN_get_rfc3526_prime_4096;
      break;
    case 18:
      get = BN_get_rfc3526_prime_8192;
      break;
    default:
      return std::nullopt;
  }
  BignumPtr p(get(nullptr));
  if (!p) return std::nullopt;
  return DhGroup{bn_to_bytes(p.get()), Bytes{2}};
}

int dh_exponent_bits(int p_bits) {
  // RFC 3526 §8, "exponent size" for the larger strength estimate of each modulus size.
  struct Row {
    int modulus;
    int exponent;
  };
  static constexpr Row kTable[] = {{8192, 620}, {6144, 540}, {4096, 480},
                                   {3072, 420}, {2048, 320}, {1536, 240}};
  int bits = 512;
  for (const auto& row : kTable) {
    if (p_bits >= row.modulus) {
      bits = std::max(bits, row.exponent);
      break;
    }
  }
  // An exponent must stay below the modulus; only relevant to toy sizes in tests.
  return std::min(bits, p_bits - 1);
}

std::unique_ptr<KexMethod> make_dh_kex(std::string_view name, const EVP_MD* hash, ByteView p,
                                       ByteView g) {
  if (!hash) return nullptr;
  BignumPtr bp = bn_from(p), bg = bn_from(g);
  if (!bp || !bg) return nullptr;
  int bits = BN_num_bits(bp.get());
  if (bits < kDhMinModulusBits || bits > kDhMaxModulusBits || !BN_is_odd(bp.get())) return nullptr;
  // 1 < g < p-1: g = 1 or p-1 generates a subgroup of order at most 2.
  BignumPtr p_minus_1(BN_dup(bp.get()));
  if (!p_minus_1 || !BN_sub_word(p_minus_1.get(), 1)) return nullptr;
  if (BN_cmp(bg.get(), BN_value_one()) <= 0 || BN_cmp(bg.get(), p_minus_1.get()) >= 0)
    return nullptr;
  return std::make_unique<DhKex>(std::string(name), hash, std::move(bp), std::move(bg));
}

std::unique_ptr<KexMethod> make_fixed_dh_kex(std::string_view name) {
  for (const auto& m : kFixedMethods) {
    if (m.name != name) continue;
    auto group = builtin_dh_group(m.group);
    if (!group) return nullptr;
    return make_dh_kex(m.name, m.md(), group->p, group->g);
  }
  return nullptr;
}

}  // namespace postern::net
