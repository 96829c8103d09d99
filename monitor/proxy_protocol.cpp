#include "monitor/proxy_protocol.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace postern::monitor::proxy_protocol {
namespace {

// §2.2: the twelve bytes that open a v2 header ("\r\n\r\n\0\r\nQUIT\n").
constexpr std::array<uint8_t, 12> kV2Signature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                  0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr std::string_view kV1Prefix = "PROXY ";
// The shortest header of either version: "PROXY UNKNOWN\r\n" is 15 bytes, a v2 block 16. Reading
// this much first never reads past a header.
constexpr size_t kFirstRead = 15;

// §2.1: a port is decimal 0..65535 without leading zeros.
bool parse_port(std::string_view s, uint16_t& out) {
  if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return false;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + unsigned(c - '0');
  }
  if (v > 65535) return false;
  out = uint16_t(v);
  return true;
}

bool parse_address(std::string_view s, int family, uint8_t* out) {
  if (s.empty() || s.size() > 39) return false;
  char text[40] = {};
  std::memcpy(text, s.data(), s.size());
  return inet_pton(family, text, out) == 1;
}

std::vector<std::string_view> split_spaces(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t sp = s.find(' ', start);
    parts.push_back(s.substr(start, sp - start));
    if (sp == std::string_view::npos) break;
    start = sp + 1;
  }
  return parts;
}

}  // namespace

const char* describe(Error e) {
  switch (e) {
    case Error::kNone:
      return "no error";
    case Error::kTimeout:
      return "no complete header in time";
    case Error::kClosed:
      return "connection closed inside the header";
    case Error::kNotAHeader:
      return "not a PROXY protocol header";
    case Error::kV1TooLong:
      return "v1 header longer than 107 bytes";
    case Error::kV1Malformed:
      return "malformed v1 header";
    case Error::kV2BadVersion:
      return "v2 header of an unknown version";
    case Error::kV2BadCommand:
      return "v2 header with an unknown command";
    case Error::kV2TooLong:
      return "v2 header longer than allowed";
    case Error::kV2BadFamily:
      return "v2 header for an unsupported address family or transport";
    case Error::kV2ShortAddress:
      return "v2 header too short for its addresses";
    case Error::kReaderFailed:
      return "the header reader failed";
    case Error::kCount:
      break;
  }
  return "unknown error";
}

size_t Parser::wanted() const {
  if (done()) return 0;
  if (m_version == 0) return kFirstRead - m_buf.size();
  // v1: the line's end is not known in advance; one byte at a time never reads past it.
  if (m_version == 1) return 1;
  if (m_buf.size() < kV2Fixed) return kV2Fixed - m_buf.size();
  return m_v2_total - m_buf.size();
}

void Parser::feed(std::span<const uint8_t> bytes) {
  if (bytes.size() > wanted()) throw std::logic_error("PROXY header parser fed past the header");
  m_buf.insert(m_buf.end(), bytes.begin(), bytes.end());
  if (m_version == 0) {
    if (m_buf.size() < kFirstRead) return;
    decide_version();
    if (done()) return;
  }
  if (m_version == 1) {
    if (m_buf.back() == '\n') return finish_v1();
    if (m_buf.size() >= kMaxV1Line) m_error = Error::kV1TooLong;
    return;
  }
  if (m_buf.size() == kV2Fixed) {
    // §2.2: the 13th byte is version (high nibble, 2) and command (low: 0 LOCAL, 1 PROXY).
    if ((m_buf[12] >> 4) != 2) {
      m_error = Error::kV2BadVersion;
      return;
    }
    if ((m_buf[12] & 0x0F) > 1) {
      m_error = Error::kV2BadCommand;
      return;
    }
    size_t len = size_t(m_buf[14]) << 8 | m_buf[15];
    if (len > kMaxV2Payload) {
      m_error = Error::kV2TooLong;
      return;
    }
    m_v2_total = kV2Fixed + len;
  }
  if (m_buf.size() >= kV2Fixed && m_buf.size() == m_v2_total) finish_v2();
}

