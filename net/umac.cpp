// UMAC as specified in RFC 4418, sections cited at each layer. Integers are unsigned; "str2uint"
// is big-endian except where the RFC's ENDIAN-SWAP makes NH read the message little-endian.
#include "net/umac.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <bit>
#include <cstring>
#include <stdexcept>

#include "common/be_bytes.h"

namespace postern::net {

namespace {

using u128 = unsigned __int128;

constexpr size_t kBlockLen = 16;      // RFC 4418 §2: BLOCKLEN of AES
constexpr size_t kL1ChunkLen = 1024;  // bytes of message per NH call (L1 key length)
// L2 switches from POLY-64 to POLY-128 after this many L1 outputs, i.e. 2^24 message bytes
// (RFC 4418 §5.3: bitlength(M) <= 2^20 for the L1 output string).
constexpr uint64_t kPoly64Words = uint64_t(1) << 14;
constexpr uint64_t kP64 = ~uint64_t(0) - 58;  // 2^64 - 59
constexpr uint64_t kP36 = (uint64_t(1) << 36) - 5;
constexpr uint64_t kMask64 = 0x01ffffff01ffffffULL;

uint32_t load_le32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}

// RFC 4418 §3.2.1 KDF: AES of (index || i) for i = 1, 2, ..., concatenated.
void kdf(EVP_CIPHER_CTX* aes, uint64_t index, uint8_t* out, size_t numbytes) {
  uint8_t in[kBlockLen];
  uint8_t block[kBlockLen];
  for (uint64_t i = 1; numbytes > 0; ++i) {
    for (int b = 0; b < 8; ++b) {
      in[b] = uint8_t(index >> (56 - 8 * b));
      in[8 + b] = uint8_t(i >> (56 - 8 * b));
    }
    int outl = 0;
    if (EVP_EncryptUpdate(aes, block, &outl, in, kBlockLen) != 1 || outl != int(kBlockLen))
      throw std::runtime_error(ossl_error("UMAC KDF"));
    size_t n = numbytes < kBlockLen ? numbytes : kBlockLen;
    std::memcpy(out, block, n);
    out += n;
    numbytes -= n;
  }
  OPENSSL_cleanse(block, sizeof block);
}

EvpCipherCtxPtr aes128_ecb(const uint8_t* key) {
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_ecb(), nullptr, key, nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1)
    throw std::runtime_error(ossl_error("UMAC AES"));
  return ctx;
}

// RFC 4418 §5.1 NH over `len` bytes (a multiple of 32), for Iters iterations at once: iteration j
// uses the key shifted by 4*j words (§5.1 "L1Key_i"). The message was ENDIAN-SWAPped, so its
// words are read little-endian. Sums and products wrap mod 2^64, the word additions mod 2^32.
// The hot loop of every UMAC tag. GCC vectorises it (SSE2 pmuludq) only with its full cost
// model, which -O2 does not use; this roughly doubles umac-64's throughput. (Clang has no
// per-function optimize attribute and vectorises at -O2 anyway.)
#if defined(__GNUC__) && !defined(__clang__)
#define POSTERN_VECTORIZE [[gnu::optimize("O3")]]
#else
#define POSTERN_VECTORIZE
#endif
template <size_t Iters>
POSTERN_VECTORIZE void nh(const uint32_t* key, const uint8_t* msg, size_t len, uint64_t* out) {
  uint64_t y[Iters] = {};
  for (size_t off = 0; off < len; off += 32, key += 8) {
    uint32_t m[8];
    for (int w = 0; w < 8; ++w) m[w] = load_le32(msg + off + 4 * w);
    for (size_t j = 0; j < Iters; ++j) {
      const uint32_t* k = key + 4 * j;
      y[j] += uint64_t(uint32_t(m[0] + k[0])) * uint32_t(m[4] + k[4]) +
              uint64_t(uint32_t(m[1] + k[1])) * uint32_t(m[5] + k[5]) +
              uint64_t(uint32_t(m[2] + k[2])) * uint32_t(m[6] + k[6]) +
              uint64_t(uint32_t(m[3] + k[3])) * uint32_t(m[7] + k[7]);
    }
  }
  for (size_t j = 0; j < Iters; ++j) out[j] = y[j];
}

