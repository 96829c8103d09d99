// Internal to the crypto component: the constructors of each packet protection mode, shared by
// the factory and by import_packet_cipher (packet_cipher.cpp). Not for use outside net/cipher_*.
#pragma once

#include <openssl/evp.h>

#include <climits>
#include <cstdint>
#include <memory>
#include <stdexcept>

#include "common/be_bytes.h"
#include "common/bytes.h"
#include "common/ossl.h"
#include "net/packet_cipher.h"

namespace postern::net::detail {

// EVP takes int lengths; packets are far smaller (RFC 4253 §6.1), so anything larger is a bug.
inline int evp_len(size_t n) {
  if (n > size_t(INT_MAX)) throw std::length_error("packet too large for EVP");
  return int(n);
}

// Callers hand whole packets; a packet shorter than its length field or a tag buffer shorter
// than the mode's tag is a bug in the transport, not the peer's doing.
inline void check_packet(ByteView packet, size_t tag_have, size_t tag_need) {
  if (packet.size() < 4) throw std::invalid_argument("packet shorter than its length field");
  if (tag_have < tag_need) throw std::invalid_argument("tag buffer too small");
}

// The export format (one version): every argument make_packet_cipher takes, with the IV already
// advanced to the current position, plus how far into the current AES-CTR block the stream is.
SecretBytes encode_state(const CipherInfo& cipher, const MacInfo* mac, bool encrypt, ByteView key,
                         ByteView iv, ByteView mac_key, uint32_t skip);

// chacha20-poly1305@openssh.com (PROTOCOL.chacha20poly1305); key is the 64 bytes K_2 || K_1.
std::unique_ptr<PacketCipher> make_chacha20_poly1305(const CipherInfo& info, ByteView key,
                                                     bool encrypt);
// aes{128,256}-gcm@openssh.com (RFC 5647, PROTOCOL §1.6); iv is the 12-byte current nonce.
std::unique_ptr<PacketCipher> make_aes_gcm(const CipherInfo& info, ByteView key, ByteView iv,
                                           bool encrypt);
// aes{128,192,256}-ctr (RFC 4344) or "none", each with a MAC or none; `skip` bytes of the first
// counter block are already used (only non-zero when imported mid-block).
std::unique_ptr<PacketCipher> make_cipher_mac(const CipherInfo& info, const MacInfo* mac,
                                              ByteView key, ByteView iv, ByteView mac_key,
                                              bool encrypt, uint32_t skip);
// aes{128,192,256}-cbc and 3des-cbc (RFC 4253 §6.3), names ending in "-cbc"; iv is the current
// chaining value, one block long.
bool is_cbc(const CipherInfo& info);
std::unique_ptr<PacketCipher> make_cbc_mac(const CipherInfo& info, const MacInfo& mac, ByteView key,
                                           ByteView iv, ByteView mac_key, bool encrypt);

}  // namespace postern::net::detail
