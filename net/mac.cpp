// HMAC-SHA1/SHA2 (RFC 2104 via EVP_MAC, RFC 6668 for the SHA-2 names) and the UMAC adapter.
#include "net/mac.h"

#include <cstring>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdexcept>
#include <string>

#include "common/be_bytes.h"
#include "common/ossl.h"
#include "net/umac.h"

namespace postern::net {

bool Mac::verify(uint32_t seqno, ByteView data, ByteView tag) {
  uint8_t expect[kMaxTagLen];
  size_t n = tag_len();
  if (tag.size() != n) return false;
  compute(seqno, data, expect);
  bool ok = CRYPTO_memcmp(expect, tag.data(), n) == 0;
  OPENSSL_cleanse(expect, n);
  return ok;
}

namespace {

// The keyed context is prepared once; EVP_MAC_init with a null key restarts it from the saved
// inner/outer pad state, so the key schedule is not redone per packet.
class HmacMac final : public Mac {
 public:
  HmacMac(const char* digest, ByteView key, size_t tag_len) : m_tag_len(tag_len) {
    EvpMacPtr mac(EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr));
    if (!mac) throw std::runtime_error(ossl_error("EVP_MAC_fetch HMAC"));
    m_ctx.reset(EVP_MAC_CTX_new(mac.get()));
    if (!m_ctx) throw std::runtime_error(ossl_error("EVP_MAC_CTX_new"));
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
        OSSL_PARAM_construct_end()};
    if (EVP_MAC_init(m_ctx.get(), key.data(), key.size(), params) != 1)
      throw std::runtime_error(ossl_error("EVP_MAC_init HMAC"));
    m_fresh = true;
  }
  size_t tag_len() const override { return m_tag_len; }
  void compute(uint32_t seqno, ByteView data, uint8_t* tag) override {
    if (!m_fresh && EVP_MAC_init(m_ctx.get(), nullptr, 0, nullptr) != 1)
      throw std::runtime_error(ossl_error("EVP_MAC_init"));
    m_fresh = false;
    uint8_t seq[4];
    store_be32(seq, seqno);
    // EVP_MAC_final wants room for the whole digest; the -96 MACs keep only its first 12 bytes.
    uint8_t full[EVP_MAX_MD_SIZE];
    size_t out = 0;
    if (EVP_MAC_update(m_ctx.get(), seq, 4) != 1 ||
        EVP_MAC_update(m_ctx.get(), data.data(), data.size()) != 1 ||
        EVP_MAC_final(m_ctx.get(), full, &out, sizeof full) != 1 || out < m_tag_len)
      throw std::runtime_error(ossl_error("HMAC"));
    std::memcpy(tag, full, m_tag_len);
  }

 private:
  EvpMacCtxPtr m_ctx;
  size_t m_tag_len;
  bool m_fresh;
};

// draft-miller-secsh-umac-01 §3: tag = UMAC(key, nonce = uint64 sequence number, packet).
class UmacMac final : public Mac {
 public:
  UmacMac(ByteView key, size_t tag_len) : m_umac(key, tag_len) {}
  size_t tag_len() const override { return m_umac.tag_len(); }
  void compute(uint32_t seqno, ByteView data, uint8_t* tag) override {
    uint8_t nonce[8] = {0, 0, 0, 0};
    store_be32(nonce + 4, seqno);
    m_umac.compute(data, ByteView(nonce, 8), tag);
  }

 private:
  Umac m_umac;
};

}  // namespace

std::unique_ptr<Mac> make_mac(const MacInfo& info, ByteView key) {
  if (key.size() < info.key_len) throw std::invalid_argument("MAC key too short");
  key = key.first(info.key_len);
  std::string_view name = info.name;
  if (name.starts_with("umac-")) return std::make_unique<UmacMac>(key, info.tag_len);
  const char* digest = nullptr;
  if (name.starts_with("hmac-sha2-256"))
    digest = "SHA2-256";
  else if (name.starts_with("hmac-sha2-512"))
    digest = "SHA2-512";
  else if (name.starts_with("hmac-sha1"))
    digest = "SHA1";
  else if (name.starts_with("hmac-md5"))
    digest = "MD5";
  else
    throw std::invalid_argument("unsupported MAC " + std::string(name));
  return std::make_unique<HmacMac>(digest, key, info.tag_len);
}

}  // namespace postern::net
