// X25519 key agreement for SSH (RFC 8731 over RFC 7748), through OpenSSL's EVP X25519 keys.
#include "net/kex_curve25519.h"

#include <openssl/crypto.h>

#include "common/ossl.h"
#include "net/kex_shared_secret.h"

namespace postern::net {
namespace {

class Curve25519Kex final : public EphemeralKexMethod {
 public:
  Curve25519Kex(std::string_view name, EvpPkeyPtr fixed_key)
      : m_name(name), m_key(std::move(fixed_key)) {}

  std::string_view name() const override { return m_name; }
  const EVP_MD* hash() const override { return EVP_sha256(); }

 private:
  bool has_key() const override { return bool(m_key); }
  Result<void> ensure_key() override {
    if (m_key) return {};
    m_key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
    if (!m_key) return Unexpected(ossl_error("X25519 key generation"));
    return {};
  }

  Bytes our_public() const override {
    Bytes pub(kX25519KeySize);
    size_t len = pub.size();
    if (EVP_PKEY_get_raw_public_key(m_key.get(), pub.data(), &len) <= 0 || len != pub.size())
      return {};
    return pub;
  }

  // RFC 8731 §3: the peer's value must be exactly 32 bytes; the all-zero output of X25519 (a
  // low-order peer point) must be refused; K is the 32 output bytes read as a big-endian
  // unsigned integer and encoded as an mpint (§3.1).
  Result<SecretBytes> agree(ByteView peer_public) override {
    if (peer_public.size() != kX25519KeySize)
      return Unexpected("curve25519: peer public key is not 32 bytes");
    EvpPkeyPtr peer(EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr, peer_public.data(),
                                                   peer_public.size()));
    if (!peer) return Unexpected(ossl_error("curve25519: bad peer public key"));
    auto raw = evp_derive(m_key.get(), peer.get());
    if (!raw) return Unexpected("curve25519: " + raw.error().message);
    if (raw->size() != kX25519KeySize) return Unexpected("curve25519: unexpected secret length");
    static const uint8_t kZero[kX25519KeySize] = {};
    if (CRYPTO_memcmp(raw->data(), kZero, kX25519KeySize) == 0)
      return Unexpected("curve25519: shared secret is zero");
    return encode_mpint_secret(*raw);
  }

  std::string_view m_name;
  EvpPkeyPtr m_key;
};

constexpr std::string_view kNames[] = {"curve25519-sha256", "curve25519-sha256@libssh.org"};

const std::string_view* find_name(std::string_view name) {
  for (const auto& n : kNames)
    if (n == name) return &n;
  return nullptr;
}

}  // namespace

std::unique_ptr<KexMethod> make_curve25519_kex(std::string_view name) {
  const auto* n = find_name(name);
  if (!n) return nullptr;
  return std::make_unique<Curve25519Kex>(*n, nullptr);
}

std::unique_ptr<KexMethod> make_curve25519_kex_for_test(std::string_view name,
                                                        ByteView private_key) {
  const auto* n = find_name(name);
  if (!n || private_key.size() != kX25519KeySize) return nullptr;
  EvpPkeyPtr key(EVP_PKEY_new_raw_private_key_ex(nullptr, "X25519", nullptr, private_key.data(),
                                                 private_key.size()));
  if (!key) return nullptr;
  return std::make_unique<Curve25519Kex>(*n, std::move(key));
}

}  // namespace postern::net
