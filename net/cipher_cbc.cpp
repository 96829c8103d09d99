// The CBC block ciphers of RFC 4253 §6.3 (aes128-cbc, aes192-cbc, aes256-cbc, 3des-cbc), never
// offered by default, with a separate MAC in either order: RFC 4253 §6.4 (MAC over the
// plaintext, the length inside the first encrypted block) or encrypt-then-MAC (PROTOCOL §1.5:
// length in the clear, MAC over the ciphertext).
#include <openssl/evp.h>

#include <cstring>
#include <stdexcept>

#include "net/mac.h"
#include "net/packet_cipher_impl.h"

namespace postern::net::detail {

namespace {

constexpr size_t kMaxBlock = 16;

const EVP_CIPHER* cbc_cipher(std::string_view name) {
  if (name == "aes128-cbc") return EVP_aes_128_cbc();
  if (name == "aes192-cbc") return EVP_aes_192_cbc();
  if (name == "aes256-cbc") return EVP_aes_256_cbc();
  if (name == "3des-cbc") return EVP_des_ede3_cbc();  // RFC 4253 §6.3: three-key EDE
  throw std::invalid_argument("not a CBC cipher: " + std::string(name));
}

class CbcMac final : public PacketCipher {
 public:
  CbcMac(const CipherInfo& info, const MacInfo& mac, ByteView key, ByteView iv, ByteView mac_key,
         bool encrypt)
      : m_info(info),
        m_mac_info(mac),
        m_encrypt(encrypt),
        m_etm(mac.etm),
        m_key(key),
        m_mac_key(mac_key),
        m_mac(make_mac(mac, mac_key)) {
    const EVP_CIPHER* cipher = cbc_cipher(info.name);
    if (size_t(EVP_CIPHER_get_block_size(cipher)) != info.block_size ||
        info.block_size > kMaxBlock || iv.size() != info.block_size ||
        size_t(EVP_CIPHER_get_key_length(cipher)) != key.size())
      throw std::invalid_argument("bad CBC parameters");
    std::memcpy(m_chain, iv.data(), iv.size());
    // One context keyed once: EVP carries the chaining value between calls, so packets chain
    // into each other exactly as RFC 4253 §6.3 requires (one stream, not one IV per packet).
    // Packets are whole blocks, so EVP's own padding is off.
    m_ctx.reset(EVP_CIPHER_CTX_new());
    if (!m_ctx ||
        EVP_CipherInit_ex(m_ctx.get(), cipher, nullptr, key.data(), iv.data(), encrypt ? 1 : 0) !=
            1 ||
        EVP_CIPHER_CTX_set_padding(m_ctx.get(), 0) != 1)
      throw std::runtime_error(ossl_error("CBC init"));
  }

  size_t block_size() const override { return m_info.block_size; }
  size_t aad_len() const override { return m_etm ? 4 : 0; }
  size_t tag_len() const override { return m_mac->tag_len(); }
  // Without EtM the length is inside the first cipher block, which decrypts only as a whole.
  size_t length_head_len() const override { return m_etm ? 4 : m_info.block_size; }

  void seal(uint32_t seqno, MutableByteView packet, MutableByteView tag) override {
    check_packet(packet, tag.size(), tag_len());
    if (m_etm) {
      crypt(packet.data() + 4, packet.size() - 4);
      m_mac->compute(seqno, packet, tag.data());
    } else {
      m_mac->compute(seqno, packet, tag.data());
      crypt(packet.data(), packet.size());
    }
  }

  uint32_t decrypt_length(uint32_t, MutableByteView head) override {
    if (head.size() < length_head_len()) throw std::invalid_argument("length head too short");
    if (!m_etm) crypt(head.data(), m_info.block_size);
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
    // decrypt_length() already decrypted the first block.
    if (packet.size() < m_info.block_size)
      throw std::invalid_argument("packet shorter than a block");
    crypt(packet.data() + m_info.block_size, packet.size() - m_info.block_size);
    return m_mac->verify(seqno, packet, tag);
  }

  SecretBytes export_state() const override {
    // The chaining value is the IV the next block continues from (RFC 4253 §6.3).
    return encode_state(m_info, &m_mac_info, m_encrypt, m_key, ByteView(m_chain, m_info.block_size),
                        m_mac_key, 0);
  }

 private:
  // Encrypts or decrypts whole blocks in place and remembers the last ciphertext block, which
  // is the chaining value export_state() hands on.
  void crypt(uint8_t* p, size_t n) {
    if (n == 0) return;
    size_t bs = m_info.block_size;
    if (n % bs != 0) throw std::invalid_argument("CBC data is not whole blocks");
    // Decrypting in place overwrites the ciphertext, so keep its last block first.
    uint8_t last[kMaxBlock];
    if (!m_encrypt) std::memcpy(last, p + n - bs, bs);
    int outl = 0;
    if (EVP_CipherUpdate(m_ctx.get(), p, &outl, p, evp_len(n)) != 1 || size_t(outl) != n)
      throw std::runtime_error(ossl_error("CBC"));
    std::memcpy(m_chain, m_encrypt ? p + n - bs : last, bs);
  }

  const CipherInfo& m_info;
  const MacInfo& m_mac_info;
  bool m_encrypt;
  bool m_etm;
  EvpCipherCtxPtr m_ctx;
  uint8_t m_chain[kMaxBlock] = {};
  // Kept only so export_state can hand them on.
  SecretBytes m_key;
  SecretBytes m_mac_key;
  std::unique_ptr<Mac> m_mac;
};

}  // namespace

bool is_cbc(const CipherInfo& info) {
  return info.name.size() > 4 && info.name.substr(info.name.size() - 4) == "-cbc";
}

std::unique_ptr<PacketCipher> make_cbc_mac(const CipherInfo& info, const MacInfo& mac, ByteView key,
                                           ByteView iv, ByteView mac_key, bool encrypt) {
  return std::make_unique<CbcMac>(info, mac, key, iv, mac_key, encrypt);
}

}  // namespace postern::net::detail
