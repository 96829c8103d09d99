// chacha20-poly1305@openssh.com, as specified in OpenSSH's PROTOCOL.chacha20poly1305: two
// ChaCha20 instances keyed from the 64-byte key (K_2 = the first 32 bytes, for the payload and the
// Poly1305 key; K_1 = the last 32, for the length only), the packet sequence number as the 64-bit
// nonce, and Poly1305 over the encrypted length and payload with no padding or length block.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>
#include <stdexcept>

#include "net/packet_cipher_impl.h"

namespace postern::net::detail {

namespace {

constexpr size_t kHalfKey = 32;
constexpr size_t kTagLen = 16;

// EVP_chacha20's 16-byte IV is the four little-endian state words 12..15. The original ChaCha20
// layout PROTOCOL.chacha20poly1305 uses puts a 64-bit block counter in words 12-13 and a 64-bit
// nonce in words 14-15, so the IV is the counter in little-endian bytes then the sequence number
// as an SSH uint64 (big-endian).
void chacha_iv(uint8_t iv[16], uint32_t seqno, uint8_t counter) {
  std::memset(iv, 0, 12);
  iv[0] = counter;
  store_be32(iv + 12, seqno);
}

EvpCipherCtxPtr chacha_ctx(const uint8_t* key) {
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  uint8_t iv[16] = {};
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_chacha20(), nullptr, key, iv) != 1)
    throw std::runtime_error(ossl_error("ChaCha20 init"));
  return ctx;
}

class Chacha20Poly1305 final : public PacketCipher {
 public:
  Chacha20Poly1305(const CipherInfo& info, ByteView key, bool encrypt)
      : m_info(info), m_encrypt(encrypt), m_key(key) {
    if (key.size() != 2 * kHalfKey)
      throw std::invalid_argument("chacha20-poly1305 key is 64 bytes");
    m_main = chacha_ctx(key.data());
    m_header = chacha_ctx(key.data() + kHalfKey);
    EvpMacPtr mac(EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_POLY1305, nullptr));
    if (!mac) throw std::runtime_error(ossl_error("EVP_MAC_fetch POLY1305"));
    m_poly.reset(EVP_MAC_CTX_new(mac.get()));
    if (!m_poly) throw std::runtime_error(ossl_error("EVP_MAC_CTX_new"));
  }
  ~Chacha20Poly1305() override { OPENSSL_cleanse(m_block, sizeof m_block); }

  size_t block_size() const override { return m_info.block_size; }
  size_t aad_len() const override { return 4; }
  size_t tag_len() const override { return kTagLen; }
  size_t length_head_len() const override { return 4; }

  void seal(uint32_t seqno, MutableByteView packet, MutableByteView tag) override {
    check_packet(packet, tag.size(), kTagLen);
    uint8_t iv[16];
    chacha_iv(iv, seqno, 0);
    crypt(m_header.get(), iv, packet.data(), 4);
    start_main(seqno);  // leaves K_2's stream at block counter 1
    crypt(m_main.get(), nullptr, packet.data() + 4, packet.size() - 4);
    poly1305(packet, tag.data());
  }

  uint32_t decrypt_length(uint32_t seqno, MutableByteView head) override {
    if (head.size() < 4) throw std::invalid_argument("length head too short");
    // The ciphertext length stays in place: the MAC covers it.
    uint8_t iv[16];
    uint8_t len[4];
    std::memcpy(len, head.data(), 4);
    chacha_iv(iv, seqno, 0);
    crypt(m_header.get(), iv, len, 4);
    return load_be32(len);
  }

  bool open(uint32_t seqno, MutableByteView packet, ByteView tag) override {
    check_packet(packet, tag.size(), kTagLen);
    start_main(seqno);
    uint8_t expect[kTagLen];
    poly1305(packet, expect);
    // Check before decrypting anything (PROTOCOL.chacha20poly1305 "Packet Handling").
    if (CRYPTO_memcmp(expect, tag.data(), kTagLen) != 0) return false;
    crypt(m_main.get(), nullptr, packet.data() + 4, packet.size() - 4);
    return true;
  }

  SecretBytes export_state() const override {
    // Nothing but the key: every packet's state derives from its sequence number.
    return encode_state(m_info, nullptr, m_encrypt, m_key, {}, {}, 0);
  }

 private:
  // Runs ChaCha20 in place; a non-null iv first restarts the stream there.
  static void crypt(EVP_CIPHER_CTX* ctx, const uint8_t* iv, uint8_t* p, size_t n) {
    int outl = 0;
    if ((iv != nullptr && EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv) != 1) ||
        (n > 0 && EVP_EncryptUpdate(ctx, p, &outl, p, evp_len(n)) != 1))
      throw std::runtime_error(ossl_error("ChaCha20"));
  }
  // The Poly1305 key is the first 32 bytes of K_2's block 0; a whole block is consumed so the
  // payload starts at block counter 1.
  void start_main(uint32_t seqno) {
    uint8_t iv[16];
    chacha_iv(iv, seqno, 0);
    std::memset(m_block, 0, sizeof m_block);
    crypt(m_main.get(), iv, m_block, sizeof m_block);
  }
  void poly1305(ByteView data, uint8_t* out) {
    size_t outl = 0;
    if (EVP_MAC_init(m_poly.get(), m_block, kHalfKey, nullptr) != 1 ||
        EVP_MAC_update(m_poly.get(), data.data(), data.size()) != 1 ||
        EVP_MAC_final(m_poly.get(), out, &outl, kTagLen) != 1 || outl != kTagLen)
      throw std::runtime_error(ossl_error("Poly1305"));
  }

  const CipherInfo& m_info;
  bool m_encrypt;
  SecretBytes m_key;  // for export_state
  EvpCipherCtxPtr m_main;
  EvpCipherCtxPtr m_header;
  EvpMacCtxPtr m_poly;
  uint8_t m_block[64];
};

}  // namespace

std::unique_ptr<PacketCipher> make_chacha20_poly1305(const CipherInfo& info, ByteView key,
                                                     bool encrypt) {
  return std::make_unique<Chacha20Poly1305>(info, key, encrypt);
}

}  // namespace postern::net::detail
