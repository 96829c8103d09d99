// Byte containers. SecretBytes wipes itself (OPENSSL_cleanse) so keys do not linger in freed heap.
#pragma once

#include <openssl/crypto.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace postern {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;
using MutableByteView = std::span<uint8_t>;

inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_string(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

// Constant-time comparison for MACs and secrets.
inline bool equal_ct(ByteView a, ByteView b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t n) : m_b(n) {}
  explicit SecretBytes(ByteView v) : m_b(v.begin(), v.end()) {}
  SecretBytes(const SecretBytes& o) : m_b(o.m_b) {}
  SecretBytes(SecretBytes&& o) noexcept : m_b(std::move(o.m_b)) {}
  SecretBytes& operator=(const SecretBytes& o) {
    if (this != &o) { wipe(); m_b = o.m_b; }
    return *this;
  }
  SecretBytes& operator=(SecretBytes&& o) noexcept {
    if (this != &o) { wipe(); m_b = std::move(o.m_b); }
    return *this;
  }
  ~SecretBytes() { wipe(); }

  uint8_t* data() { return m_b.data(); }
  const uint8_t* data() const { return m_b.data(); }
  size_t size() const { return m_b.size(); }
  bool empty() const { return m_b.empty(); }
  uint8_t& operator[](size_t i) { return m_b[i]; }
  const uint8_t& operator[](size_t i) const { return m_b[i]; }
  ByteView view() const { return m_b; }
  MutableByteView mutable_view() { return m_b; }
  operator ByteView() const { return m_b; }
  // Growing may reallocate: wipe the old storage ourselves rather than trust the allocator.
  void append(ByteView v) {
    if (m_b.size() + v.size() > m_b.capacity()) {
      std::vector<uint8_t> bigger;
      bigger.reserve((m_b.size() + v.size()) * 2);
      bigger.assign(m_b.begin(), m_b.end());
      wipe();
      m_b = std::move(bigger);
    }
    m_b.insert(m_b.end(), v.begin(), v.end());
  }
  void resize(size_t n) {
    if (n > m_b.capacity()) {
      std::vector<uint8_t> bigger;
      bigger.reserve(n);
      bigger.assign(m_b.begin(), m_b.end());
      wipe();
      m_b = std::move(bigger);
    }
    m_b.resize(n);
  }
  void clear() { wipe(); m_b.clear(); }

 private:
  void wipe() {
    if (!m_b.empty()) OPENSSL_cleanse(m_b.data(), m_b.size());
  }
  std::vector<uint8_t> m_b;
};

std::string hex(ByteView b);
Bytes from_hex(std::string_view hex);  // throws std::invalid_argument on bad input
std::string base64_encode(ByteView b, bool pad = true);
// Returns false on malformed input; whitespace is not accepted.
bool base64_decode(std::string_view text, Bytes& out);

}  // namespace postern
