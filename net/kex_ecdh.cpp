// Ephemeral ECDH on the NIST curves for SSH (RFC 5656 §4). Q_C and Q_S travel as SEC1
// uncompressed points (RFC 5656 §3.1); K is the x coordinate of the shared point as an mpint.
#include "net/kex_ecdh.h"

#include <openssl/core_names.h>
#include <openssl/params.h>

#include "common/ossl.h"
#include "net/kex_shared_secret.h"

namespace postern::net {
namespace {

struct Curve {
  std::string_view method;
  const char* group;  // OpenSSL group name
  size_t field_bytes;
  const EVP_MD* (*md)();
};

// RFC 5656 §6.2.1: the hash follows the curve size.
constexpr Curve kCurves[] = {
    {"ecdh-sha2-nistp256", "P-256", 32, EVP_sha256},
    {"ecdh-sha2-nistp384", "P-384", 48, EVP_sha384},
    {"ecdh-sha2-nistp521", "P-521", 66, EVP_sha512},
};

class EcdhKex final : public EphemeralKexMethod {
 public:
  explicit EcdhKex(const Curve& curve) : m_curve(curve) {}

  std::string_view name() const override { return m_curve.method; }
  const EVP_MD* hash() const override { return m_curve.md(); }

 private:
  size_t point_size() const { return 1 + 2 * m_curve.field_bytes; }

  bool has_key() const override { return bool(m_key); }
  Result<void> ensure_key() override {
    if (m_key) return {};
    m_key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", m_curve.group));
    if (!m_key) return Unexpected(ossl_error("ecdh key generation"));
    return {};
  }

  Bytes our_public() const override {
    Bytes pub(point_size());
    size_t len = 0;
    if (EVP_PKEY_get_octet_string_param(m_key.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub.data(),
                                        pub.size(), &len) <= 0 ||
        len != pub.size() || pub[0] != 0x04)
      return {};
    return pub;
  }

  // RFC 5656 §4 requires the receiver to validate the peer's point (SEC1 §3.2.2.1); OpenSSL
  // checks it lies on the curve when decoding and runs the full public-key check (not the point
  // at infinity, correct order) in evp_derive. Compressed points are refused: §3.1 only
  // mandates the uncompressed form and no SSH implementation sends anything else.
  Result<SecretBytes> agree(ByteView peer_public) override {
    if (peer_public.size() != point_size() || peer_public[0] != 0x04)
      return Unexpected("ecdh: peer public key is not an uncompressed point");
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                         const_cast<char*>(m_curve.group), 0),
        OSSL_PARAM_construct_octet_string(
            OSSL_PKEY_PARAM_PUB_KEY, const_cast<uint8_t*>(peer_public.data()), peer_public.size()),
        OSSL_PARAM_construct_end(),
    };
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    EVP_PKEY* raw_peer = nullptr;
    if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
        EVP_PKEY_fromdata(ctx.get(), &raw_peer, EVP_PKEY_PUBLIC_KEY, params) <= 0)
      return Unexpected(ossl_error("ecdh: peer point is not on the curve"));
    EvpPkeyPtr peer(raw_peer);
    auto raw = evp_derive(m_key.get(), peer.get());
    if (!raw) return Unexpected("ecdh: " + raw.error().message);
    if (raw->size() != m_curve.field_bytes) return Unexpected("ecdh: unexpected secret length");
    return encode_mpint_secret(*raw);
  }

  const Curve& m_curve;
  EvpPkeyPtr m_key;
};

}  // namespace

std::unique_ptr<KexMethod> make_ecdh_kex(std::string_view name) {
  for (const auto& c : kCurves)
    if (c.method == name) return std::make_unique<EcdhKex>(c);
  return nullptr;
}

}  // namespace postern::net
