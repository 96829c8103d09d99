// The SSH wire types of RFC 4251 §5 over byte spans: a bounded Reader that throws ProtocolError on
// anything short or malformed, and a Writer that appends. Message structs are
// encoded and decoded by encode()/decode() from their fields().
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "common/be_bytes.h"
#include "common/bytes.h"
#include "common/join.h"
#include "common/protocol_error.h"

namespace postern {

// Limits for strings read from the wire, so a hostile length never drives an allocation.
inline constexpr size_t kMaxWireString = 256 * 1024;

class Reader {
 public:
  explicit Reader(ByteView data) : m_data(data) {}

  uint8_t u8();
  bool boolean();
  uint32_t u32();
  uint64_t u64();
  // A string of at most max_len bytes; the view points into the reader's data.
  ByteView string(size_t max_len = kMaxWireString);
  std::string_view text(size_t max_len = kMaxWireString) { return as_string(string(max_len)); }
  // An mpint (RFC 4251 §5) as its two's-complement bytes; rejects negative values and
  // non-minimal encodings when `positive` is set.
  ByteView mpint(size_t max_len = 16 * 1024 + 1, bool positive = true);
  // A comma-separated name-list; empty names are refused.
  std::vector<std::string> name_list(size_t max_len = 64 * 1024);
  ByteView raw(size_t n);
  ByteView rest();

  size_t remaining() const { return m_data.size() - m_pos; }
  bool done() const { return remaining() == 0; }
  // Trailing bytes after a message are a protocol error.
  void expect_done(const char* what = "message") const;

 private:
  void need(size_t n) const;
  ByteView m_data;
  size_t m_pos = 0;
};

namespace detail {
inline void append_raw(Bytes& b, const uint8_t* p, size_t n) { b.insert(b.end(), p, p + n); }
inline void append_raw(SecretBytes& b, const uint8_t* p, size_t n) { b.append(ByteView(p, n)); }
}  // namespace detail

template <typename Buf>
class BasicWriter {
 public:
  BasicWriter() : m_out(&m_own) {}
  explicit BasicWriter(Buf& out) : m_out(&out) {}
  BasicWriter(const BasicWriter&) = delete;
  BasicWriter& operator=(const BasicWriter&) = delete;

  BasicWriter& u8(uint8_t v) { return raw(ByteView(&v, 1)); }
  BasicWriter& boolean(bool v) { return u8(v ? 1 : 0); }
  BasicWriter& u32(uint32_t v) {
    uint8_t b[4];
    store_be32(b, v);
    return raw(ByteView(b, 4));
  }
  BasicWriter& u64(uint64_t v) {
    u32(uint32_t(v >> 32));
    return u32(uint32_t(v));
  }
  BasicWriter& string(ByteView s) {
    u32(uint32_t(s.size()));
    return raw(s);
  }
  BasicWriter& string(std::string_view s) { return string(as_bytes(s)); }
  BasicWriter& string(const char* s) { return string(std::string_view(s)); }
  // An mpint from an unsigned big-endian magnitude: leading zeros dropped, a zero byte added
  // when the top bit is set (RFC 4251 §5).
  BasicWriter& mpint_unsigned(ByteView magnitude) {
    size_t i = 0;
    while (i < magnitude.size() && magnitude[i] == 0) ++i;
    magnitude = magnitude.subspan(i);
    bool pad = !magnitude.empty() && (magnitude[0] & 0x80);
    u32(uint32_t(magnitude.size() + (pad ? 1 : 0)));
    if (pad) u8(0);
    return raw(magnitude);
  }
  BasicWriter& name_list(const std::vector<std::string>& names) {
    return string(join(names, ","));  // RFC 4251 §5 name-list
  }
  BasicWriter& raw(ByteView b) {
    detail::append_raw(*m_out, b.data(), b.size());
    return *this;
  }

  Buf& buffer() { return *m_out; }
  Buf take() { return std::move(*m_out); }
  size_t size() const { return m_out->size(); }

