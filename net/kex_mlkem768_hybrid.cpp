// mlkem768x25519-sha256 and mlkem768nistp256-sha256 (draft-ietf-sshm-mlkem-hybrid-kex): the
// client sends a fresh ML-KEM-768 encapsulation key and a classical ephemeral public key; the
// server encapsulates to the former, answers with the ciphertext and its own classical key, and
// both hash the two shared secrets together.
#include "net/kex_mlkem768_hybrid.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <string>

#include "common/ossl.h"
#include "net/ec_point_exchange.h"
#include "net/kex_shared_secret.h"
#include "net/mlkem768.h"

namespace postern::net {
namespace {

constexpr size_t kSha256Size = 32;

// The classical half. X25519 keys are the raw 32 bytes (RFC 7748 §6.1); P-256 public keys are
// SEC1 uncompressed points and its shared secret is the 32-byte x coordinate (the draft's
// ECDH_P256, as RFC 5656 uses it), kept at full length: K's input is fixed-size bytes, not an
// mpint.
struct Classical {
  std::string_view method;
  const EcGroup* ec;  // the NIST curve, or nullptr for X25519
  size_t public_size;
  size_t secret_size;
};

constexpr EcGroup kP256Group = {"P-256", 32};
constexpr Classical kX25519 = {kMlkem768X25519Name, nullptr, 32, 32};
constexpr Classical kP256 = {kMlkem768NistP256Name, &kP256Group, kP256Group.point_size(),
                             kP256Group.field_bytes};

class Mlkem768HybridKex final : public KexMethod {
 public:
  explicit Mlkem768HybridKex(const Classical& classical) : m_classical(classical) {}

  std::string_view name() const override { return m_classical.method; }
  const EVP_MD* hash() const override { return EVP_sha256(); }

  Result<KexServerResult> server_respond(ByteView client_public) override {
    const size_t expected = mlkem768::kEncapsulationKeySize + m_classical.public_size;
    if (client_public.size() != expected) {
      return Unexpected(std::string(name()) + ": client public value is " +
                        std::to_string(client_public.size()) + " bytes, expected " +
                        std::to_string(expected));
    }
    ByteView encapsulation_key = client_public.first(mlkem768::kEncapsulationKeySize);
    ByteView peer_classical = client_public.subspan(mlkem768::kEncapsulationKeySize);
    if (auto r = ensure_key(); !r) return Unexpected(r.error());
    auto classical = agree(peer_classical);
    if (!classical) return Unexpected(classical.error());

    KexServerResult result;
    result.server_public.resize(mlkem768::kCiphertextSize + m_classical.public_size);
    SecretBytes post_quantum(mlkem768::kSharedSecretSize);
    // FIPS 203 §7.2's modulus check: a key with a coefficient >= q is refused, not used.
    if (!mlkem768::encapsulate(
            MutableByteView(result.server_public.data(), mlkem768::kCiphertextSize),
            post_quantum.mutable_view(), encapsulation_key))
      return Unexpected(std::string(name()) + ": client's ML-KEM key fails the modulus check");
    if (auto r =
            our_public(MutableByteView(result.server_public).subspan(mlkem768::kCiphertextSize));
        !r)
      return Unexpected(r.error());
    auto k = combine(post_quantum, *classical);
    if (!k) return Unexpected(k.error());
    result.shared_secret = std::move(*k);
    return result;
  }

  Bytes client_public() override {
    if (!ensure_key()) return {};
    Bytes out(mlkem768::kEncapsulationKeySize + m_classical.public_size);
    m_decapsulation_key = SecretBytes(mlkem768::kDecapsulationKeySize);
    mlkem768::keygen(MutableByteView(out.data(), mlkem768::kEncapsulationKeySize),
                     m_decapsulation_key.mutable_view());
    if (!our_public(MutableByteView(out).subspan(mlkem768::kEncapsulationKeySize))) return {};
    return out;
  }

