#include "bastion/proxy_request.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>

namespace postern::bastion {

namespace {

using Status = ProxyRequestParser::Status;
using Step = ProxyRequestParser::Step;

constexpr uint8_t kSocks4Version = 4;
constexpr uint8_t kSocks5Version = 5;
constexpr size_t kMaxSocks4UserId = 255;  // the SOCKS4 notes set no limit; ours keeps it small

// SOCKS4 reply codes (the SOCKS4 protocol notes, "CD").
constexpr uint8_t kSocks4Granted = 90;
constexpr uint8_t kSocks4Rejected = 91;

// RFC 1928 §6 reply codes.
enum Socks5Reply : uint8_t {
  kSucceeded = 0x00,
  kGeneralFailure = 0x01,
  kHostUnreachable = 0x04,
  kCommandNotSupported = 0x07,
  kAddressTypeNotSupported = 0x08,
};

Bytes to_bytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

Step fail(Bytes reply, std::string why) {
  return Step{Status::kError, std::move(reply), std::move(why)};
}

// RFC 9110 §15: a short plain-text body saying why, and the connection closes.
Step http_fail(int code, std::string why) {
  std::string reason = code == 405   ? "Method Not Allowed"
                       : code == 408 ? "Request Timeout"  // RFC 9110 §15.5.9
                                     : "Bad Request";
  std::string body = "postern: " + why + "\n";
  std::string text = "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\n";
  if (code == 405) text += "Allow: CONNECT\r\n";  // RFC 9110 §15.5.6: MUST list what is allowed
  text += "Content-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\nConnection: close\r\n\r\n" + body;
  return fail(to_bytes(text), "HTTP: " + why);
}

// The SOCKS4 reply: VN 0, CD, then a port and address the client ignores.
Bytes socks4_reply(uint8_t code) {
  return Bytes{0, code, 0, 0, 0, 0, 0, 0};
}

// RFC 1928 §6: VER, REP, RSV, ATYP 1 (IPv4) and BND.ADDR/BND.PORT 0.0.0.0:0 (the target is
// not connected yet, so there is no bound address to report).
Bytes socks5_reply(uint8_t rep) {
  return Bytes{kSocks5Version, rep, 0, 1, 0, 0, 0, 0, 0, 0};
}

bool is_tchar(char c) {  // RFC 9110 §5.6.2 token characters
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

// 1..65535 as decimal digits, nothing else.
bool parse_port(std::string_view s, uint16_t& port) {
  if (s.empty() || s.size() > 5) return false;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + unsigned(c - '0');
  }
  if (v == 0 || v > 65535) return false;
  port = uint16_t(v);
  return true;
}

bool is_ipv6(std::string_view s) {
  in6_addr a{};
  return s.size() < INET6_ADDRSTRLEN && inet_pton(AF_INET6, std::string(s).c_str(), &a) == 1;
}

std::string format_address(int family, const uint8_t* raw) {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, raw, text, sizeof text);
  return text;
}

uint16_t be16(const uint8_t* p) {
  return uint16_t(p[0] << 8 | p[1]);
}

}  // namespace

std::string_view proxy_kind_name(ProxyKind kind) {
  switch (kind) {
    case ProxyKind::kHttpConnect:
      return "http-connect";
    case ProxyKind::kSocks4:
      return "socks4";
    case ProxyKind::kSocks4a:
      return "socks4a";
    case ProxyKind::kSocks5:
      return "socks5";
  }
  return "?";
}