void nh_any(size_t iters, const uint32_t* key, const uint8_t* msg, size_t len, uint64_t* out) {
  switch (iters) {
    case 1:
      return nh<1>(key, msg, len, out);
    case 2:
      return nh<2>(key, msg, len, out);
    case 3:
      return nh<3>(key, msg, len, out);
    default:
      return nh<4>(key, msg, len, out);
  }
}

// (k*y + a) mod 2^64-59, for k < 2^57 (masked), y < p64, a < 2^64.
uint64_t mul_add_mod_p64(uint64_t k, uint64_t y, uint64_t a) {
  u128 t = u128(k) * y + a;
  u128 s = u128(uint64_t(t >> 64)) * 59 + uint64_t(t);  // 2^64 = 59 (mod p64); s < 2^65
  uint64_t r = uint64_t(s >> 64) * 59 + uint64_t(s);    // cannot wrap: see s's bound
  return r >= kP64 ? r - kP64 : r;
}

// RFC 4418 §5.3 POLY, one word at a time, with wordbits 64.
uint64_t poly64_step(uint64_t k, uint64_t y, uint64_t m) {
  constexpr uint64_t kMaxWordRange = ~uint64_t(0) - 0xffffffffULL;  // 2^64 - 2^32
  if (m >= kMaxWordRange) {
    y = mul_add_mod_p64(k, y, kP64 - 1);   // marker
    return mul_add_mod_p64(k, y, m - 59);  // m - offset
  }
  return mul_add_mod_p64(k, y, m);
}

struct U128 {
  uint64_t hi, lo;
};

// (k*y + a) mod p128 = 2^128-159, for k < 2^121 (masked), y < p128, any a < 2^128.
U128 mul_add_mod_p128(U128 k, U128 y, U128 a) {
  u128 p0 = u128(k.lo) * y.lo, p1 = u128(k.lo) * y.hi, p2 = u128(k.hi) * y.lo,
       p3 = u128(k.hi) * y.hi;
  u128 mid = (p0 >> 64) + uint64_t(p1) + uint64_t(p2);
  uint64_t r0 = uint64_t(p0), r1 = uint64_t(mid);
  u128 mid2 = (mid >> 64) + (p1 >> 64) + (p2 >> 64) + uint64_t(p3);
  uint64_t r2 = uint64_t(mid2), r3 = uint64_t((mid2 >> 64) + (p3 >> 64));
  // 2^128 = 159 (mod p128): fold the high half down, plus the addend.
  u128 f0 = u128(r2) * 159 + r0 + a.lo;
  u128 f1 = u128(r3) * 159 + r1 + a.hi + uint64_t(f0 >> 64);
  uint64_t over = uint64_t(f1 >> 64);
  u128 g0 = u128(over) * 159 + uint64_t(f0);
  u128 g1 = u128(uint64_t(f1)) + uint64_t(g0 >> 64);
  U128 r{uint64_t(g1), uint64_t(g0)};
  if (g1 >> 64) {  // wrapped past 2^128 once more: the remaining value is tiny
    u128 h0 = u128(r.lo) + 159;
    r.lo = uint64_t(h0);
    r.hi += uint64_t(h0 >> 64);
  }
  if (r.hi == ~uint64_t(0) && r.lo >= ~uint64_t(0) - 158) {  // r >= p128
    r.hi = 0;
    r.lo = r.lo - (~uint64_t(0) - 158);
  }
  return r;
}

U128 poly128_step(U128 k, U128 y, U128 m) {
  if ((m.hi >> 32) == 0xffffffffULL) {  // m >= maxwordrange = 2^128 - 2^96
    y = mul_add_mod_p128(k, y, U128{~uint64_t(0), ~uint64_t(0) - 159});  // marker p-1
    u128 lo = u128(m.lo) - 159;                                          // m - offset
    U128 adj{m.hi - ((lo >> 64) ? 1 : 0), uint64_t(lo)};
    return mul_add_mod_p128(k, y, adj);
  }
  return mul_add_mod_p128(k, y, m);
}

