// AES-CTR (RFC 4344 §4) or no encryption, with a separate MAC in either order: RFC 4253 §6.4
// (MAC over the plaintext, length encrypted) or encrypt-then-MAC (PROTOCOL §1.5: length in the
// clear, MAC over the ciphertext). Also the unprotected state before the first NEWKEYS.
#include <openssl/evp.h>

#include <cstring>
#include <stdexcept>

#include "net/mac.h"
#include "net/packet_cipher_impl.h"

namespace postern::net::detail {

namespace {

constexpr size_t kAesBlock = 16;

const EVP_CIPHER* ctr_cipher(size_t key_len) {
  switch (key_len) {
    case 16:
      return EVP_aes_128_ctr();
    case 24:
      return EVP_aes_192_ctr();
    case 32:
      return EVP_aes_256_ctr();
    default:
      throw std::invalid_argument("bad AES-CTR key length");
  }
}

class CipherMac final : public PacketCipher {
 public:
  CipherMac(const CipherInfo& info, const MacInfo* mac, ByteView key, ByteView iv, ByteView mac_key,
            bool encrypt, uint32_t skip)
      : m_info(info),
        m_mac_info(mac),
        m_encrypt(encrypt),
        m_etm(mac != nullptr && mac->etm),
        m_key(key),
        m_iv(iv),
        m_mac_key(mac_key) {
    if (info.name != "none") {
      // RFC 4344 §4: the IV is the initial counter X, a 128-bit big-endian integer incremented
      // per block; EVP's CTR mode is exactly that, and keeps its position between calls, so the
      // context is keyed once and never re-initialised.
      m_ctx.reset(EVP_CIPHER_CTX_new());
      if (!m_ctx || iv.size() != kAesBlock ||
          EVP_EncryptInit_ex(m_ctx.get(), ctr_cipher(key.size()), nullptr, key.data(), iv.data()) !=
              1)
        throw std::runtime_error(ossl_error("AES-CTR init"));
      if (skip > 0) {
        uint8_t discard[kAesBlock] = {};
        crypt(discard, skip);
      }
    }
    if (mac != nullptr) m_mac = make_mac(*mac, mac_key);
  }

  size_t block_size() const override { return m_info.block_size; }
  size_t aad_len() const override { return m_etm ? 4 : 0; }
  size_t tag_len() const override { return m_mac ? m_mac->tag_len() : 0; }
  // CTR is a stream cipher: four bytes are enough to recover the length, and the rest of the
  // first block is decrypted by open() from the same keystream position.
  size_t length_head_len() const override { return 4; }

  void seal(uint32_t seqno, MutableByteView packet, MutableByteView tag) override {
    check_packet(packet, tag.size(), tag_len());
    if (m_etm) {
      crypt(packet.data() + 4, packet.size() - 4);
      m_mac->compute(seqno, packet, tag.data());
    } else {
      if (m_mac) m_mac->compute(seqno, packet, tag.data());
      crypt(packet.data(), packet.size());
    }
  }

  uint32_t decrypt_length(uint32_t, MutableByteView head) override {
    if (head.size() < 4) throw std::invalid_argument("length head too short");
    if (!m_etm) crypt(head.data(), 4);
    return load_be32(head.data());
  }

  bool open(uint32_t seqno, MutableByteView packet, ByteView tag) override {
    check_packet(packet, tag.size(), tag_len());
    tag = tag.first(tag_len());
    if (m_etm) {
      // Authenticate before decrypting anything (PROTOCOL §1.5).
      if (!m_mac->verify(seqno, packet, tag)) return false;
      crypt(packet.data() + 4, packet.size() - 4);
      return true;
    }
    crypt(packet.data() + 4, packet.size() - 4);
    return !m_mac || m_mac->verify(seqno, packet, tag);
  }

  SecretBytes export_state() const override {
    uint8_t iv[kAesBlock] = {};
    uint32_t skip = 0;
    if (m_ctx) {
      // The counter now: X + floor(bytes / 16) mod 2^128, and how far into that block we are.
      std::memcpy(iv, m_iv.data(), kAesBlock);
      uint64_t add = m_bytes / kAesBlock;
      for (int i = kAesBlock - 1; i >= 0 && add != 0; --i) {
        uint64_t sum = uint64_t(iv[i]) + (add & 0xff);
        iv[i] = uint8_t(sum);
        add = (add >> 8) + (sum >> 8);
      }
      skip = uint32_t(m_bytes % kAesBlock);
    }
    return encode_state(m_info, m_mac_info, m_encrypt, m_key, ByteView(iv, m_iv.size()), m_mac_key,
                        skip);
  }

 private:
  void crypt(uint8_t* p, size_t n) {
    if (!m_ctx || n == 0) return;
    int outl = 0;
    if (EVP_EncryptUpdate(m_ctx.get(), p, &outl, p, evp_len(n)) != 1 || size_t(outl) != n)
      throw std::runtime_error(ossl_error("AES-CTR"));
    m_bytes += n;
  }

  const CipherInfo& m_info;
  const MacInfo* m_mac_info;
  bool m_encrypt;
  bool m_etm;
  EvpCipherCtxPtr m_ctx;
  std::unique_ptr<Mac> m_mac;
  uint64_t m_bytes = 0;  // keystream used since m_iv
  // Kept only so export_state can hand them on.
  SecretBytes m_key;
  SecretBytes m_iv;
  SecretBytes m_mac_key;
};

}  // namespace

std::unique_ptr<PacketCipher> make_cipher_mac(const CipherInfo& info, const MacInfo* mac,
                                              ByteView key, ByteView iv, ByteView mac_key,
                                              bool encrypt, uint32_t skip) {
  return std::make_unique<CipherMac>(info, mac, key, iv, mac_key, encrypt, skip);
}

}  // namespace postern::net::detail
