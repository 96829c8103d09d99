// sntrup761x25519-sha512 (RFC 9941): the client sends a fresh sntrup761 public key and an
// X25519 public key; the server encapsulates to the former, answers with the ciphertext and its
// own X25519 public key, and both hash the two shared secrets together.
#include "net/kex_sntrup761x25519.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>
#include <string>

#include "common/ossl.h"

namespace postern::net {
namespace {

constexpr size_t kX25519Size = 32;
constexpr size_t kClientPublicSize = sntrup761::kPublicKeySize + kX25519Size;   // 1190
constexpr size_t kServerPublicSize = sntrup761::kCiphertextSize + kX25519Size;  // 1071
constexpr size_t kSha512Size = 64;

class Sntrup761X25519Kex final : public KexMethod {
 public:
  Sntrup761X25519Kex(std::string_view name, sntrup761::RandomSource& random, EvpPkeyPtr x25519)
      : m_name(name), m_random(random), m_x25519(std::move(x25519)) {}

  std::string_view name() const override { return m_name; }
  const EVP_MD* hash() const override { return EVP_sha512(); }

  Result<KexServerResult> server_respond(ByteView client_public) override {
    // Q_C of any other length is an error (RFC 9941).
    if (client_public.size() != kClientPublicSize) {
      return Unexpected("sntrup761x25519: client public value is " +
                        std::to_string(client_public.size()) + " bytes, expected " +
                        std::to_string(kClientPublicSize));
    }
    if (auto r = ensure_x25519(); !r) return Unexpected(r.error());
    SecretBytes classical(kX25519Size);
    if (auto r = x25519_agree(client_public.subspan(sntrup761::kPublicKeySize), classical); !r)
      return Unexpected(r.error());

    KexServerResult result;
    result.server_public.resize(kServerPublicSize);
    SecretBytes post_quantum(sntrup761::kSharedSecretSize);
    sntrup761::encapsulate(MutableByteView(result.server_public.data(), sntrup761::kCiphertextSize),
                           post_quantum.mutable_view(),
                           client_public.first(sntrup761::kPublicKeySize), m_random);
    if (auto r = x25519_public(
            MutableByteView(result.server_public.data() + sntrup761::kCiphertextSize, kX25519Size));
        !r)
      return Unexpected(r.error());
    auto k = combine(post_quantum, classical);
    if (!k) return Unexpected(k.error());
    result.shared_secret = std::move(*k);
    return result;
  }

  Bytes client_public() override {
    if (!ensure_x25519()) return {};
    Bytes out(kClientPublicSize);
    m_secret_key = SecretBytes(sntrup761::kSecretKeySize);
    sntrup761::keypair(MutableByteView(out.data(), sntrup761::kPublicKeySize),
                       m_secret_key.mutable_view(), m_random);
    if (!x25519_public(MutableByteView(out.data() + sntrup761::kPublicKeySize, kX25519Size)))
      return {};
    return out;
  }

  Result<SecretBytes> client_finish(ByteView server_public) override {
    if (m_secret_key.empty())
      return Unexpected("sntrup761x25519: client_finish before client_public");
    if (server_public.size() != kServerPublicSize) {
      return Unexpected("sntrup761x25519: server public value is " +
                        std::to_string(server_public.size()) + " bytes, expected " +
                        std::to_string(kServerPublicSize));
    }
    SecretBytes classical(kX25519Size);
    if (auto r = x25519_agree(server_public.subspan(sntrup761::kCiphertextSize), classical); !r)
      return Unexpected(r.error());
    SecretBytes post_quantum(sntrup761::kSharedSecretSize);
    sntrup761::decapsulate(post_quantum.mutable_view(),
                           server_public.first(sntrup761::kCiphertextSize), m_secret_key);
    m_secret_key.clear();
    return combine(post_quantum, classical);
  }

 private:
  Result<void> ensure_x25519() {
    if (m_x25519) return {};
    m_x25519.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
    if (!m_x25519) return Unexpected(ossl_error("sntrup761x25519: X25519 key generation"));
    return {};
  }

  Result<void> x25519_public(MutableByteView out) const {
    size_t len = out.size();
    if (EVP_PKEY_get_raw_public_key(m_x25519.get(), out.data(), &len) != 1 || len != kX25519Size)
      return Unexpected(ossl_error("sntrup761x25519: X25519 public key"));
    return {};
  }

  // The raw 32-byte X25519 output (RFC 7748 §6.1); an all-zero result means the peer sent a
  // low-order point and is refused, as RFC 8731 §3 requires for curve25519-sha256.
  Result<void> x25519_agree(ByteView peer_public, SecretBytes& out) {
    EvpPkeyPtr peer(EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr, peer_public.data(),
                                                   peer_public.size()));
    if (!peer) return Unexpected(ossl_error("sntrup761x25519: bad X25519 public key"));
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, m_x25519.get(), nullptr));
    size_t len = out.size();
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
        EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1 ||
        EVP_PKEY_derive(ctx.get(), out.data(), &len) != 1 || len != kX25519Size)
      return Unexpected(ossl_error("sntrup761x25519: X25519 key agreement"));
    static const uint8_t kZero[kX25519Size] = {};
    if (CRYPTO_memcmp(out.data(), kZero, kX25519Size) == 0)
      return Unexpected("sntrup761x25519: X25519 shared secret is zero");
    return {};
  }

  // RFC 9941: K = SHA-512(sntrup761 key || X25519 key), encoded as string K (unlike the mpint K of
  // curve25519-sha256).
  static Result<SecretBytes> combine(const SecretBytes& post_quantum,
                                     const SecretBytes& classical) {
    SecretBytes k(4 + kSha512Size);
    k[0] = 0;
    k[1] = 0;
    k[2] = 0;
    k[3] = kSha512Size;
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha512(), nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), post_quantum.data(), post_quantum.size()) != 1 ||
        EVP_DigestUpdate(ctx.get(), classical.data(), classical.size()) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), k.data() + 4, nullptr) != 1)
      return Unexpected(ossl_error("sntrup761x25519: SHA-512"));
    return k;
  }

  std::string_view m_name;
  sntrup761::RandomSource& m_random;
  EvpPkeyPtr m_x25519;
  SecretBytes m_secret_key;  // the client's sntrup761 secret key between the two steps
};

}  // namespace

std::unique_ptr<KexMethod> make_sntrup761x25519_kex(std::string_view name) {
  if (name == kSntrup761X25519Name) {
    return std::make_unique<Sntrup761X25519Kex>(kSntrup761X25519Name, sntrup761::system_random(),
                                                nullptr);
  }
  if (name == kSntrup761X25519RfcName) {
    return std::make_unique<Sntrup761X25519Kex>(kSntrup761X25519RfcName, sntrup761::system_random(),
                                                nullptr);
  }
  return nullptr;
}

std::unique_ptr<KexMethod> make_sntrup761x25519_kex_for_test(sntrup761::RandomSource& random,
                                                             ByteView x25519_private_key) {
  EvpPkeyPtr key(EVP_PKEY_new_raw_private_key_ex(
      nullptr, "X25519", nullptr, x25519_private_key.data(), x25519_private_key.size()));
  if (!key) return nullptr;
  return std::make_unique<Sntrup761X25519Kex>(kSntrup761X25519Name, random, std::move(key));
}

}  // namespace postern::net