// RFC 4418 §5.3 L2-HASH, fed one L1 output at a time.
struct L2State {
  uint64_t count = 0;
  uint64_t y64 = 1;
  U128 y128{0, 1};
  uint64_t pending = 0;
  bool has_pending = false;

  void feed(uint64_t k64, U128 k128, uint64_t v) {
    ++count;
    if (count <= kPoly64Words) {
      y64 = poly64_step(k64, y64, v);
    } else if (count == kPoly64Words + 1) {
      // POLY-128 over uint2str(y64, 16) || M_2, starting from y = 1.
      y128 = poly128_step(k128, U128{0, 1}, U128{0, y64});
      pending = v;
      has_pending = true;
    } else if (has_pending) {
      y128 = poly128_step(k128, y128, U128{pending, v});
      has_pending = false;
    } else {
      pending = v;
      has_pending = true;
    }
  }
  U128 finish(U128 k128) {
    if (count <= kPoly64Words) return U128{0, y64};
    // M_2 = zeropad(M_2 || 0x80, 16)
    constexpr uint64_t kMarker = uint64_t(0x80) << 56;
    U128 last = has_pending ? U128{pending, kMarker} : U128{kMarker, 0};
    return poly128_step(k128, y128, last);
  }
};

// RFC 4418 §5.4 L3-HASH of the 16-byte L2 output (as two 64-bit halves).
uint32_t l3_hash(const uint64_t* k1, uint32_t k2, U128 m) {
  uint64_t y = 0;
  for (int i = 0; i < 8; ++i) {
    uint64_t half = i < 4 ? m.hi : m.lo;
    uint64_t word = (half >> (48 - 16 * (i % 4))) & 0xffff;
    y += word * k1[i];  // each term < 2^52, eight of them fit
  }
  y %= kP36;
  return uint32_t(y) ^ k2;
}

}  // namespace

Umac::Umac(ByteView key, size_t tag_len) {
  if (key.size() != kKeyLen) throw std::invalid_argument("UMAC key must be 16 bytes");
  if (tag_len == 0 || tag_len > kMaxTagLen || tag_len % 4 != 0)
    throw std::invalid_argument("UMAC tag length must be 4, 8, 12 or 16");
  m_iters = tag_len / 4;

  // RFC 4418 §5.6 UHASH key schedule: indexes 1..4 of the KDF.
  EvpCipherCtxPtr aes = aes128_ecb(key.data());
  uint8_t buf[kL1KeyWords * 4 + 16 * (kMaxIters - 1)];
  size_t l1_bytes = kL1ChunkLen + 16 * (m_iters - 1);
  kdf(aes.get(), 1, buf, l1_bytes);
  for (size_t i = 0; i < l1_bytes / 4; ++i) m_l1_key[i] = load_be32(buf + 4 * i);
  kdf(aes.get(), 2, buf, m_iters * 24);
  for (size_t i = 0; i < m_iters; ++i) {
    const uint8_t* k = buf + 24 * i;
    m_l2_k64[i] = load_be64(k) & kMask64;
    m_l2_k128_hi[i] = load_be64(k + 8) & kMask64;
    m_l2_k128_lo[i] = load_be64(k + 16) & kMask64;
  }
  kdf(aes.get(), 3, buf, m_iters * 64);
  for (size_t i = 0; i < m_iters; ++i)
    for (size_t w = 0; w < 8; ++w) m_l3_k1[i][w] = load_be64(buf + 64 * i + 8 * w) % kP36;
  kdf(aes.get(), 4, buf, m_iters * 4);
  for (size_t i = 0; i < m_iters; ++i) m_l3_k2[i] = load_be32(buf + 4 * i);

  // RFC 4418 §4 PDF: K' = KDF(K, 0, KEYLEN).
  kdf(aes.get(), 0, buf, kKeyLen);
  m_pdf = aes128_ecb(buf);
  OPENSSL_cleanse(buf, sizeof buf);
}

