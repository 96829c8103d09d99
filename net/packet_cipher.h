// One direction of the binary packet protocol's protection (RFC 4253 §6): a cipher and MAC pair,
// or an AEAD mode. The transport frames packets; this only encrypts, decrypts and authenticates,
// in place, with no allocation per packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"

namespace postern::net {

struct CipherInfo {
  std::string_view name;  // "aes128-gcm@openssh.com"
  size_t key_len;
  size_t iv_len;
  size_t block_size;  // padding alignment, at least 8
  bool aead;          // the MAC is implied (gcm, chacha20-poly1305); the negotiated MAC is ignored
};

struct MacInfo {
  std::string_view name;  // "hmac-sha2-256-etm@openssh.com"
  size_t key_len;
  size_t tag_len;
  bool etm;  // encrypt-then-MAC: length in clear, MAC over ciphertext (PROTOCOL §1.5)
};

// Known algorithms by name; nullptr when unsupported. find_cipher("none") exists (initial state).
const CipherInfo* find_cipher(std::string_view name);
const MacInfo* find_mac(std::string_view name);
// Every supported name, in OpenSSH 9.2's default preference order first, then the others (the
// CBC modes, which are never offered unless configured).
std::vector<std::string> supported_ciphers();
// What OpenSSH 9.2 offers when Ciphers is not configured: a prefix of supported_ciphers().
std::vector<std::string> default_ciphers();
std::vector<std::string> supported_macs();
// The MACs offered when none are configured (OpenSSH 9.2's default list).
std::vector<std::string> default_macs();

class PacketCipher {
 public:
  virtual ~PacketCipher() = default;

  // Padding makes (packet length minus aad_len()) a multiple of this; at least 8.
  virtual size_t block_size() const = 0;
  // Leading bytes outside the padding alignment: 4 where the length travels as associated data
  // (AEAD and encrypt-then-MAC modes), else 0.
  virtual size_t aad_len() const = 0;
  virtual size_t tag_len() const = 0;
  // How many bytes must have arrived before decrypt_length() can be called.
  virtual size_t length_head_len() const = 0;

  // `packet` is [u32 packet_length][u8 padding_length][payload][padding]; encrypts it in place
  // and writes tag_len() bytes to `tag`.
  virtual void seal(uint32_t seqno, MutableByteView packet, MutableByteView tag) = 0;
  // Returns packet_length from the first length_head_len() bytes of a packet. Plain (non-EtM)
  // cipher modes decrypt those bytes in place; others leave them untouched.
  virtual uint32_t decrypt_length(uint32_t seqno, MutableByteView head) = 0;
  // `packet` is the whole packet including its length field (as decrypt_length left it).
  // Verifies `tag` and decrypts in place. Returns false if authentication fails. Afterwards
  // packet[4..] is plaintext; packet[0..4] may still be ciphertext.
  virtual bool open(uint32_t seqno, MutableByteView packet, ByteView tag) = 0;

  // The complete state (names, keys, current IV/counter) so another process can continue the
  // stream exactly where this one stopped (the post-auth handoff, docs/architecture.md).
  virtual SecretBytes export_state() const = 0;
};

// mac is ignored (may be nullptr) for AEAD ciphers. Keys and IVs are as derived per RFC 4253 §7.2
// and are at least the lengths CipherInfo/MacInfo ask for (extra bytes are ignored).
std::unique_ptr<PacketCipher> make_packet_cipher(const CipherInfo& cipher, const MacInfo* mac,
                                                 ByteView key, ByteView iv, ByteView mac_key,
                                                 bool encrypt);
// The unprotected state before the first NEWKEYS.
std::unique_ptr<PacketCipher> make_null_cipher();
// Rebuilds a cipher from export_state(); throws ProtocolError on malformed state.
std::unique_ptr<PacketCipher> import_packet_cipher(ByteView state);

}  // namespace postern::net
