// The PROXY protocol (HAProxy's proxy-protocol.txt, versions 1 and 2): the header a load balancer
// sends before the client's bytes, naming the client it connects for. sshd-session reads it, for
// connections from ProxyProtocolFrom only, in a jailed child (monitor/proxy_header_reader.h).
//
// The parser takes the bytes as they come and asks for no more than the header still holds, so
// the client's SSH version line behind it stays in the socket for sshd-net. Every length is
// bounded: a v1 line is at most 107 bytes (spec §2.1), a v2 block at most 16 + kMaxV2Payload.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/endpoint.h"

namespace postern::monitor::proxy_protocol {

inline constexpr size_t kMaxV1Line = 107;  // §2.1: "PROXY UNKNOWN <39> <39> 65535 65535\r\n"
inline constexpr size_t kV2Fixed = 16;     // §2.2: signature, ver_cmd, fam, len
// §2.2 allows 65535 bytes of addresses and TLVs; ours are ignored, so this only has to be larger
// than what a load balancer sends (addresses 36, HAProxy's TLVs a few hundred).
inline constexpr size_t kMaxV2Payload = 1024;

enum class Error : uint8_t {
  kNone = 0,
  kTimeout,         // no complete header before the deadline
  kClosed,          // the peer closed (or the read failed) inside the header
  kNotAHeader,      // neither "PROXY " nor the v2 signature
  kV1TooLong,       // no CRLF within 107 bytes
  kV1Malformed,     // wrong field count, protocol, address or port
  kV2BadVersion,    // version nibble is not 2
  kV2BadCommand,    // command nibble is neither LOCAL nor PROXY
  kV2TooLong,       // length past kMaxV2Payload
  kV2BadFamily,     // a family/transport other than TCP over IPv4 or IPv6 (or UNSPEC)
  kV2ShortAddress,  // length smaller than the addresses of the family
  kReaderFailed,    // the jailed reader died or answered nonsense (proxy_header_reader.h)
  kCount,
};
const char* describe(Error e);

// What a complete header says.
struct Header {
  int version = 0;  // 1 or 2
  // False for v1 "PROXY UNKNOWN" and for v2's LOCAL command or UNSPEC family (a load balancer's
  // own health check): the connection keeps its real addresses (§2.1, §2.2).
  bool has_client = false;
  int family = 0;                     // AF_INET or AF_INET6 when has_client
  std::array<uint8_t, 16> address{};  // 4 or 16 bytes used, network order
  uint16_t port = 0;
};

class Parser {
 public:
  // How many bytes the next read may take (never past the end of the header); 0 once done().
  size_t wanted() const;
  // Takes at most wanted() bytes (more is a programming error and throws std::logic_error).
  void feed(std::span<const uint8_t> bytes);
  bool done() const { return m_error != Error::kNone || m_complete; }
  // kNone with done(): header() holds the result.
  Error error() const { return m_error; }
  const Header& header() const { return m_header; }

 private:
  void decide_version();
  void finish_v1();
  void finish_v2();

  std::vector<uint8_t> m_buf;
  int m_version = 0;  // 0 until the first bytes decide
  size_t m_v2_total = 0;
  bool m_complete = false;
  Error m_error = Error::kNone;
  Header m_header;
};

// The client's address and port as the processes log and match them: numeric, an IPv4-mapped
// IPv6 address shown as IPv4 (common/endpoint.h). Requires has_client.
Endpoint client_endpoint(const Header& h);

}  // namespace postern::monitor::proxy_protocol