Umac::~Umac() {
  OPENSSL_cleanse(m_l1_key, sizeof m_l1_key);
  OPENSSL_cleanse(m_l2_k64, sizeof m_l2_k64);
  OPENSSL_cleanse(m_l2_k128_hi, sizeof m_l2_k128_hi);
  OPENSSL_cleanse(m_l2_k128_lo, sizeof m_l2_k128_lo);
  OPENSSL_cleanse(m_l3_k1, sizeof m_l3_k1);
  OPENSSL_cleanse(m_l3_k2, sizeof m_l3_k2);
  OPENSSL_cleanse(m_pdf_out, sizeof m_pdf_out);
}

// RFC 4418 §4 PDF: for 4- and 8-byte tags the nonce's low bits select a slice of one AES block.
void Umac::pad(ByteView nonce, uint8_t* out) {
  if (nonce.empty() || nonce.size() > kBlockLen)
    throw std::invalid_argument("UMAC nonce must be 1 to 16 bytes");
  size_t taglen = tag_len();
  uint8_t in[kBlockLen] = {};
  std::memcpy(in, nonce.data(), nonce.size());
  size_t index = 0;
  if (taglen == 4 || taglen == 8) {
    index = in[nonce.size() - 1] % (kBlockLen / taglen);
    in[nonce.size() - 1] ^= uint8_t(index);
  }
  if (!m_pdf_valid || std::memcmp(in, m_pdf_in, kBlockLen) != 0) {
    int outl = 0;
    if (EVP_EncryptUpdate(m_pdf.get(), m_pdf_out, &outl, in, kBlockLen) != 1)
      throw std::runtime_error(ossl_error("UMAC PDF"));
    std::memcpy(m_pdf_in, in, kBlockLen);
    m_pdf_valid = true;
  }
  std::memcpy(out, m_pdf_out + index * taglen, taglen);
}

// RFC 4418 §5.6 UHASH, all iterations in one pass over the message, then the tag (§3).
void Umac::compute(ByteView message, ByteView nonce, uint8_t* tag) {
  const size_t iters = m_iters;
  uint64_t l1[kMaxIters];
  U128 l2_out[kMaxIters];
  const uint8_t* p = message.data();
  size_t len = message.size();

  // §5.2 L1-HASH: every chunk but the last is a full 1024 bytes; the last (possibly empty) one
  // is zero-padded to a positive multiple of 32 bytes and contributes its true bit length.
  L2State l2[kMaxIters];
  size_t full_chunks = len == 0 ? 0 : (len - 1) / kL1ChunkLen;
  for (size_t c = 0; c < full_chunks; ++c, p += kL1ChunkLen) {
    nh_any(iters, m_l1_key, p, kL1ChunkLen, l1);
    for (size_t j = 0; j < iters; ++j)
      l2[j].feed(m_l2_k64[j], U128{m_l2_k128_hi[j], m_l2_k128_lo[j]}, l1[j] + kL1ChunkLen * 8);
  }
  size_t tail = len - full_chunks * kL1ChunkLen;
  alignas(32) uint8_t last[kL1ChunkLen];
  size_t padded = tail == 0 ? 32 : (tail + 31) / 32 * 32;
  if (tail == kL1ChunkLen) {
    nh_any(iters, m_l1_key, p, tail, l1);
  } else {
    if (tail > 0) std::memcpy(last, p, tail);
    std::memset(last + tail, 0, padded - tail);
    nh_any(iters, m_l1_key, last, padded, l1);
    OPENSSL_cleanse(last, padded);
  }
  for (size_t j = 0; j < iters; ++j) {
    uint64_t a = l1[j] + uint64_t(tail) * 8;
    if (len <= kL1ChunkLen) {
      l2_out[j] = U128{0, a};  // §5.6: B = zeroes(8) || A for short messages
    } else {
      U128 k128{m_l2_k128_hi[j], m_l2_k128_lo[j]};
      l2[j].feed(m_l2_k64[j], k128, a);
      l2_out[j] = l2[j].finish(k128);
    }
  }

  uint8_t pad_bytes[kMaxTagLen];
  pad(nonce, pad_bytes);
  for (size_t j = 0; j < iters; ++j) {
    store_be32(tag + 4 * j, l3_hash(m_l3_k1[j], m_l3_k2[j], l2_out[j]));
    for (int b = 0; b < 4; ++b) tag[4 * j + b] ^= pad_bytes[4 * j + b];
  }
}

}  // namespace postern::net