  Result<SecretBytes> client_finish(ByteView server_public) override {
    if (m_decapsulation_key.empty())
      return Unexpected(std::string(name()) + ": client_finish before client_public");
    const size_t expected = mlkem768::kCiphertextSize + m_classical.public_size;
    if (server_public.size() != expected) {
      return Unexpected(std::string(name()) + ": server public value is " +
                        std::to_string(server_public.size()) + " bytes, expected " +
                        std::to_string(expected));
    }
    auto classical = agree(server_public.subspan(mlkem768::kCiphertextSize));
    if (!classical) return Unexpected(classical.error());
    SecretBytes post_quantum(mlkem768::kSharedSecretSize);
    mlkem768::decapsulate(post_quantum.mutable_view(), m_decapsulation_key,
                          server_public.first(mlkem768::kCiphertextSize));
    m_decapsulation_key.clear();
    return combine(post_quantum, *classical);
  }

 private:
  Result<void> ensure_key() {
    if (m_key) return {};
    if (m_classical.ec) {
      auto key = ec_ephemeral_key(*m_classical.ec);
      if (!key) return Unexpected("mlkem768 hybrid: classical " + key.error().message);
      m_key = std::move(*key);
      return {};
    }
    m_key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
    if (!m_key) return Unexpected(ossl_error("mlkem768 hybrid: classical key generation"));
    return {};
  }

  Result<void> our_public(MutableByteView out) const {
    if (m_classical.ec) {
      if (auto r = ec_public_point(m_key.get(), *m_classical.ec, out); !r)
        return Unexpected("mlkem768 hybrid: classical " + r.error().message);
      return {};
    }
    size_t len = out.size();
    if (EVP_PKEY_get_raw_public_key(m_key.get(), out.data(), &len) <= 0 ||
        len != m_classical.public_size)
      return Unexpected(ossl_error("mlkem768 hybrid: classical public key"));
    return {};
  }

  // The classical shared secret from the peer's value: for P-256, the x coordinate of the
  // shared point after the peer's point is validated (RFC 5656 §4, ec_shared_x); for X25519, the
  // raw output, an all-zero one (from a low-order point) refused as RFC 8731 §3 does.
  Result<SecretBytes> agree(ByteView peer_public) const {
    if (peer_public.size() != m_classical.public_size)
      return Unexpected(std::string(name()) + ": bad classical public key length");
    if (m_classical.ec) {
      auto x = ec_shared_x(m_key.get(), *m_classical.ec, peer_public);
      if (!x) return Unexpected(std::string(name()) + ": " + x.error().message);
      return x;
    }
    EvpPkeyPtr peer(EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr, peer_public.data(),
                                                   peer_public.size()));
    if (!peer) return Unexpected(ossl_error("mlkem768x25519: bad X25519 public key"));
    auto raw = evp_derive(m_key.get(), peer.get());
    if (!raw) return Unexpected(std::string(name()) + ": " + raw.error().message);
    if (raw->size() != m_classical.secret_size)
      return Unexpected(std::string(name()) + ": unexpected classical secret length");
    static const uint8_t kZero[32] = {};
    if (CRYPTO_memcmp(raw->data(), kZero, sizeof kZero) == 0)
      return Unexpected("mlkem768x25519: X25519 shared secret is zero");
    return raw;
  }

  // K = SHA-256(ML-KEM shared secret || classical shared secret) as `string K`.
  static Result<SecretBytes> combine(const SecretBytes& post_quantum,
                                     const SecretBytes& classical) {
    SecretBytes k(4 + kSha256Size);
    k[0] = 0;
    k[1] = 0;
    k[2] = 0;
    k[3] = kSha256Size;
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), post_quantum.data(), post_quantum.size()) != 1 ||
        EVP_DigestUpdate(ctx.get(), classical.data(), classical.size()) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), k.data() + 4, nullptr) != 1)
      return Unexpected(ossl_error("mlkem768 hybrid: SHA-256"));
    return k;
  }

  const Classical& m_classical;
  EvpPkeyPtr m_key;
  SecretBytes m_decapsulation_key;  // the client's, between the two steps
};

}  // namespace

std::unique_ptr<KexMethod> make_mlkem768_hybrid_kex(std::string_view name) {
  if (name == kMlkem768X25519Name) return std::make_unique<Mlkem768HybridKex>(kX25519);
  if (name == kMlkem768NistP256Name) return std::make_unique<Mlkem768HybridKex>(kP256);
  return nullptr;
}

}  // namespace postern::net
