#include "common/bytes.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace postern {

std::string hex(ByteView b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(b.size() * 2);
  for (uint8_t c : b) {
    s += kDigits[c >> 4];
    s += kDigits[c & 15];
  }
  return s;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Bytes from_hex(std::string_view text) {
  if (text.size() % 2) throw std::invalid_argument("odd-length hex string");
  Bytes out(text.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) throw std::invalid_argument("bad hex digit");
    out[i] = uint8_t(hi << 4 | lo);
  }
  return out;
}

std::string base64_encode(ByteView b, bool pad) {
  std::string out(4 * ((b.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), b.data(), int(b.size()));
  out.resize(size_t(n));
  if (!pad)
    while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

bool base64_decode(std::string_view text, Bytes& out) {
  if (text.size() % 4) return false;
  for (char c : text)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=')) return false;
  out.assign(text.size() / 4 * 3, 0);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                          int(text.size()));
  if (n < 0) return false;
  // EVP_DecodeBlock counts padding as zero bytes: trim them.
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') ++pad;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++pad;
  out.resize(size_t(n) - pad);
  return true;
}

}  // namespace postern
