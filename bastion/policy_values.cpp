#include "bastion/policy_values.h"

#include <arpa/inet.h>
#include <strings.h>

#include <cstring>

#include "common/authorized_keys.h"
#include "common/config/match_eval.h"
#include "common/config/value_formats.h"

namespace postern::bastion::detail {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alnum(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// inet_pton into `out` (16 bytes); the family, or 0 when `s` is no address literal.
int address_bytes(std::string_view s, unsigned char (&out)[16]) {
  if (s.empty() || s.size() > INET6_ADDRSTRLEN) return 0;
  std::string text(s);  // inet_pton wants a NUL-terminated string
  if (inet_pton(AF_INET, text.c_str(), out) == 1) return AF_INET;
  if (inet_pton(AF_INET6, text.c_str(), out) == 1) return AF_INET6;
  return 0;
}

}  // namespace

bool is_name(std::string_view s) {
  if (s.empty() || s.size() > kMaxNameLength) return false;
  for (char c : s)
    if (c <= ' ' || c > '~' || c == '%' || c == '@' || c == ':') return false;
  return true;
}

bool is_ip_literal(std::string_view s) {
  unsigned char bytes[16];
  return address_bytes(s, bytes) != 0;
}

bool is_host_name(std::string_view s) {
  if (s.empty() || s.size() > 253 || s.front() == '-' || s.front() == '.') return false;
  for (char c : s)
    if (!is_alnum(c) && c != '-' && c != '.') return false;
  return true;
}

bool same_host(std::string_view a, std::string_view b) {
  unsigned char ab[16], bb[16];
  int af = address_bytes(a, ab), bf = address_bytes(b, bb);
  if (af != 0 || bf != 0) return af == bf && memcmp(ab, bb, af == AF_INET ? 4 : 16) == 0;
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<int> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  int port = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    port = port * 10 + (c - '0');
  }
  if (port < 1 || port > 65535) return std::nullopt;
  return port;
}

bool is_listen_address(std::string_view s) {
  size_t colon = s.rfind(':');
  if (colon == s.npos || !parse_port(s.substr(colon + 1))) return false;
  std::string_view host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    unsigned char bytes[16];
    return address_bytes(host.substr(1, host.size() - 2), bytes) == AF_INET6;
  }
  // A bare IPv6 address would be ambiguous about where the port starts.
  return host.find(':') == host.npos && (is_ip_literal(host) || is_host_name(host));
}

std::optional<uint32_t> parse_duration(std::string_view s) {
  int seconds = 0;
  if (!config::detail::parse_time(s, seconds) || seconds < 0) return std::nullopt;
  return static_cast<uint32_t>(seconds);
}

std::optional<uint64_t> parse_size(std::string_view s) {
  static constexpr uint64_t kMax = 1ull << 50;
  uint64_t unit = 1;
  if (!s.empty()) {
    switch (s.back()) {
      case 'K':
      case 'k':
        unit = 1ull << 10;
        break;
      case 'M':
      case 'm':
        unit = 1ull << 20;
        break;
      case 'G':
      case 'g':
        unit = 1ull << 30;
        break;
      case 'T':
      case 't':
        unit = 1ull << 40;
        break;
      default:
        break;
    }
    if (unit != 1) s.remove_suffix(1);
  }
  if (s.empty() || s.size() > 16) return std::nullopt;
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + uint64_t(c - '0');
  }
  if (n > kMax / unit) return std::nullopt;
  return n * unit;
}

bool is_address_list(std::string_view list) {
  if (list.empty()) return false;
  for (char c : list)
    if (c <= ' ' || c > '~') return false;
  return config::detail::match_address_list("", list) >= 0;
}

bool address_in_list(std::string_view address, std::string_view list) {
  return config::detail::match_address_list(address, list) == 1;
}

bool is_cidr(std::string_view s) {
  std::string_view host = s.substr(0, s.find('/'));
  // cidr_match of the block's own network address holds exactly when the block is well formed.
  return is_ip_literal(host) && cidr_match(host, s);
}

bool cidr_contains(std::string_view cidr, std::string_view address) {
  return cidr_match(address, cidr);
}

std::optional<std::string> bad_template_token(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') continue;
    if (i + 1 == text.size()) return std::string("%");
    char t = text[i + 1];
    if (t != 'H' && t != 'R' && t != 'S' && t != 'P' && t != '%') return std::string{'%', t};
    ++i;
  }
  return std::nullopt;
}

std::string quote_text(std::string_view s) {
  constexpr size_t kShown = 80;
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kShown; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kShown) out += "...";
  return out + "\"";
}

}  // namespace postern::bastion::detail