void Parser::decide_version() {
  if (std::equal(kV1Prefix.begin(), kV1Prefix.end(), m_buf.begin())) {
    m_version = 1;
    // A line feed inside the first bytes ends a line that cannot be a header.
    if (std::find(m_buf.begin(), m_buf.end() - 1, '\n') != m_buf.end() - 1) {
      m_error = Error::kV1Malformed;
      return;
    }
    // A 15-byte line is complete already ("PROXY UNKNOWN\r\n").
    if (m_buf.back() == '\n') finish_v1();
  } else if (std::equal(kV2Signature.begin(), kV2Signature.end(), m_buf.begin())) {
    m_version = 2;
  } else {
    m_error = Error::kNotAHeader;
  }
}

// §2.1: "PROXY" SP ( "TCP4" | "TCP6" ) SP src SP dst SP sport SP dport CRLF, single spaces; or
// "PROXY UNKNOWN" followed by anything up to CRLF, which the receiver ignores.
void Parser::finish_v1() {
  m_error = Error::kV1Malformed;
  std::string_view line(reinterpret_cast<const char*>(m_buf.data()), m_buf.size());
  if (line.size() < 2 || line[line.size() - 2] != '\r') return;
  line.remove_suffix(2);
  if (line.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) return;
  line.remove_prefix(kV1Prefix.size());
  m_header.version = 1;
  if (line == "UNKNOWN" || line.starts_with("UNKNOWN ")) {
    m_error = Error::kNone;
    m_complete = true;
    return;
  }
  auto parts = split_spaces(line);
  if (parts.size() != 5) return;
  int family = parts[0] == "TCP4" ? AF_INET : parts[0] == "TCP6" ? AF_INET6 : 0;
  if (family == 0) return;
  uint8_t dst[16];
  uint16_t dst_port;
  if (!parse_address(parts[1], family, m_header.address.data()) ||
      !parse_address(parts[2], family, dst) || !parse_port(parts[3], m_header.port) ||
      !parse_port(parts[4], dst_port))
    return;
  m_header.family = family;
  m_header.has_client = true;
  m_error = Error::kNone;
  m_complete = true;
}

// §2.2: after the 16 fixed bytes, the addresses of the family (IPv4: 4+4+2+2, IPv6: 16+16+2+2)
// and then TLVs up to the length, which are skipped.
void Parser::finish_v2() {
  m_header.version = 2;
  const uint8_t* p = m_buf.data() + kV2Fixed;
  size_t len = m_buf.size() - kV2Fixed;
  // LOCAL: the proxy's own connection (a health check); the block, family included, is ignored.
  bool local = (m_buf[12] & 0x0F) == 0;
  uint8_t fam = m_buf[13];
  if (local || fam == 0x00) {
    // UNSPEC with PROXY: §2.2 lets the receiver keep the real endpoints, which we do.
    m_complete = true;
    return;
  }
  size_t addr_len;
  if (fam == 0x11) {  // TCP over IPv4
    m_header.family = AF_INET;
    addr_len = 4;
  } else if (fam == 0x21) {  // TCP over IPv6
    m_header.family = AF_INET6;
    addr_len = 16;
  } else {
    m_error = Error::kV2BadFamily;
    return;
  }
  if (len < 2 * addr_len + 4) {
    m_error = Error::kV2ShortAddress;
    return;
  }
  std::memcpy(m_header.address.data(), p, addr_len);
  m_header.port = uint16_t(p[2 * addr_len] << 8 | p[2 * addr_len + 1]);
  m_header.has_client = true;
  m_complete = true;
}

Endpoint client_endpoint(const Header& h) {
  char text[INET6_ADDRSTRLEN] = {};
  const uint8_t* a = h.address.data();
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (h.family == AF_INET6 && std::memcmp(a, kMapped, sizeof kMapped) == 0)
    inet_ntop(AF_INET, a + 12, text, sizeof text);
  else
    inet_ntop(h.family, a, text, sizeof text);
  return Endpoint{text, int(h.port)};
}

}  // namespace postern::monitor::proxy_protocol
