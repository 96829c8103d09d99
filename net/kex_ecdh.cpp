// Ephemeral ECDH on the NIST curves for SSH (RFC 5656 §4). Q_C and Q_S travel as SEC1
// uncompressed points (RFC 5656 §3.1); K is the x coordinate of the shared point as an mpint.
#include "net/kex_ecdh.h"

#include <string>

#include "common/ossl.h"
#include "net/ec_point_exchange.h"
#include "net/kex_shared_secret.h"

namespace postern::net {
namespace {

struct Curve {
  std::string_view method;
  EcGroup group;
  const EVP_MD* (*md)();
};

// RFC 5656 §6.2.1: the hash follows the curve size.
constexpr Curve kCurves[] = {
    {"ecdh-sha2-nistp256", {"P-256", 32}, EVP_sha256},
    {"ecdh-sha2-nistp384", {"P-384", 48}, EVP_sha384},
    {"ecdh-sha2-nistp521", {"P-521", 66}, EVP_sha512},
};

class EcdhKex final : public EphemeralKexMethod {
 public:
  explicit EcdhKex(const Curve& curve) : m_curve(curve) {}

  std::string_view name() const override { return m_curve.method; }
  const EVP_MD* hash() const override { return m_curve.md(); }

 private:
  bool has_key() const override { return bool(m_key); }
  Result<void> ensure_key() override {
    if (m_key) return {};
    auto key = ec_ephemeral_key(m_curve.group);
    if (!key) return Unexpected("ecdh: " + key.error().message);
    m_key = std::move(*key);
    return {};
  }

  Bytes our_public() const override {
    Bytes pub(m_curve.group.point_size());
    if (!ec_public_point(m_key.get(), m_curve.group, pub)) return {};
    return pub;
  }

  // RFC 5656 §4: the peer's point is validated (ec_shared_x); K is its x coordinate as an mpint.
  Result<SecretBytes> agree(ByteView peer_public) override {
    auto x = ec_shared_x(m_key.get(), m_curve.group, peer_public);
    if (!x) return Unexpected("ecdh: " + x.error().message);
    return encode_mpint_secret(*x);
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
