// UMAC (RFC 4418) with AES-128 as its block cipher, written from the RFC because OpenSSL 3.0 has
// no UMAC. OpenSSH's umac-64@openssh.com and umac-128@openssh.com are exactly RFC 4418's 8- and
// 16-byte tags (draft-miller-secsh-umac-01); mac.cpp supplies the SSH nonce and message.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/bytes.h"
#include "common/ossl.h"

namespace postern::net {

class Umac {
 public:
  static constexpr size_t kKeyLen = 16;     // RFC 4418 §2: KEYLEN for AES-128
  static constexpr size_t kMaxTagLen = 16;  // four UHASH iterations
  // `key` must be kKeyLen bytes and `tag_len` one of 4, 8, 12, 16; throws std::invalid_argument.
  Umac(ByteView key, size_t tag_len);
  ~Umac();
  Umac(const Umac&) = delete;
  Umac& operator=(const Umac&) = delete;

  size_t tag_len() const { return m_iters * 4; }
  // Writes tag_len() bytes to `tag`. `nonce` is 1 to 16 bytes (RFC 4418 §4); any message length.
  void compute(ByteView message, ByteView nonce, uint8_t* tag);

 private:
  static constexpr size_t kL1KeyWords = 256;  // 1024 bytes of NH key (RFC 4418 §5.1)
  static constexpr size_t kMaxIters = 4;

  void pad(ByteView nonce, uint8_t* out);

  size_t m_iters;
  // NH key words, as str2uint of 4-byte big-endian groups; iteration i starts at word 4*i.
  uint32_t m_l1_key[kL1KeyWords + 4 * (kMaxIters - 1)];
  uint64_t m_l2_k64[kMaxIters];
  uint64_t m_l2_k128_hi[kMaxIters];
  uint64_t m_l2_k128_lo[kMaxIters];
  uint64_t m_l3_k1[kMaxIters][8];  // already reduced mod p36
  uint32_t m_l3_k2[kMaxIters];
  // The PDF's AES under K' = KDF(K, 0, 16); its last output is cached because umac-64 uses one
  // AES block for two consecutive nonces.
  EvpCipherCtxPtr m_pdf;
  uint8_t m_pdf_in[16];
  uint8_t m_pdf_out[16];
  bool m_pdf_valid = false;
};

}  // namespace postern::net