bool is_proxy_host(std::string_view host) {
  if (host.empty() || host.size() > kMaxProxyHost) return false;
  if (host.find(':') != std::string_view::npos) return is_ipv6(host);
  if (host.front() == '-' || host.front() == '.') return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

Step ProxyRequestParser::feed(ByteView data) {
  if (m_finished) return fail({}, "proxy request: bytes after the request was answered");
  // Bounded: at most kMaxProxyRequest bytes are parsed. What comes beyond them is kept only
  // when the request ends before the limit (the client's first SSH bytes, sent early).
  size_t take = std::min(data.size(), kMaxProxyRequest - m_buffer.size());
  m_buffer.insert(m_buffer.end(), data.begin(), data.begin() + long(take));
  Step step = parse();
  if (step.status == Status::kDone)
    m_leftover.insert(m_leftover.end(), data.begin() + long(take), data.end());
  if (step.status == Status::kNeedMore && m_buffer.size() >= kMaxProxyRequest) {
    Bytes choice = std::move(step.send);  // SOCKS5's method choice, if it was made just now
    step = refuse_unfinished("request longer than " + std::to_string(kMaxProxyRequest) + " bytes",
                             400);
    choice.insert(choice.end(), step.send.begin(), step.send.end());
    step.send = std::move(choice);
  }
  if (step.status != Status::kNeedMore) m_finished = true;
  return step;
}

Step ProxyRequestParser::expire() {
  if (m_finished) return fail({}, "proxy request: already answered");
  m_finished = true;
  return refuse_unfinished("no whole request in time", 408);
}

Step ProxyRequestParser::refuse_unfinished(const std::string& why, int http_code) {
  if (!m_buffer.empty() && m_buffer[0] == kSocks4Version)
    return fail(socks4_reply(kSocks4Rejected), "SOCKS4: " + why);
  if (!m_buffer.empty() && m_buffer[0] == kSocks5Version)
    return fail(m_socks5_greeting ? socks5_reply(kGeneralFailure) : Bytes{kSocks5Version, 0xff},
                "SOCKS5: " + why);
  return http_fail(http_code, why);
}

Step ProxyRequestParser::done(Bytes reply, size_t consumed) {
  m_leftover.assign(m_buffer.begin() + long(consumed), m_buffer.end());
  return Step{Status::kDone, std::move(reply), {}};
}

Step ProxyRequestParser::parse() {
  if (m_buffer.empty()) return {};
  uint8_t first = m_buffer[0];
  if (first == kSocks4Version) return parse_socks4();
  if (first == kSocks5Version) return parse_socks5();
  if (first >= 'A' && first <= 'Z') return parse_http();
  // Nothing a proxy client sends first: a text answer is the only one a person might read.
  return http_fail(400, "not an HTTP CONNECT, SOCKS4 or SOCKS5 request");
}

// RFC 9110 §9.3.6 and RFC 9112 §3: "CONNECT host:port HTTP/1.1" CRLF, header fields, CRLF.
// A bare LF ends a line too (RFC 9112 §2.2 lets a recipient accept it).
Step ProxyRequestParser::parse_http() {
  m_kind = ProxyKind::kHttpConnect;
  std::string_view text(reinterpret_cast<const char*>(m_buffer.data()), m_buffer.size());
  size_t line_end = text.find('\n');
  if (line_end == std::string_view::npos) {
    // The method so far must still be a token, so garbage is refused at once.
    size_t sp = text.find(' ');
    if (!std::all_of(text.begin(),
                     sp == std::string_view::npos ? text.end() : text.begin() + long(sp), is_tchar))
      return http_fail(400, "malformed request line");
    return {};
  }
  std::string_view line = text.substr(0, line_end);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return http_fail(400, "malformed request line");
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method)) return http_fail(400, "malformed request line");
  if (version != "HTTP/1.1" && version != "HTTP/1.0")
    return http_fail(400, "not HTTP/1.0 or HTTP/1.1");
  // Methods are case-sensitive (RFC 9110 §9.1); only a tunnel is offered here.
  if (method != "CONNECT") return http_fail(405, "only CONNECT is served here");
  // The authority form (RFC 9112 §3.2.3): uri-host ":" port, the port required.
  size_t colon = target.rfind(':');
  if (colon == std::string_view::npos || !parse_port(target.substr(colon + 1), m_port))
    return http_fail(400, "CONNECT needs host:port");
  std::string_view host = target.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (!is_ipv6(host)) return http_fail(400, "not an IPv6 address in brackets");
  } else if (host.find(':') != std::string_view::npos || !is_proxy_host(host)) {
    return http_fail(400, "not a host name or address");
  }
  m_host = std::string(host);
  // Header fields up to the empty line; their values are not used, their form is checked.
  size_t pos = line_end + 1;
  while (true) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) return {};
    std::string_view field = text.substr(pos, end - pos);
    if (!field.empty() && field.back() == '\r') field.remove_suffix(1);
    pos = end + 1;
    if (field.empty()) break;
    size_t name_end = field.find(':');
    // No obsolete line folding, no whitespace before the colon (RFC 9112 §5.1, §5.2).
    if (name_end == std::string_view::npos || !is_token(field.substr(0, name_end)))
      return http_fail(400, "malformed header field");
    if (std::any_of(field.begin(), field.end(),
                    [](char c) { return (uint8_t(c) < 0x20 && c != '\t') || c == 0x7f; }))
      return http_fail(400, "control character in a header field");
  }
  return done(to_bytes("HTTP/1.1 200 Connection established\r\n\r\n"), pos);
}

