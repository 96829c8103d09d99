// The proxy front door's request (../shared/BASTION.md "How people connect", ProxyCommand): the
// first bytes of a connection on `proxy_listen` name the target, in one of the proxy protocols
// stock clients speak (netcat-openbsd's `nc -X connect|4|5`, browsers, libcurl):
//
//   HTTP CONNECT  RFC 9110 §9.3.6: "CONNECT host:port HTTP/1.1", header lines, a blank line
//   SOCKS4        VN 4, CD 1, port, IPv4 address, user id, NUL
//   SOCKS4a       the same with address 0.0.0.x (x != 0), then a host name, NUL
//   SOCKS5        RFC 1928: a method choice (only "no authentication", 0x00), then a CONNECT
//                 request with an IPv4 address, a domain name or an IPv6 address
//
// Pure: bytes in, bytes to send and the outcome out, so it is table-tested and fuzzed without a
// socket; sshd-net (the unprivileged pre-auth child) does the I/O and keeps the deadline. The
// request is answered with success before the target is decided (that happens after
// authentication), so the reply carries no bound address. Everything here is untrusted: the
// monitor checks the host and port again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/bytes.h"

namespace postern::bastion {

enum class ProxyKind : uint8_t { kHttpConnect = 1, kSocks4 = 2, kSocks4a = 3, kSocks5 = 4 };
// "http-connect", "socks4", "socks4a", "socks5": the door's name in logs and audit events.
std::string_view proxy_kind_name(ProxyKind kind);

// The most bytes a whole request may take (SOCKS5's method choice included); a longer one is
// refused. Generous for a CONNECT line with a few headers, ample for any SOCKS request.
inline constexpr size_t kMaxProxyRequest = 4096;
// The longest host name accepted (RFC 1928's length byte allows 255; so does DNS).
inline constexpr size_t kMaxProxyHost = 255;

class ProxyRequestParser {
 public:
  enum class Status { kNeedMore, kDone, kError };
  struct Step {
    Status status = Status::kNeedMore;
    // To send now: SOCKS5's method choice (then more is needed), the success reply (kDone), or
    // the error reply (kError, then close; empty when the protocol has none to give).
    Bytes send;
    std::string error;  // kError: why, for the log (safe to log: no raw client bytes)
  };

  // Takes the next bytes the client sent. After kDone or kError further calls are an error.
  Step feed(ByteView data);

  // The deadline passed (or the client closed) before the request was whole: kError, with the
  // error reply of the protocol begun (HTTP 408 when nothing told it apart). Ends the parser.
  Step expire();

  // After kDone: what the client asked for and the bytes it sent behind the request (a client
  // may send its SSH version line without waiting for the reply).
  ProxyKind kind() const { return m_kind; }
  const std::string& host() const { return m_host; }  // a host name or a numeric address
  uint16_t port() const { return m_port; }
  const Bytes& leftover() const { return m_leftover; }

 private:
  Step parse();
  Step parse_http();
  Step parse_socks4();
  Step parse_socks5();
  Step done(Bytes reply, size_t consumed);
  // The error reply for a request refused before it was whole (too long, too slow).
  Step refuse_unfinished(const std::string& why, int http_code);

  Bytes m_buffer;                // the request so far, at most kMaxProxyRequest
  size_t m_socks5_greeting = 0;  // SOCKS5: length of the method choice, once answered
  bool m_finished = false;
  ProxyKind m_kind = ProxyKind::kHttpConnect;
  std::string m_host;
  uint16_t m_port = 0;
  Bytes m_leftover;
};

// Whether `host` is what the parser hands on: a numeric IPv4 or IPv6 address (no brackets) or a
// host name of letters, digits, '-', '_' and '.', 1..kMaxProxyHost bytes. The monitor uses it
// again on what the net child sends.
bool is_proxy_host(std::string_view host);

}  // namespace postern::bastion
