// The values whose syntax belongs to one keyword (sshd_config(5)): Port, ListenAddress,
// Subsystem, MaxStartups, PerSourceNetBlockSize, IPQoS, RekeyLimit, PermitOpen / PermitListen,
// PermitUserEnvironment, PubkeyAuthOptions, PerSourcePenalties and ProxyProtocolFrom, with the
// copy functions of those that span several members of ServerConfig.
#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdio>
#include <cstdlib>

#include "common/config/match_eval.h"
#include "common/config/tokenizer.h"
#include "common/config/value_formats.h"
#include "common/join.h"

namespace postern::config::detail {

bool parse_port(const Keyword&, Args& a, ServerConfig& c, ParseContext& ctx) {
  long long v;
  if (!parse_number(*a.next(), 1, 65535, v)) return ctx.fail_plain("Badly formatted port number.");
  if (ctx.apply) c.ports.push_back(static_cast<int>(v));
  return true;
}
std::vector<std::string> dump_ports(const Keyword&, const ServerConfig& c, bool) {
  std::vector<std::string> out;
  for (int p : c.ports) out.push_back(std::to_string(p));
  return out;
}

// ListenAddress host|[host]|host:port|[host]:port [rdomain NAME]
bool parse_listen(const Keyword&, Args& a, ServerConfig& c, ParseContext& ctx) {
  std::string w = *a.next();
  ListenAddress la;
  if (!w.empty() && w[0] == '[') {
    size_t close = w.find(']');
    if (close == std::string::npos) return ctx.fail_plain("bad address:port usage");
    la.host = w.substr(1, close - 1);
    std::string tail = w.substr(close + 1);
    if (!tail.empty()) {
      long long p;
      if (tail[0] != ':' || !parse_number(tail.substr(1), 1, 65535, p))
        return ctx.fail_plain("bad port number");
      la.port = static_cast<int>(p);
    }
  } else if (size_t colon = w.find(':');
             colon != std::string::npos && w.find(':', colon + 1) == std::string::npos) {
    la.host = w.substr(0, colon);
    long long p;
    if (!parse_number(w.substr(colon + 1), 1, 65535, p)) return ctx.fail_plain("bad port number");
    la.port = static_cast<int>(p);
  } else {
    la.host = w;  // a name, an IPv4 address, or an IPv6 address without brackets
  }
  if (la.host.empty()) return ctx.fail_plain("missing address");
  if (const std::string* kw = a.next()) {
    const std::string* name = a.next();
    if (!iequals(*kw, "rdomain") || name == nullptr)
      return ctx.fail_plain("bad ListenAddress rdomain");
    la.rdomain = *name;
  }
  if (ctx.apply) c.listen_addresses.push_back(la);
  return true;
}
std::vector<std::string> dump_listen(const Keyword&, const ServerConfig& c, bool) {
  std::vector<std::string> out;
  for (const auto& la : c.listen_addresses) {
    std::string s = la.host.find(':') != std::string::npos ? "[" + la.host + "]" : la.host;
    if (la.port != 0) s += ":" + std::to_string(la.port);
    if (!la.rdomain.empty()) s += " rdomain " + la.rdomain;
    out.push_back(s);
  }
  return out;
}

// Subsystem NAME COMMAND [ARGS]. The command keeps its quoting (OpenSSH 9.4+: `Subsystem xxx
// /bin/sh -c "exit 23"` runs sh with the one argument "exit 23"; 9.2 dropped the quotes). A
// repeated name keeps the first (9.4+ "no clobber"; 9.2 refused the file), in the global part
// and within the Match blocks that apply, which override the global one (copy_subsystems).
bool parse_subsystem(const Keyword&, Args& a, ServerConfig& c, ParseContext& ctx) {
  const std::string name = *a.next();
  if (a.done()) return ctx.fail_plain("Missing subsystem command.");
  std::string command = join_quoted(std::vector(a.words.begin() + a.pos, a.words.end()));
  a.pos = a.words.size();
  if (!ctx.apply) return true;
  for (const auto& s : c.subsystems) {
    if (s.name == name) {
      log_debug("%s: Subsystem '%s' already defined.", ctx.where.c_str(), name.c_str());
      return true;
    }
  }
  c.subsystems.push_back({name, command});
  return true;
}
std::vector<std::string> dump_subsystems(const Keyword&, const ServerConfig& c, bool quote) {
  std::vector<std::string> out;
  for (const auto& s : c.subsystems)
    out.push_back((quote ? quote_word(s.name) : s.name) + " " + s.command);
  return out;
}
void copy_subsystems(ServerConfig& dst, const ServerConfig& src) {
  for (const auto& s : src.subsystems) {
    auto it = std::find_if(dst.subsystems.begin(), dst.subsystems.end(),
                           [&](const Subsystem& d) { return d.name == s.name; });
    if (it != dst.subsystems.end())
      it->command = s.command;
    else
      dst.subsystems.push_back(s);
  }
}

// MaxStartups start:rate:full, or a single number.
bool parse_max_startups(const Keyword&, Args& a, ServerConfig& c, ParseContext& ctx) {
  const std::string& w = *a.next();
  long long b, r = 100, f;
  size_t c1 = w.find(':');
  if (c1 == std::string::npos) {
    if (!parse_number(w, 1, INT_MAX, b)) return ctx.fail_plain("Invalid MaxStartups spec.");
    f = b;
    r = 30;  // the rate keeps its default
  } else {
    size_t c2 = w.find(':', c1 + 1);
    if (c2 == std::string::npos || !parse_number(w.substr(0, c1), 0, INT_MAX, b) ||
        !parse_number(w.substr(c1 + 1, c2 - c1 - 1), 1, 100, r) ||
        !parse_number(w.substr(c2 + 1), 1, INT_MAX, f) || b > f)
      return ctx.fail_plain("Invalid MaxStartups spec.");
  }
  if (ctx.apply) {
    c.max_startups_begin = static_cast<int>(b);
    c.max_startups_rate = static_cast<int>(r);
    c.max_startups_full = static_cast<int>(f);
  }
  return true;
}
std::vector<std::string> dump_max_startups(const Keyword&, const ServerConfig& c, bool) {
  return {std::to_string(c.max_startups_begin) + ":" + std::to_string(c.max_startups_rate) + ":" +
          std::to_string(c.max_startups_full)};
}
void copy_max_startups(ServerConfig& d, const ServerConfig& s) {
  d.max_startups_begin = s.max_startups_begin;
  d.max_startups_rate = s.max_startups_rate;
  d.max_startups_full = s.max_startups_full;
}

bool parse_netblock(const Keyword&, Args& a, ServerConfig& c, ParseContext& ctx) {
  const std::string& w = *a.next();
  size_t colon = w.find(':');
  long long v4, v6 = 128;
  if (!parse_number(w.substr(0, colon), 0, 32, v4) ||
      (colon != std::string::npos && !parse_number(w.substr(colon + 1), 0, 128, v6)))
    return ctx.fail_plain("Invalid PerSourceNetBlockSize spec.");
  if (ctx.apply) {
    c.per_source_netblock_size_ipv4 = static_cast<int>(v4);
    c.per_source_netblock_size_ipv6 = static_cast<int>(v6);
  }
  return true;
}
std::vector<std::string> dump_netblock(const Keyword&, const ServerConfig& c, bool) {
  return {std::to_string(c.per_source_netblock_size_ipv4) + ":" +
          std::to_string(c.per_source_netblock_size_ipv6)};
}
void copy_netblock(ServerConfig& d, const ServerConfig& s) {
  d.per_source_netblock_size_ipv4 = s.per_source_netblock_size_ipv4;
  d.per_source_netblock_size_ipv6 = s.per_source_netblock_size_ipv6;
}

namespace {

// IPQoS names (sshd_config(5)) with their DSCP/ToS byte values.
constexpr Choice kQosNames[] = {
    {"af11", 0x28},       {"af12", 0x30}, {"af13", 0x38},     {"af21", 0x48},
    {"af22", 0x50},       {"af23", 0x58}, {"af31", 0x68},     {"af32", 0x70},
    {"af33", 0x78},       {"af41", 0x88}, {"af42", 0x90},     {"af43", 0x98},
    {"cs0", 0x00},        {"cs1", 0x20},  {"cs2", 0x40},      {"cs3", 0x60},
    {"cs4", 0x80},        {"cs5", 0xa0},  {"cs6", 0xc0},      {"cs7", 0xe0},
    {"ef", 0xb8},         {"le", 0x01},   {"lowdelay", 0x10}, {"throughput", 0x08},
    {"reliability", 0x04}};
bool parse_qos_value(const std::string& w, int& out) {
  for (const Choice& ch : kQosNames)
    if (iequals(w, ch.name)) return out = ch.value, true;
  char* end = nullptr;
  long v = strtol(w.c_str(), &end, 0);
  if (w.empty() || *end != '\0' || v < 0 || v > 255) return false;
  out = static_cast<int>(v);
  return true;
}
std::string qos_name(int v) {
  for (const Choice& ch : kQosNames)
    if (ch.value == v) return ch.name;
  char buf[16];
  snprintf(buf, sizeof buf, "0x%02x", v);
  return buf;
}

}  // namespace
bool parse_ipqos(const Keyword&, Args& a, ServerConfig& c, ParseContext& ctx) {
  const std::string& w1 = *a.next();
  int interactive, bulk;
  if (!parse_qos_value(w1, interactive)) return ctx.fail_plain("Bad IPQoS value: " + w1);
  bulk = interactive;
  if (const std::string* w2 = a.next())
    if (!parse_qos_value(*w2, bulk)) return ctx.fail_plain("Bad IPQoS value: " + *w2);
  if (ctx.apply) {
    c.ip_qos_interactive = interactive;
    c.ip_qos_bulk = bulk;
  }
  return true;
}
std::vector<std::string> dump_ipqos(const Keyword&, const ServerConfig& c, bool) {
  return {qos_name(c.ip_qos_interactive) + " " + qos_name(c.ip_qos_bulk)};
}
void copy_ipqos(ServerConfig& d, const ServerConfig& s) {
  d.ip_qos_interactive = s.ip_qos_interactive;
  d.ip_qos_bulk = s.ip_qos_bulk;
}

// RekeyLimit bytes[K|M|G]|default [time|default|none]. As in sshd, the amount and the interval
// are each taken from the first line that gives them, so "RekeyLimit 1G" then "RekeyLimit 2G 1h"
// means 1G and 1h.
bool parse_rekey(const Keyword&, Args& a, ServerConfig& c, ParseContext& ctx) {
  const std::string& w = *a.next();
  long long bytes = 0;
  if (!iequals(w, "default")) {
    std::string digits = w;
    long long mult = 1;
    if (!digits.empty() && isalpha(static_cast<unsigned char>(digits.back()))) {
      switch (toupper(static_cast<unsigned char>(digits.back()))) {
        case 'K':
          mult = 1LL << 10;
          break;
        case 'M':
          mult = 1LL << 20;
          break;
        case 'G':
          mult = 1LL << 30;
          break;
        default:
          mult = 0;
      }
      digits.pop_back();
    }
    if (mult == 0 || !parse_number(digits, 0, (1LL << 62) / mult, bytes))
      return ctx.fail_plain("Bad RekeyLimit number '" + w + "': Invalid argument");
    bytes *= mult;
    if (bytes != 0 && bytes < 16) return ctx.fail_plain("RekeyLimit too small");
  }
  int seconds = 0;
  bool interval_given = false;
  if (const std::string* t = a.next()) {
    interval_given = !iequals(*t, "default") && !iequals(*t, "none");
    if (interval_given && !parse_time(*t, seconds))
      return ctx.fail_plain("invalid rekey interval.");
  }
  if (!ctx.apply) return true;
  static const int index = find_keyword("RekeyLimit");
  if (!c.explicitly_set[index]) c.rekey_limit_bytes = bytes;
  if (interval_given && !c.explicitly_set[kRekeyIntervalSet]) {
    c.rekey_limit_seconds = seconds;
    c.explicitly_set[kRekeyIntervalSet] = true;
  }
  return true;
}
std::vector<std::string> dump_rekey(const Keyword&, const ServerConfig& c, bool) {
  return {std::to_string(c.rekey_limit_bytes) + " " + std::to_string(c.rekey_limit_seconds)};
}
// A Match line without an interval keeps the global interval.
void copy_rekey(ServerConfig& d, const ServerConfig& s) {
  d.rekey_limit_bytes = s.rekey_limit_bytes;
  if (!s.explicitly_set[kRekeyIntervalSet]) return;
  d.rekey_limit_seconds = s.rekey_limit_seconds;
  d.explicitly_set[kRekeyIntervalSet] = true;
}

// PermitOpen host:port ... | any | none ; PermitListen [host:]port ... | any | none.
bool parse_permit(const Keyword& kw, Args& a, ServerConfig& c, ParseContext& ctx) {
  bool listen = kw.member == Member(&ServerConfig::permit_listen);
  std::vector<std::string> v;
  // "any" or "none" stand alone; anything after them is reported as extra arguments.
  if (iequals(a.words[a.pos], "any") || iequals(a.words[a.pos], "none")) {
    v.push_back(*a.next());
    for (char& ch : v[0]) ch = static_cast<char>(tolower(static_cast<unsigned char>(ch)));
  }
  while (v.empty() || (v[0] != "any" && v[0] != "none")) {
    const std::string* w = a.next();
    if (w == nullptr) break;
    std::string s = *w;
    if (listen && s.find_first_not_of("0123456789") == std::string::npos) s = "*:" + s;
    size_t colon = s.rfind(':');
    long long port;
    if (colon == std::string::npos ||
        (s.substr(colon + 1) != "*" && !parse_number(s.substr(colon + 1), 1, 65535, port)))
      return ctx.fail_plain(std::string(kw.name) + " bad port number");
    if (colon == 0) return ctx.fail_plain(std::string("missing host in ") + kw.name);
    v.push_back(s);
  }
  if (ctx.apply) field<std::vector<std::string>>(kw, c) = std::move(v);
  return true;
}

bool parse_user_env(const Keyword& kw, Args& a, ServerConfig& c, ParseContext& ctx) {
  std::string w = *a.next();
  if (iequals(w, "yes"))
    w = "yes";
  else if (iequals(w, "no"))
    w = "no";
  if (ctx.apply) field<std::string>(kw, c) = w;
  return true;
}

bool parse_pubkey_options(const Keyword& kw, Args& a, ServerConfig& c, ParseContext& ctx) {
  bool touch = false, verify = false;
  while (const std::string* w = a.next()) {
    if (iequals(*w, "none")) continue;
    if (*w == "touch-required")
      touch = true;
    else if (*w == "verify-required")
      verify = true;
    else
      return ctx.fail_counted("unsupported PubkeyAuthOptions option " + *w);
  }
  // Kept (and printed) in one order whatever the order written, as sshd prints flags.
  std::vector<std::string> v;
  if (touch) v.push_back("touch-required");
  if (verify) v.push_back("verify-required");
  if (ctx.apply) field<std::vector<std::string>>(kw, c) = std::move(v);
  return true;
}

// PerSourcePenalties yes|no|off | key:value ... (OpenSSH 9.8 sshd_config(5)).
bool parse_penalties(const Keyword& kw, Args& a, ServerConfig& c, ParseContext& ctx) {
  PerSourcePenalties p;
  p.enabled = true;
  const std::string& first = a.words[a.pos];
  if (iequals(first, "yes") || iequals(first, "no") || iequals(first, "off")) {
    p.enabled = iequals(first, "yes");
    a.pos++;
  } else {
    while (const std::string* w = a.next()) {
      size_t colon = w->find(':');
      std::string key = w->substr(0, colon),
                  value = colon == std::string::npos ? "" : w->substr(colon + 1);
      int* time = key == "crash"              ? &p.crash
                  : key == "authfail"         ? &p.authfail
                  : key == "invaliduser"      ? &p.invalid_user
                  : key == "noauth"           ? &p.noauth
                  : key == "grace-exceeded"   ? &p.grace_exceeded
                  : key == "refuseconnection" ? &p.refuse_connection
                  : key == "max"              ? &p.max
                  : key == "min"              ? &p.min
                                              : nullptr;
      long long n;
      if (time != nullptr) {
        if (!parse_time(value, *time))
          return ctx.fail_plain("invalid " + key + " time \"" + value + "\"");
      } else if (key == "max-sources4" || key == "max-sources6") {
        if (!parse_number(value, 1, INT_MAX, n))
          return ctx.fail_plain("invalid " + key + " value \"" + value + "\"");
        (key == "max-sources4" ? p.max_sources4 : p.max_sources6) = static_cast<int>(n);
      } else if (key == "overflow" || key == "overflow6") {
        if (value != "permissive" && value != "deny-all")
          return ctx.fail_plain("invalid " + key + " mode \"" + value + "\"");
        (key == "overflow" ? p.overflow_permissive : p.overflow6_permissive) =
            value == "permissive";
      } else {
        return ctx.fail_plain(std::string("unsupported ") + kw.name + " keyword \"" + key + "\"");
      }
    }
  }
  if (ctx.apply) c.per_source_penalties = p;
  return true;
}
std::vector<std::string> dump_penalties(const Keyword&, const ServerConfig& c, bool quote) {
  const PerSourcePenalties& p = c.per_source_penalties;
  // OpenSSH 9.2 has no such keyword: -T prints it only when it is on, unless the defaults are
  // OpenSSH 10's, whose -T says "no".
  if (!p.enabled) {
    if (quote || c.openssh_defaults == OpenSSHDefaults::k10) return {"no"};
    return {};
  }
  // As OpenSSH 10's -T prints it: seconds without a unit, in this order.
  auto t = [](const char* k, int v) { return std::string(k) + ":" + std::to_string(v); };
  return {t("crash", p.crash) + " " + t("authfail", p.authfail) + " " +
          t("invaliduser", p.invalid_user) + " " + t("noauth", p.noauth) + " " +
          t("grace-exceeded", p.grace_exceeded) + " " + t("refuseconnection", p.refuse_connection) +
          " " + t("max", p.max) + " " + t("min", p.min) + " max-sources4:" +
          std::to_string(p.max_sources4) + " max-sources6:" + std::to_string(p.max_sources6) +
          " overflow:" + (p.overflow_permissive ? "permissive" : "deny-all") +
          " overflow6:" + (p.overflow6_permissive ? "permissive" : "deny-all")};
}
void copy_penalties(ServerConfig& d, const ServerConfig& s) {
  d.per_source_penalties = s.per_source_penalties;
}

// ProxyProtocolFrom: one word, checked as Match Address checks its list (a bad CIDR block is an
// error now, not a silent non-match at every connection).
bool parse_address_list(const Keyword& kw, Args& a, ServerConfig& c, ParseContext& ctx) {
  const std::string& w = *a.next();
  bool none = iequals(w, "none");
  if (!none && match_address_list("", w) < 0)
    return ctx.fail_plain(std::string("invalid address list for ") + kw.name + ": \"" + w + "\"");
  if (ctx.apply) field<std::string>(kw, c) = none ? "" : w;
  return true;
}

}  // namespace postern::config::detail
