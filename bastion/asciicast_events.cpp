#include "bastion/asciicast_events.h"

#include <cstdio>
#include <cstring>

namespace postern::bastion {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// RFC 8259 §7: '"', '\\' and the control characters must be escaped; DEL is too, so a terminal
// viewing the raw file is not driven by it.
bool plain_ascii(uint8_t b) {
  return b >= 0x20 && b < 0x7f && b != '"' && b != '\\';
}

// The end of the run of plain ASCII from p[i]: eight bytes at a time (bit tricks on a 64-bit
// word: a byte below 0x20, at or above 0x7f, '"' or '\\' sets its high bit in `special`; a
// false alarm only sends those eight bytes the slow way), then byte by byte.
size_t plain_run_end(const uint8_t* p, size_t i, size_t n) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHighs = 0x8080808080808080ull;
  auto has_zero = [&](uint64_t v) { return (v - kOnes) & ~v & kHighs; };
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    std::memcpy(&x, p + i, 8);
    uint64_t special = ((x - kOnes * 0x20) & ~x) | x | (x + kOnes);
    special = (special & kHighs) | has_zero(x ^ (kOnes * '"')) | has_zero(x ^ (kOnes * '\\'));
    if (special != 0) break;
  }
  while (i < n && plain_ascii(p[i])) ++i;
  return i;
}

void append_escaped_ascii(std::string& out, uint8_t b) {
  switch (b) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    default: {
      char u[8];
      std::snprintf(u, sizeof u, "\\u%04x", b);
      out += u;
    }
  }
}

// Unicode §3.9 Table 3-7: the sequence length a lead byte starts and the range its second byte
// must be in (which rules out overlong forms, surrogates and code points past U+10FFFF).
struct Lead {
  int length;  // 0: not a lead byte
  uint8_t lo, hi;
};

Lead lead(uint8_t b) {
  if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};
  if (b == 0xED) return {3, 0x80, 0x9F};
  if (b >= 0xE1 && b <= 0xEF) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

// "64 MiB", "512 KiB", or bytes: the cap as the policy most likely wrote it.
std::string size_text(uint64_t n) {
  if (n >= (1u << 20) && n % (1u << 20) == 0) return std::to_string(n >> 20) + " MiB";
  if (n >= (1u << 10) && n % (1u << 10) == 0) return std::to_string(n >> 10) + " KiB";
  return std::to_string(n) + " bytes";
}

}  // namespace

void append_json_utf8(std::string& out, ByteView data, std::string* tail) {
  const uint8_t* p = data.data();
  size_t n = data.size(), i = 0;
  while (i < n) {
    // Runs of printable ASCII go out in one append: the bulk of terminal output.
    size_t run = plain_run_end(p, i, n);
    if (run > i) {
      out.append(reinterpret_cast<const char*>(p + i), run - i);
      i = run;
      continue;
    }
    uint8_t b = p[i];
    if (b < 0x80) {
      append_escaped_ascii(out, b);
      ++i;
      continue;
    }
    Lead l = lead(b);
    if (l.length == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    int k = 1;
    for (; k < l.length && i + k < n; ++k) {
      uint8_t c = p[i + k];
      uint8_t lo = k == 1 ? l.lo : 0x80, hi = k == 1 ? l.hi : 0xBF;
      if (c < lo || c > hi) break;
    }
    if (k == l.length) {
      out.append(reinterpret_cast<const char*>(p + i), size_t(l.length));
      i += size_t(l.length);
    } else if (i + k == n && tail != nullptr) {
      // Valid so far and cut by the end of the data: the rest may come in the next packet.
      tail->assign(reinterpret_cast<const char*>(p + i), n - i);
      return;
    } else {
      out += kReplacement;  // the maximal ill-formed subpart: lead and the good bytes after it
      i += size_t(k);
    }
  }
}

std::string asciicast_time(uint64_t time_us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llu.%06llu", static_cast<unsigned long long>(time_us / 1000000),
                static_cast<unsigned long long>(time_us % 1000000));
  return buf;
}

AsciicastEvents::AsciicastEvents(uint64_t limit, uint64_t used) : m_limit(limit), m_bytes(used) {}

void AsciicastEvents::output(uint64_t time_us, ByteView data, std::string& out) {
  event(time_us, m_output, data, false, out);
}

void AsciicastEvents::input(uint64_t time_us, ByteView data, std::string& out) {
  event(time_us, m_input, data, false, out);
}

void AsciicastEvents::resize(uint64_t time_us, uint32_t cols, uint32_t rows, std::string& out) {
  std::string size = std::to_string(cols) + "x" + std::to_string(rows);
  append_line(
      time_us, 'r', [&](std::string& o) { o += size; }, out);
}

void AsciicastEvents::notice(uint64_t time_us, std::string_view text, std::string& out) {
  ByteView bytes(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  append_line(
      time_us, 'o', [&](std::string& o) { append_json_utf8(o, bytes, nullptr); }, out);
}

void AsciicastEvents::finish(uint64_t time_us, std::string& out) {
  event(time_us, m_output, {}, true, out);
  event(time_us, m_input, {}, true, out);
}

void AsciicastEvents::event(uint64_t time_us, Stream& s, ByteView data, bool final,
                            std::string& out) {
  if (m_cut || (data.empty() && s.tail.empty())) return;
  std::string* tail = final ? nullptr : &s.tail;
  if (!s.tail.empty()) {
    // Rare (a character split across packets): the held bytes and this data, decoded as one.
    std::string joined = std::move(s.tail);
    s.tail.clear();
    joined.append(reinterpret_cast<const char*>(data.data()), data.size());
    ByteView all(reinterpret_cast<const uint8_t*>(joined.data()), joined.size());
    append_line(
        time_us, s.code, [&](std::string& o) { append_json_utf8(o, all, tail); }, out);
  } else {
    append_line(
        time_us, s.code, [&](std::string& o) { append_json_utf8(o, data, tail); }, out);
  }
}

// The line is built in place at the end of `out` (the bulk path: no copy of the data besides
// the escaping), and taken back when its text is empty or it would pass the cap.
template <typename Text>
void AsciicastEvents::append_line(uint64_t time_us, char code, Text&& text, std::string& out) {
  if (m_cut) return;
  if (time_us < m_last_us) time_us = m_last_us;
  size_t start = out.size();
  out += '[';
  out += asciicast_time(time_us);
  out += ", \"";
  out += code;
  out += "\", \"";
  size_t text_start = out.size();
  text(out);
  if (out.size() == text_start) {
    out.resize(start);  // all of it held back (a split character): no empty event
    return;
  }
  out += "\"]\n";
  m_last_us = time_us;
  if (m_bytes + (out.size() - start) + kMarkerRoom > m_limit) {
    // The cap (policy record_max_bytes): one marker where it was cut, then nothing.
    m_cut = true;
    out.resize(start);
    out += "[" + asciicast_time(time_us) + ", \"o\", \"\\r\\n[postern: recording cut at " +
           size_text(m_limit) + "]\\r\\n\"]\n";
  }
  m_bytes += out.size() - start;
}

}  // namespace postern::bastion
