// aes128-gcm@openssh.com and aes256-gcm@openssh.com: RFC 5647 as OpenSSH uses it (PROTOCOL §1.6).
// The packet length is the associated data and travels in the clear (RFC 5647 §7.3); the 12-byte
// nonce is a 4-byte fixed field and an 8-byte invocation counter incremented after every packet
// (§7.1). The MAC negotiated alongside is ignored.
#include <openssl/evp.h>

#include <cstring>
#include <stdexcept>

#include "net/packet_cipher_impl.h"

namespace postern::net::detail {

namespace {

constexpr size_t kIvLen = 12;
constexpr size_t kTagLen = 16;

class AesGcm final : public PacketCipher {
 public:
  AesGcm(const CipherInfo& info, ByteView key, ByteView iv, bool encrypt)
      : m_info(info), m_encrypt(encrypt), m_key(key) {
    if (iv.size() != kIvLen) throw std::invalid_argument("AES-GCM IV must be 12 bytes");
    std::memcpy(m_iv, iv.data(), kIvLen);
    const EVP_CIPHER* cipher = key.size() == 16   ? EVP_aes_128_gcm()
                               : key.size() == 32 ? EVP_aes_256_gcm()
                                                  : nullptr;
    if (cipher == nullptr) throw std::invalid_argument("bad AES-GCM key length");
    m_ctx.reset(EVP_CIPHER_CTX_new());
    // Keyed once; each packet only sets its nonce (the GHASH key and AES schedule stay).
    if (!m_ctx ||
        EVP_CipherInit_ex(m_ctx.get(), cipher, nullptr, key.data(), nullptr, encrypt ? 1 : 0) != 1)
      throw std::runtime_error(ossl_error("AES-GCM init"));
  }

  size_t block_size() const override { return m_info.block_size; }
  size_t aad_len() const override { return 4; }
  size_t tag_len() const override { return kTagLen; }
  size_t length_head_len() const override { return 4; }

  void seal(uint32_t, MutableByteView packet, MutableByteView tag) override {
    check_packet(packet, tag.size(), kTagLen);
    if (!m_encrypt) throw std::logic_error("seal on a decrypting AES-GCM");
    start(packet);
    int outl = 0;
    uint8_t none[16];
    if (EVP_EncryptFinal_ex(m_ctx.get(), none, &outl) != 1 ||
        EVP_CIPHER_CTX_ctrl(m_ctx.get(), EVP_CTRL_AEAD_GET_TAG, kTagLen, tag.data()) != 1)
      throw std::runtime_error(ossl_error("AES-GCM seal"));
    next_iv();
  }

  uint32_t decrypt_length(uint32_t, MutableByteView head) override {
    if (head.size() < 4) throw std::invalid_argument("length head too short");
    return load_be32(head.data());
  }

  bool open(uint32_t, MutableByteView packet, ByteView tag) override {
    check_packet(packet, tag.size(), kTagLen);
    if (m_encrypt) throw std::logic_error("open on an encrypting AES-GCM");
    start(packet);
    // EVP compares the expected tag at Final.
    if (EVP_CIPHER_CTX_ctrl(m_ctx.get(), EVP_CTRL_AEAD_SET_TAG, kTagLen,
                            const_cast<uint8_t*>(tag.data())) != 1)
      throw std::runtime_error(ossl_error("AES-GCM tag"));
    int outl = 0;
    uint8_t none[16];
    bool ok = EVP_DecryptFinal_ex(m_ctx.get(), none, &outl) == 1;
    next_iv();
    return ok;
  }

  SecretBytes export_state() const override {
    return encode_state(m_info, nullptr, m_encrypt, m_key, ByteView(m_iv, kIvLen), {}, 0);
  }

 private:
  // Sets this packet's nonce, feeds the length as AAD and en/decrypts the rest in place.
  void start(MutableByteView packet) {
    int outl = 0;
    size_t body = packet.size() - 4;
    if (EVP_CipherInit_ex(m_ctx.get(), nullptr, nullptr, nullptr, m_iv, -1) != 1 ||
        EVP_CipherUpdate(m_ctx.get(), nullptr, &outl, packet.data(), 4) != 1 ||
        EVP_CipherUpdate(m_ctx.get(), packet.data() + 4, &outl, packet.data() + 4, evp_len(body)) !=
            1 ||
        size_t(outl) != body)
      throw std::runtime_error(ossl_error("AES-GCM"));
  }
  // RFC 5647 §7.1: the invocation counter is the low 64 bits, big-endian, wrapping.
  void next_iv() {
    for (int i = kIvLen - 1; i >= 4; --i)
      if (++m_iv[i] != 0) break;
  }

  const CipherInfo& m_info;
  bool m_encrypt;
  SecretBytes m_key;  // for export_state
  uint8_t m_iv[kIvLen];
  EvpCipherCtxPtr m_ctx;
};

}  // namespace

std::unique_ptr<PacketCipher> make_aes_gcm(const CipherInfo& info, ByteView key, ByteView iv,
                                           bool encrypt) {
  return std::make_unique<AesGcm>(info, key, iv, encrypt);
}

}  // namespace postern::net::detail
