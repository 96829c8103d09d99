#include "common/wire.h"

#include <cstring>

namespace postern {

void Reader::need(size_t n) const {
  if (n > remaining()) throw ProtocolError("truncated message");
}

uint8_t Reader::u8() {
  need(1);
  return m_data[m_pos++];
}

bool Reader::boolean() { return u8() != 0; }

uint32_t Reader::u32() {
  need(4);
  uint32_t v = load_be32(m_data.data() + m_pos);
  m_pos += 4;
  return v;
}

uint64_t Reader::u64() {
  uint64_t hi = u32();
  return hi << 32 | u32();
}

ByteView Reader::raw(size_t n) {
  need(n);
  ByteView v = m_data.subspan(m_pos, n);
  m_pos += n;
  return v;
}

ByteView Reader::string(size_t max_len) {
  uint32_t len = u32();
  if (len > max_len) throw ProtocolError("string too long");
  return raw(len);
}

ByteView Reader::mpint(size_t max_len, bool positive) {
  ByteView v = string(max_len);
  if (v.empty()) return v;
  if (positive && (v[0] & 0x80)) throw ProtocolError("negative mpint");
  // Minimal encoding: a leading zero only when it keeps the next byte's top bit from meaning sign.
  if (v[0] == 0 && (v.size() == 1 || !(v[1] & 0x80))) throw ProtocolError("non-minimal mpint");
  return v;
}

std::vector<std::string> Reader::name_list(size_t max_len) {
  std::string_view s = text(max_len);
  std::vector<std::string> out;
  if (s.empty()) return out;
  size_t start = 0;
  while (true) {
    size_t comma = s.find(',', start);
    std::string_view name = s.substr(start, comma == std::string_view::npos ? s.npos : comma - start);
    if (name.empty()) throw ProtocolError("empty name in name-list");
    out.emplace_back(name);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

ByteView Reader::rest() { return raw(remaining()); }

void Reader::expect_done(const char* what) const {
  if (!done()) throw ProtocolError(std::string("trailing bytes after ") + what);
}

}  // namespace postern