 private:
  Buf m_own;
  Buf* m_out;
};

using Writer = BasicWriter<Bytes>;
using SecretWriter = BasicWriter<SecretBytes>;

// ---- Message structs ------------------------------------------------------------------------
// A message struct has `auto fields()` returning std::tie of its members in wire order, and
// `static constexpr uint8_t kType` when it is a whole message (a payload nested in another
// message, such as a channel request's arguments, has none). An optional
// `static constexpr const char* kName` names it in the trailing-bytes error. Member types map to
// wire types:
//   uint8_t → byte, bool → boolean, uint32_t, uint64_t, std::string → string (text),
//   Text<N> → string (text) of at most N bytes, Bytes → string (binary), Mpint → mpint,
//   Rest → the remaining bytes.

// A text string whose length limit is part of its type, so decode() refuses a longer one before
// the handler sees it (RFC 4251 §5 strings carry a uint32 length; the limit keeps a hostile
// length from becoming an allocation).
template <size_t N>
struct Text {
  std::string value;
  Text() = default;
  template <typename S>
  requires std::constructible_from<std::string, S> Text(S&& s)
      : value(std::forward<S>(s)) {}  // implicit: structs are built from literals and views
  bool operator==(const Text&) const = default;
};

struct Mpint {
  Bytes bytes;  // two's-complement as on the wire
  bool operator==(const Mpint&) const = default;
};
struct Rest {
  Bytes bytes;
  bool operator==(const Rest&) const = default;
};

namespace detail {
inline void read_field(Reader& r, uint8_t& v) { v = r.u8(); }
inline void read_field(Reader& r, bool& v) { v = r.boolean(); }
inline void read_field(Reader& r, uint32_t& v) { v = r.u32(); }
inline void read_field(Reader& r, uint64_t& v) { v = r.u64(); }
inline void read_field(Reader& r, std::string& v) { v = std::string(r.text()); }
template <size_t N>
void read_field(Reader& r, Text<N>& v) {
  v.value = std::string(r.text(N));
}
inline void read_field(Reader& r, Bytes& v) {
  auto s = r.string();
  v.assign(s.begin(), s.end());
}
inline void read_field(Reader& r, Mpint& v) {
  auto s = r.mpint();
  v.bytes.assign(s.begin(), s.end());
}
inline void read_field(Reader& r, Rest& v) {
  auto s = r.rest();
  v.bytes.assign(s.begin(), s.end());
}
inline void write_field(Writer& w, uint8_t v) { w.u8(v); }
inline void write_field(Writer& w, bool v) { w.boolean(v); }
inline void write_field(Writer& w, uint32_t v) { w.u32(v); }
inline void write_field(Writer& w, uint64_t v) { w.u64(v); }
inline void write_field(Writer& w, const std::string& v) { w.string(v); }
template <size_t N>
void write_field(Writer& w, const Text<N>& v) {
  w.string(v.value);
}
inline void write_field(Writer& w, const Bytes& v) {
  w.string(ByteView(v));
}
inline void write_field(Writer& w, const Mpint& v) {
  w.u32(uint32_t(v.bytes.size()));
  w.raw(v.bytes);
}
inline void write_field(Writer& w, const Rest& v) { w.raw(v.bytes); }

template <typename Msg>
concept HasType = requires {
  Msg::kType;
};
template <typename Msg>
concept HasName = requires {
  Msg::kName;
};
}  // namespace detail

// Decodes a whole message (or a nested payload): checks the type byte when the struct has one,
// every field with its limits, and that nothing trails.
template <typename Msg>
Msg decode(ByteView payload) {
  Reader r(payload);
  if constexpr (detail::HasType<Msg>) {
    if (r.u8() != Msg::kType) throw ProtocolError("unexpected message type");
  }
  Msg m{};
  std::apply([&](auto&... f) { (detail::read_field(r, f), ...); }, m.fields());
  if constexpr (detail::HasName<Msg>) {
    r.expect_done(Msg::kName);
  } else {
    r.expect_done();
  }
  return m;
}

template <typename Msg>
void encode_into(Writer& w, Msg& m) {
  if constexpr (detail::HasType<Msg>) w.u8(Msg::kType);
  std::apply([&](auto&... f) { (detail::write_field(w, f), ...); }, m.fields());
}

template <typename Msg>
Bytes encode(Msg m) {
  Writer w;
  encode_into(w, m);
  return w.take();
}

}  // namespace postern