// SOCKS4: VN 4, CD 1 (CONNECT), DSTPORT, DSTIP, USERID, NUL. SOCKS4a: DSTIP 0.0.0.x (x != 0)
// says a host name follows the user id, NUL-terminated.
Step ProxyRequestParser::parse_socks4() {
  const Bytes& b = m_buffer;
  if (b.size() < 8) return {};
  if (b[1] != 1)
    return fail(socks4_reply(kSocks4Rejected), "SOCKS4: only CONNECT is served (BIND refused)");
  auto user_end = std::find(b.begin() + 8, b.end(), uint8_t(0));
  if (user_end == b.end()) {
    if (b.size() - 8 > kMaxSocks4UserId)
      return fail(socks4_reply(kSocks4Rejected), "SOCKS4: user id too long");
    return {};
  }
  if (size_t(user_end - b.begin()) - 8 > kMaxSocks4UserId)
    return fail(socks4_reply(kSocks4Rejected), "SOCKS4: user id too long");
  uint16_t port = be16(&b[2]);
  if (port == 0) return fail(socks4_reply(kSocks4Rejected), "SOCKS4: port 0");
  m_port = port;
  size_t consumed = size_t(user_end - b.begin()) + 1;
  bool socks4a = b[4] == 0 && b[5] == 0 && b[6] == 0 && b[7] != 0;
  if (!socks4a) {
    if (b[4] == 0 && b[5] == 0 && b[6] == 0)
      return fail(socks4_reply(kSocks4Rejected), "SOCKS4: address 0.0.0.0");
    m_kind = ProxyKind::kSocks4;
    m_host = format_address(AF_INET, &b[4]);
    return done(socks4_reply(kSocks4Granted), consumed);
  }
  m_kind = ProxyKind::kSocks4a;
  auto host_end = std::find(b.begin() + long(consumed), b.end(), uint8_t(0));
  size_t host_len = size_t(host_end - b.begin()) - consumed;
  if (host_len > kMaxProxyHost)
    return fail(socks4_reply(kSocks4Rejected), "SOCKS4a: host name too long");
  if (host_end == b.end()) return {};
  std::string host(b.begin() + long(consumed), host_end);
  if (!is_proxy_host(host))
    return fail(socks4_reply(kSocks4Rejected), "SOCKS4a: not a host name or address");
  m_host = std::move(host);
  return done(socks4_reply(kSocks4Granted), consumed + host_len + 1);
}

// RFC 1928 §3: VER 5, NMETHODS, METHODS; we answer with method 0x00 (no authentication
// required) or 0xFF (no acceptable methods). §4: VER 5, CMD, RSV 0, ATYP, DST.ADDR, DST.PORT.
Step ProxyRequestParser::parse_socks5() {
  m_kind = ProxyKind::kSocks5;
  const Bytes& b = m_buffer;
  Bytes out;
  if (m_socks5_greeting == 0) {
    if (b.size() < 2) return {};
    size_t n = b[1];
    if (n == 0) return fail(Bytes{kSocks5Version, 0xff}, "SOCKS5: no methods offered");
    if (b.size() < 2 + n) return {};
    if (std::find(b.begin() + 2, b.begin() + 2 + long(n), uint8_t(0)) == b.begin() + 2 + long(n))
      return fail(Bytes{kSocks5Version, 0xff}, "SOCKS5: the client does not offer no-auth");
    m_socks5_greeting = 2 + n;
    out = {kSocks5Version, 0x00};
  }
  size_t at = m_socks5_greeting;
  auto need_more = [&] { return Step{Status::kNeedMore, out, {}}; };
  // A failure after the method choice: the choice goes out first, then the reply.
  auto refuse = [&](uint8_t rep, std::string why) {
    Bytes r = out;
    Bytes reply = socks5_reply(rep);
    r.insert(r.end(), reply.begin(), reply.end());
    return fail(std::move(r), "SOCKS5: " + why);
  };
  if (b.size() < at + 4) return need_more();
  if (b[at] != kSocks5Version) return refuse(kGeneralFailure, "request is not version 5");
  if (b[at + 1] != 1)
    return refuse(kCommandNotSupported, "only CONNECT is served (BIND and UDP refused)");
  if (b[at + 2] != 0) return refuse(kGeneralFailure, "reserved byte not zero");
  uint8_t atyp = b[at + 3];
  size_t addr = at + 4;
  size_t addr_len;
  if (atyp == 1) {
    addr_len = 4;
  } else if (atyp == 4) {
    addr_len = 16;
  } else if (atyp == 3) {
    if (b.size() < addr + 1) return need_more();
    addr_len = size_t(b[addr]) + 1;
    if (addr_len == 1) return refuse(kHostUnreachable, "empty domain name");
  } else {
    return refuse(kAddressTypeNotSupported, "address type not supported");
  }
  if (b.size() < addr + addr_len + 2) return need_more();
  uint16_t port = be16(&b[addr + addr_len]);
  if (port == 0) return refuse(kGeneralFailure, "port 0");
  if (atyp == 1) {
    m_host = format_address(AF_INET, &b[addr]);
  } else if (atyp == 4) {
    m_host = format_address(AF_INET6, &b[addr]);
  } else {
    std::string host(b.begin() + long(addr) + 1, b.begin() + long(addr + addr_len));
    if (!is_proxy_host(host) || host.find(':') != std::string::npos)
      return refuse(kHostUnreachable, "not a host name");
    m_host = std::move(host);
  }
  m_port = port;
  Bytes reply = socks5_reply(kSucceeded);
  out.insert(out.end(), reply.begin(), reply.end());
  return done(std::move(out), addr + addr_len + 2);
}

}  // namespace postern::bastion
