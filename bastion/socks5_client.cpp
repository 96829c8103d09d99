#include "bastion/socks5_client.h"

#include <arpa/inet.h>

namespace postern::bastion {

namespace {

constexpr uint8_t kVersion = 5;
constexpr uint8_t kNoAuthentication = 0x00;
constexpr uint8_t kNoAcceptableMethods = 0xff;
constexpr uint8_t kCommandConnect = 1;
constexpr uint8_t kAtypIpv4 = 1;
constexpr uint8_t kAtypDomain = 3;
constexpr uint8_t kAtypIpv6 = 4;
// A reply's fixed part before its address: VER REP RSV ATYP, and the first address byte (the
// domain name's length, when ATYP is 3).
constexpr size_t kReplyHead = 5;

}  // namespace

std::string socks5_reply_text(uint8_t code) {
  switch (code) {
    case 1:
      return "general SOCKS server failure";
    case 2:
      return "connection not allowed by ruleset";
    case 3:
      return "network unreachable";
    case 4:
      return "host unreachable";
    case 5:
      return "connection refused";
    case 6:
      return "TTL expired";
    case 7:
      return "command not supported";
    case 8:
      return "address type not supported";
  }
  return "unknown failure";
}

Socks5Connect::Socks5Connect(std::string_view host, uint16_t port) {
  // RFC 1928 §3: VER, NMETHODS, METHODS.
  m_output = {kVersion, 1, kNoAuthentication};
  // §4: VER CMD RSV ATYP DST.ADDR DST.PORT.
  m_request = {kVersion, kCommandConnect, 0};
  unsigned char raw[16];
  std::string text(host);
  if (::inet_pton(AF_INET, text.c_str(), raw) == 1) {
    m_request.push_back(kAtypIpv4);
    m_request.insert(m_request.end(), raw, raw + 4);
  } else if (::inet_pton(AF_INET6, text.c_str(), raw) == 1) {
    m_request.push_back(kAtypIpv6);
    m_request.insert(m_request.end(), raw, raw + 16);
  } else {
    if (host.empty() || host.size() > 255) {
      fail("host name empty or longer than 255 bytes");
      return;
    }
    m_request.push_back(kAtypDomain);
    m_request.push_back(uint8_t(host.size()));
    m_request.insert(m_request.end(), host.begin(), host.end());
  }
  if (port == 0) {
    fail("port 0");
    return;
  }
  m_request.push_back(uint8_t(port >> 8));
  m_request.push_back(uint8_t(port & 0xff));
}

void Socks5Connect::fail(std::string why) {
  m_state = State::kFailed;
  m_error = std::move(why);
  m_output.clear();
}

Bytes Socks5Connect::take_output() {
  Bytes out;
  out.swap(m_output);
  return out;
}

size_t Socks5Connect::wanted() const {
  if (m_state == State::kDone || m_state == State::kFailed) return 0;
  return m_expect - m_input.size();
}

void Socks5Connect::on_input(ByteView data) {
  // An empty read would re-run the step that completed the last message: after a failed
  // greeting, that is reply_complete() on the method bytes, turning the failure into kDone.
  // Once failed, the first reason stands.
  if (data.empty() || m_state == State::kFailed) return;
  if (data.size() > wanted()) return fail("read past the SOCKS message (internal error)");
  m_input.insert(m_input.end(), data.begin(), data.end());
  if (m_input.size() < m_expect) return;
  if (m_state == State::kGreeting) return method_selected();
  // The reply's length is known once its head is in (§5: the address is typed).
  if (m_expect == kReplyHead) {
    if (m_input[0] != kVersion)
      return fail("not a SOCKS5 server (reply version " + std::to_string(m_input[0]) + ")");
    switch (m_input[3]) {
      case kAtypIpv4:
        m_expect = 4 + 4 + 2;
        break;
      case kAtypIpv6:
        m_expect = 4 + 16 + 2;
        break;
      case kAtypDomain:
        m_expect = 4 + 1 + size_t(m_input[4]) + 2;
        break;
      default:
        // A failure reply may carry a bad address type; the code still says what happened.
        if (m_input[1] != 0)
          return fail(socks5_reply_text(m_input[1]) + " (SOCKS reply " +
                      std::to_string(m_input[1]) + ")");
        return fail("SOCKS reply with unknown address type " + std::to_string(m_input[3]));
    }
    if (m_input.size() < m_expect) return;
  }
  reply_complete();
}

void Socks5Connect::method_selected() {
  // §3: VER METHOD.
  if (m_input[0] != kVersion)
    return fail("not a SOCKS5 server (version " + std::to_string(m_input[0]) + ")");
  if (m_input[1] == kNoAcceptableMethods)
    return fail("the SOCKS server accepts no method without authentication");
  if (m_input[1] != kNoAuthentication)
    return fail("the SOCKS server chose method " + std::to_string(m_input[1]) +
                ", which was not offered");
  m_state = State::kReply;
  m_input.clear();
  m_expect = kReplyHead;
  m_output = std::move(m_request);
}

void Socks5Connect::reply_complete() {
  uint8_t code = m_input[1];
  if (code != 0)
    return fail(socks5_reply_text(code) + " (SOCKS reply " + std::to_string(code) + ")");
  m_state = State::kDone;
  m_input.clear();
}

}  // namespace postern::bastion
