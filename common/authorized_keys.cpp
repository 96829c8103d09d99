#include "common/authorized_keys.h"

#include <arpa/inet.h>
#include <strings.h>

#include <algorithm>
#include <cstring>

#include "common/match_pattern.h"
#include "common/wire.h"

namespace postern {
namespace {

// Key type names that may begin a line with no options field. Types postern does not accept
// (DSA, FIDO, certificates) are listed too: such a line is a key we do not match, not an options
// field full of unknown options.
constexpr std::string_view kKeyTypeNames[] = {
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-dss",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ssh-ed25519@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-rsa-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "ssh-dss-cert-v01@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "ssh-mldsa44-ed25519@openssh.com",
    "ssh-mldsa44-ed25519-cert-v01@openssh.com",
};

bool is_key_type_name(std::string_view s) {
  for (auto name : kKeyTypeNames)
    if (s == name) return true;
  return false;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view skip_space(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}

std::string_view trim(std::string_view s) {
  s = skip_space(s);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view next_token(std::string_view& s) {
  s = skip_space(s);
  size_t end = 0;
  while (end < s.size() && !is_space(s[end])) ++end;
  std::string_view tok = s.substr(0, end);
  s.remove_prefix(end);
  return tok;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// The options field ends at the first space outside double quotes. Returns its length, or npos
// when a quote is left open.
size_t options_length(std::string_view s) {
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && quoted && i + 1 < s.size() && s[i + 1] == '"') {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (!quoted && is_space(c)) {
      return i;
    }
  }
  return quoted ? std::string_view::npos : s.size();
}

// Reads a quoted value at the start of `s` ("..." with \" standing for a quote; other
// backslashes are literal) and advances past it.
Result<std::string> read_quoted(std::string_view& s, std::string_view option) {
  if (s.empty() || s.front() != '"')
    return Unexpected("option " + std::string(option) + " needs a quoted value");
  std::string out;
  for (size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size() && s[i + 1] == '"') {
      out += '"';
      ++i;
    } else if (c == '"') {
      s.remove_prefix(i + 1);
      return out;
    } else {
      out += c;
    }
  }
  return Unexpected("missing end quote in option " + std::string(option));
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// "[host:]port" for permitlisten, "host:port" for permitopen; the port may be "*" and an IPv6
// host is written in brackets (sshd(8)).
bool valid_host_port(std::string_view v, bool host_required) {
  std::string_view port = v;
  size_t colon = v.rfind(':');
  if (colon != v.npos) {
    std::string_view host = v.substr(0, colon);
    if (host.empty()) return false;
    if (host.front() == '[' && host.back() != ']') return false;
    port = v.substr(colon + 1);
  } else if (host_required) {
    return false;
  }
  if (port == "*") return true;
  if (!all_digits(port) || port.size() > 5) return false;
  unsigned long n = std::stoul(std::string(port));
  return n <= 65535;
}

bool valid_environment(std::string_view v) {
  size_t eq = v.find('=');
  if (eq == 0 || eq == v.npos) return false;
  for (char c : v.substr(0, eq))
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

struct Flag {
  std::string_view name;
  bool AuthorizedKeyOptions::*member;
  bool value;
};

constexpr Flag kFlags[] = {
    {"cert-authority", &AuthorizedKeyOptions::cert_authority, true},
    {"agent-forwarding", &AuthorizedKeyOptions::permit_agent_forwarding, true},
    {"no-agent-forwarding", &AuthorizedKeyOptions::permit_agent_forwarding, false},
    {"port-forwarding", &AuthorizedKeyOptions::permit_port_forwarding, true},
    {"no-port-forwarding", &AuthorizedKeyOptions::permit_port_forwarding, false},
    {"pty", &AuthorizedKeyOptions::permit_pty, true},
    {"no-pty", &AuthorizedKeyOptions::permit_pty, false},
    {"user-rc", &AuthorizedKeyOptions::permit_user_rc, true},
    {"no-user-rc", &AuthorizedKeyOptions::permit_user_rc, false},
    {"X11-forwarding", &AuthorizedKeyOptions::permit_x11_forwarding, true},
    {"no-X11-forwarding", &AuthorizedKeyOptions::permit_x11_forwarding, false},
    {"no-touch-required", &AuthorizedKeyOptions::no_touch_required, true},
    {"verify-required", &AuthorizedKeyOptions::verify_required, true},
};

Result<void> apply_value_option(AuthorizedKeyOptions& o, std::string_view name, std::string value) {
  auto dup = [&]() { return Unexpected("multiple \"" + std::string(name) + "\" options"); };
  if (iequals(name, "command")) {
    if (o.command) return dup();
    o.command = std::move(value);
  } else if (iequals(name, "environment")) {
    if (!valid_environment(value)) return Unexpected("invalid environment string");
    o.environment.push_back(std::move(value));
  } else if (iequals(name, "expiry-time")) {
    auto t = parse_expiry_time(value);
    if (!t) return Unexpected("invalid expiry-time");
    // Several expiry times: the earliest wins.
    if (!o.expiry_time || *t < *o.expiry_time) o.expiry_time = t;
  } else if (iequals(name, "from")) {
    if (o.from) return dup();
    if (value.empty()) return Unexpected("empty from= pattern list");
    o.from = std::move(value);
  } else if (iequals(name, "permitlisten")) {
    if (!valid_host_port(value, false)) return Unexpected("invalid permitlisten " + value);
    o.permitlisten.push_back(std::move(value));
  } else if (iequals(name, "permitopen")) {
    if (!valid_host_port(value, true)) return Unexpected("invalid permitopen " + value);
    o.permitopen.push_back(std::move(value));
  } else if (iequals(name, "principals")) {
    if (o.principals) return dup();
    o.principals = std::move(value);
  } else if (iequals(name, "tunnel")) {
    if (o.tunnel) return dup();
    if (!all_digits(value) && !iequals(value, "any")) return Unexpected("invalid tunnel device");
    o.tunnel = std::move(value);
  } else {
    return Unexpected("unknown option \"" + std::string(name) + "\"");
  }
  return {};
}

bool is_value_option(std::string_view name) {
  for (std::string_view v : {"command", "environment", "expiry-time", "from", "permitlisten",
                             "permitopen", "principals", "tunnel"})
    if (iequals(name, v)) return true;
  return false;
}

}  // namespace

Result<AuthorizedKeyOptions> parse_authorized_key_options(std::string_view s) {
  AuthorizedKeyOptions o;
  // Options are processed left to right (sshd(8)): "restrict,pty" allows a pty.
  while (!s.empty()) {
    size_t end = 0;
    while (end < s.size() && s[end] != ',' && s[end] != '=') ++end;
    std::string_view name = s.substr(0, end);
    s.remove_prefix(end);
    if (name.empty()) return Unexpected("empty option");
    if (!s.empty() && s.front() == '=') {
      s.remove_prefix(1);
      if (!is_value_option(name)) return Unexpected("unknown option \"" + std::string(name) + "\"");
      auto value = read_quoted(s, name);
      if (!value) return Unexpected(value.error());
      auto applied = apply_value_option(o, name, std::move(*value));
      if (!applied) return Unexpected(applied.error());
    } else if (iequals(name, "restrict")) {
      o.restrict = true;
      o.permit_agent_forwarding = o.permit_port_forwarding = o.permit_pty = o.permit_user_rc =
          o.permit_x11_forwarding = false;
    } else {
      const Flag* flag = nullptr;
      for (const auto& f : kFlags)
        if (iequals(name, f.name)) flag = &f;
      if (!flag) {
        if (is_value_option(name))
          return Unexpected("option \"" + std::string(name) + "\" needs a value");
        return Unexpected("unknown option \"" + std::string(name) + "\"");
      }
      o.*(flag->member) = flag->value;
    }
    if (s.empty()) break;
    if (s.front() != ',') return Unexpected("garbage after option value");
    s.remove_prefix(1);
    if (s.empty()) return Unexpected("trailing comma in options");
  }
  return o;
}

Result<std::optional<AuthorizedKey>> parse_authorized_keys_line(std::string_view line) {
  line = trim(line);
  if (line.empty() || line.front() == '#') return std::optional<AuthorizedKey>();
  AuthorizedKey key;
  std::string_view rest = line;
  {
    std::string_view probe = rest;
    std::string_view type = next_token(probe);
    if (!is_key_type_name(type)) {
      size_t len = options_length(rest);
      if (len == rest.npos) return Unexpected("missing end quote in options");
      auto options = parse_authorized_key_options(rest.substr(0, len));
      if (!options) return Unexpected(options.error());
      key.options = std::move(*options);
      rest.remove_prefix(len);
    }
  }
  std::string_view type = next_token(rest);
  if (type.empty()) return Unexpected("missing key type");
  if (!is_key_type_name(type)) return Unexpected("unknown key type " + std::string(type));
  std::string_view b64 = next_token(rest);
  if (b64.empty()) return Unexpected("missing key data");
  if (b64.size() > 4 * (kMaxWireString / 3) || !base64_decode(b64, key.blob))
    return Unexpected("invalid base64 key data");
  // The blob names its own type; it must agree with the type written on the line.
  try {
    Reader r(key.blob);
    if (r.text(64) != type) return Unexpected("key type does not match key data");
  } catch (const ProtocolError&) {
    return Unexpected("truncated key data");
  }
  key.key_type = std::string(type);
  key.comment = std::string(trim(rest));
  return std::optional<AuthorizedKey>(std::move(key));
}

std::optional<time_t> parse_expiry_time(std::string_view text) {
  bool utc = false;
  if (!text.empty() && (text.back() == 'Z' || text.back() == 'z')) {
    utc = true;
    text.remove_suffix(1);
  }
  if (!all_digits(text) || (text.size() != 8 && text.size() != 12 && text.size() != 14))
    return std::nullopt;
  auto num = [&](size_t pos, size_t len) { return std::stoi(std::string(text.substr(pos, len))); };
  struct tm tm {};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(4, 2) - 1;
  tm.tm_mday = num(6, 2);
  if (text.size() >= 12) {
    tm.tm_hour = num(8, 2);
    tm.tm_min = num(10, 2);
  }
  if (text.size() == 14) tm.tm_sec = num(12, 2);
  if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
      tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
    return std::nullopt;
  tm.tm_isdst = -1;
  time_t t = utc ? timegm(&tm) : mktime(&tm);
  if (t == time_t(-1)) return std::nullopt;
  return t;
}

bool key_not_expired(const AuthorizedKeyOptions& options, time_t now) {
  return !options.expiry_time || now <= *options.expiry_time;
}

bool cidr_match(std::string_view ip, std::string_view cidr) {
  std::string addr_text(cidr), ip_text(ip);
  int bits = -1;
  size_t slash = cidr.find('/');
  if (slash != cidr.npos) {
    std::string_view len = cidr.substr(slash + 1);
    if (!all_digits(len) || len.size() > 3) return false;
    bits = std::stoi(std::string(len));
    addr_text = std::string(cidr.substr(0, slash));
  }
  uint8_t net[16], addr[16];
  size_t size = 0;
  if (inet_pton(AF_INET, addr_text.c_str(), net) == 1) {
    if (inet_pton(AF_INET, ip_text.c_str(), addr) != 1) return false;
    size = 4;
  } else if (inet_pton(AF_INET6, addr_text.c_str(), net) == 1) {
    if (inet_pton(AF_INET6, ip_text.c_str(), addr) != 1) return false;
    size = 16;
  } else {
    return false;
  }
  if (bits < 0) bits = int(size * 8);
  if (bits > int(size * 8)) return false;
  for (size_t i = 0; i < size; ++i) {
    int keep = std::min(8, std::max(0, bits - int(i * 8)));
    uint8_t mask = keep == 0 ? 0 : uint8_t(0xff << (8 - keep));
    // A network address with host bits set is malformed, as in sshd's address lists.
    if (net[i] & ~mask) return false;
    if ((addr[i] & mask) != net[i]) return false;
  }
  return true;
}

bool from_permits(std::string_view list, std::string_view hostname, std::string_view ip) {
  std::string host(hostname);
  for (char& c : host) c = char(tolower(static_cast<unsigned char>(c)));
  bool matched = false;
  while (true) {
    size_t comma = list.find(',');
    std::string_view entry = list.substr(0, comma);
    bool negated = !entry.empty() && entry.front() == '!';
    if (negated) entry.remove_prefix(1);
    bool hit = false;
    if (!entry.empty()) {
      if (entry.find('/') != entry.npos) {
        hit = cidr_match(ip, entry);
      } else {
        hit = match_pattern(ip, entry) || (!host.empty() && match_pattern(host, entry, true));
      }
    }
    if (hit && negated) return false;
    if (hit) matched = true;
    if (comma == list.npos) break;
    list.remove_prefix(comma + 1);
  }
  return matched;
}

}  // namespace postern
