// The MAC half of a non-AEAD packet cipher (RFC 4253 §6.4): HMAC through OpenSSL's EVP_MAC, and
// UMAC (umac.h). A Mac is keyed once and reused for every packet without allocating.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/bytes.h"
#include "net/packet_cipher.h"

namespace postern::net {

class Mac {
 public:
  static constexpr size_t kMaxTagLen = 64;  // hmac-sha2-512

  virtual ~Mac() = default;
  virtual size_t tag_len() const = 0;
  // The tag of one packet: `data` is what the MAC covers (the plaintext packet, or the length
  // and ciphertext for -etm). HMAC prefixes the uint32 sequence number (RFC 4253 §6.4); UMAC
  // uses it as its 8-byte nonce instead (draft-miller-secsh-umac-01 §3). Writes tag_len() bytes.
  virtual void compute(uint32_t seqno, ByteView data, uint8_t* tag) = 0;

  // Compares in constant time; `tag` must be exactly tag_len() bytes.
  bool verify(uint32_t seqno, ByteView data, ByteView tag);
};

// `key` is at least info.key_len bytes; only that many are used.
std::unique_ptr<Mac> make_mac(const MacInfo& info, ByteView key);

}  // namespace postern::net
