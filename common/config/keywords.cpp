// The keyword table and the value formats it uses. Row order is the order of `sshd -T` output
// (OpenSSH 9.2 as Debian ships it); keywords -T does not print come last.
#include "common/config/keywords.h"

#include <strings.h>
#include <syslog.h>

#include <unistd.h>
#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>

namespace postern::config::detail {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

template <typename T>
T& field(const Keyword& kw, ServerConfig& c) {
  return c.*std::get<T ServerConfig::*>(kw.member);
}
template <typename T>
const T& field(const Keyword& kw, const ServerConfig& c) {
  return c.*std::get<T ServerConfig::*>(kw.member);
}

std::string join(const std::vector<std::string>& v, const char* sep, bool quote) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += quote ? quote_word(s) : s;
  }
  return out;
}

// Whole decimal number in [lo, hi].
bool parse_number(std::string_view s, long long lo, long long hi, long long& out) {
  if (s.empty() || s.size() > 18) return false;
  long long v = 0;
  size_t i = 0;
  bool neg = false;
  if (s[0] == '-') {
    neg = true;
    i = 1;
    if (s.size() == 1) return false;
  }
  for (; i < s.size(); ++i) {
    if (!isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  out = neg ? -v : v;
  return out >= lo && out <= hi;
}

// sshd_config(5) TIME FORMATS: a sequence of number[unit], unit s m h d w, no unit = seconds.
bool parse_time(std::string_view s, int& out) {
  if (s.empty()) return false;
  long long total = 0;
  size_t i = 0;
  while (i < s.size()) {
    if (!isdigit(static_cast<unsigned char>(s[i]))) return false;
    long long n = 0;
    while (i < s.size() && isdigit(static_cast<unsigned char>(s[i]))) {
      n = n * 10 + (s[i] - '0');
      if (n > INT_MAX) return false;
      ++i;
    }
    long long mult = 1;
    if (i < s.size()) {
      switch (tolower(static_cast<unsigned char>(s[i]))) {
        case 's':
          mult = 1;
          break;
        case 'm':
          mult = 60;
          break;
        case 'h':
          mult = 3600;
          break;
        case 'd':
          mult = 86400;
          break;
        case 'w':
          mult = 604800;
          break;
        default:
          return false;
      }
      ++i;
    }
    total += n * mult;
    if (total > INT_MAX) return false;
  }
  out = static_cast<int>(total);
  return true;
}

// ---- formats ----------------------------------------------------------------------------

bool parse_flag(const Keyword& kw, Args& a, ServerConfig& c, ParseContext& ctx) {
  const std::string& w = *a.next();
  bool v;
  if (iequals(w, "yes"))
    v = true;
  else if (iequals(w, "no"))
    v = false;
  else
    return ctx.fail_plain("unsupported option \"" + w + "\".");
  if (ctx.apply) field<bool>(kw, c) = v;
  return true;
}
std::vector<std::string> dump_flag(const Keyword& kw, const ServerConfig& c, bool) {
  return {field<bool>(kw, c) ? "yes" : "no"};
}

bool parse_choice(const Keyword& kw, Args& a, ServerConfig& c, ParseContext& ctx) {
  const std::string& w = *a.next();
  for (const Choice& ch : kw.choices) {
    if (iequals(w, ch.name)) {
      if (ctx.apply) field<int>(kw, c) = ch.value;
      return true;
    }
  }
  if (kw.error) return ctx.fail_plain(std::string(kw.error) + " \"" + w + "\".");
  return ctx.fail_plain("unsupported option \"" + w + "\".");
}
std::vector<std::string> dump_choice(const Keyword& kw, const ServerConfig& c, bool) {
  int v = field<int>(kw, c);
  for (const Choice& ch : kw.choices)
    if (ch.value == v) return {ch.name};
  return {"UNKNOWN"};
}

bool parse_int(const Keyword& kw, Args& a, ServerConfig& c, ParseContext& ctx) {
  const std::string& w = *a.next();
  long long v;
  if (!parse_number(w, LLONG_MIN / 2, LLONG_MAX / 2, v))
    return ctx.fail_plain(std::string(kw.name) + " integer value invalid.");
  if (v < kw.min) return ctx.fail_plain(std::string(kw.name) + " integer value too small.");
  if (v > kw.max) return ctx.fail_plain(std::string(kw.name) + " integer value too large.");
  if (ctx.apply) field<int>(kw, c) = static_cast<int>(v);
  return true;
}
std::vector<std::string> dump_int(const Keyword& kw, const ServerConfig& c, bool) {
  return {std::to_string(field<int>(kw, c))};
}

bool parse_time_value(const Keyword& kw, Args& a, ServerConfig& c, ParseContext& ctx) {
  const std::string& w = *a.next();
  int v;
  if (!parse_time(w, v)) return ctx.fail_plain("invalid time value.");
  if (ctx.apply) field<int>(kw, c) = v;
  return true;
}
// Time keywords that accept "none" print 0 as "none".
bool parse_time_or_none(const Keyword& kw, Args& a, ServerConfig& c, ParseContext& ctx) {
  const std::string& w = *a.next();
  int v = 0;
  if (!iequals(w, "none") && !parse_time(w, v)) return ctx.fail_plain("invalid time value.");
  if (ctx.apply) field<int>(kw, c) = v;
  return true;
}
std::vector<std::string> dump_int_or_none(const Keyword& kw, const ServerConfig& c, bool) {
  int v = field<int>(kw, c);
  return {v == 0 ? "none" : std::to_string(v)};
}

// sshd makes these paths absolute when it reads them, because it changes directory later.
std::string absolute_path(const Keyword& kw, const std::string& path) {
  if (!(kw.flags & kPath) || path.empty() || path[0] == '/' || path == "internal" ||
      path == "SSH_AUTH_SOCK")
    return path;
  char buf[4096];
  if (getcwd(buf, sizeof buf) == nullptr) return path;
  return std::string(buf) + "/" + path;
}

bool parse_string(const Keyword& kw, Args& a, ServerConfig& c, ParseContext& ctx) {
  const std::string& w = *a.next();
  if (ctx.apply) field<std::string>(kw, c) = iequals(w, "none") ? "" : absolute_path(kw, w);
  return true;
}
std::vector<std::string> dump_string(const Keyword& kw, const ServerConfig& c, bool quote) {
  const std::string& v = field<std::string>(kw, c);
  if (v.empty()) return {"none"};
  return {quote ? quote_word(v) : v};
}
// A string that is always set (never "none"): PidFile, XAuthLocation...
bool parse_path(const Keyword& kw, Args& a, ServerConfig& c, ParseContext& ctx) {
  const std::string& w = *a.next();
  if (ctx.apply) field<std::string>(kw, c) = absolute_path(kw, w);
  return true;
}

// The rest of the line, unsplit: ForceCommand, AuthorizedKeysCommand, VersionAddendum.
bool parse_line(const Keyword& kw, Args& a, ServerConfig& c, ParseContext& ctx) {
  std::string v = a.rest;
  a.pos = a.words.size();
  if (iequals(v, "none")) v.clear();
  if (ctx.apply) field<std::string>(kw, c) = v;
  return true;
}
std::vector<std::string> dump_line(const Keyword& kw, const ServerConfig& c, bool quote) {
  const std::string& v = field<std::string>(kw, c);
  if (v.empty()) return {"none"};
  // In config text an explicit '=' keeps a value that itself starts with '=' intact.
  return {quote ? "= " + v : v};
}
// AuthorizedKeysCommand, AuthorizedPrincipalsCommand: the rest of the line, an absolute path.
bool parse_command(const Keyword& kw, Args& a, ServerConfig& c, ParseContext& ctx) {
  std::string v = a.rest;
  a.pos = a.words.size();
  if (iequals(v, "none")) v.clear();
  if (!v.empty() && v[0] != '/')
    return ctx.fail_plain(std::string(kw.name) + " must be an absolute path");
  if (ctx.apply) field<std::string>(kw, c) = v;
  return true;
}

// Every word of every line is added (HostKey, AcceptEnv, AllowUsers...).
bool parse_accumulate(const Keyword& kw, Args& a, ServerConfig& c, ParseContext& ctx) {
  auto& v = field<std::vector<std::string>>(kw, c);
  while (const std::string* w = a.next()) {
    if (kw.member == Member(&ServerConfig::accept_env) && w->find('=') != std::string::npos)
      return ctx.fail_plain("Invalid environment name.");
    if (ctx.apply) v.push_back(absolute_path(kw, *w));
  }
  return true;
}
std::vector<std::string> dump_each(const Keyword& kw, const ServerConfig& c, bool quote) {
  std::vector<std::string> out;
  for (const auto& s : field<std::vector<std::string>>(kw, c))
    out.push_back(quote ? quote_word(s) : s);
  return out;
}

// All the words of the first line (AuthorizedKeysFile, AuthenticationMethods, LogVerbose...);
// "none" alone means an empty list.
bool parse_word_list(const Keyword& kw, Args& a, ServerConfig& c, ParseContext& ctx) {
  std::vector<std::string> v(a.words.begin() + a.pos, a.words.end());
  a.pos = a.words.size();
  bool set_env = kw.member == Member(&ServerConfig::set_env);
  // LogVerbose and ChannelTimeout take "none" only alone; LogVerbose keeps it as its value.
  bool alone = kw.member == Member(&ServerConfig::log_verbose) ||
               kw.member == Member(&ServerConfig::channel_timeout);
  if (alone && v.size() > 1 &&
      std::any_of(v.begin(), v.end(), [](const std::string& w) { return iequals(w, "none"); }))
    return ctx.fail_plain(std::string("keyword ") + kw.name +
                          " \"none\" argument must appear alone.");
  if (!set_env && kw.member != Member(&ServerConfig::log_verbose) && v.size() == 1 &&
      iequals(v[0], "none"))
    v.clear();
  for (const auto& w : v) {
    if (set_env && w.find('=') == std::string::npos) return ctx.fail_plain("Invalid environment.");
  }
  if (ctx.apply) field<std::vector<std::string>>(kw, c) = std::move(v);
  return true;
}
std::vector<std::string> dump_word_list(const Keyword& kw, const ServerConfig& c, bool quote) {
  const auto& v = field<std::vector<std::string>>(kw, c);
  if (v.empty()) return {"none"};
  return {join(v, " ", quote)};
}
std::vector<std::string> dump_word_list_if_set(const Keyword& kw, const ServerConfig& c,
                                               bool quote) {
  const auto& v = field<std::vector<std::string>>(kw, c);
  if (v.empty()) return {};
  return {join(v, " ", quote)};
}
// -T prints SetEnv one variable per line.
std::vector<std::string> dump_each_or_nothing(const Keyword& kw, const ServerConfig& c,
                                              bool quote) {
  const auto& v = field<std::vector<std::string>>(kw, c);
  if (quote) return v.empty() ? std::vector<std::string>{} : std::vector{join(v, " ", true)};
  return v;
}

// AuthenticationMethods: "any", or lists of comma-separated methods.
bool parse_auth_methods(const Keyword& kw, Args& a, ServerConfig& c, ParseContext& ctx) {
  std::vector<std::string> v(a.words.begin() + a.pos, a.words.end());
  a.pos = a.words.size();
  for (const auto& w : v) {
    if (iequals(w, "any")) {
      if (v.size() != 1)
        return ctx.fail_plain("\"any\" must appear alone in AuthenticationMethods");
      continue;
    }
    size_t start = 0;
    while (start <= w.size()) {
      size_t end = w.find(',', start);
      if (end == std::string::npos) end = w.size();
      std::string method = w.substr(start, end - start);
      std::string base = method.substr(0, method.find(':'));
      static const char* const kMethods[] = {"publickey", "password",        "keyboard-interactive",
                                             "hostbased", "gssapi-with-mic", "none"};
      if (std::none_of(std::begin(kMethods), std::end(kMethods),
                       [&](const char* m) { return base == m; })) {
        ctx.fail("invalid AuthenticationMethods method list.");
        ctx.fatal = "Unknown authentication method \"" + base + "\" in list\n" + ctx.fatal;
        return false;
      }
      start = end + 1;
    }
  }
  if (ctx.apply) field<std::vector<std::string>>(kw, c) = std::move(v);
  return true;
}

bool parse_algorithms(const Keyword& kw, Args& a, ServerConfig& c, ParseContext& ctx) {
  const std::string& w = *a.next();
  std::string out;
  if (!assemble_algorithms(static_cast<AlgorithmKind>(kw.algorithms), w, kw.def, out)) {
    ctx.fail_plain(std::string(kw.error) + " '" + w + "'.");
    if (kw.algorithms == static_cast<int>(AlgorithmKind::kKex)) {
      // OpenSSH names the first unknown KEX algorithm on a line of its own first.
      std::string_view names = w;
      if (!names.empty() && (names[0] == '+' || names[0] == '-' || names[0] == '^'))
        names.remove_prefix(1);
      while (!names.empty()) {
        std::string_view n = names.substr(0, names.find(','));
        if (!is_known_algorithm(AlgorithmKind::kKex, n)) {
          ctx.fatal = "Unsupported KEX algorithm \"" + std::string(n) + "\"\n" + ctx.fatal;
          break;
        }
        names.remove_prefix(std::min(names.size(), n.size() + 1));
      }
    }
    return false;
  }
  if (ctx.apply) field<std::string>(kw, c) = out;
  return true;
}

bool parse_log_level_value(const Keyword& kw, Args& a, ServerConfig& c, ParseContext& ctx) {
  const std::string& w = *a.next();
  LogLevel level = LogLevel::kQuiet;
  // sshd prints QUIET as SILENT, and reads that back.
  if (!iequals(w, "SILENT") && !parse_log_level(w, level))
    return ctx.fail_plain("unsupported log level '" + w + "'");
  if (ctx.apply) field<LogLevel>(kw, c) = level;
  return true;
}
std::vector<std::string> dump_log_level(const Keyword& kw, const ServerConfig& c, bool) {
  LogLevel level = field<LogLevel>(kw, c);
  if (level == LogLevel::kDebug1) return {"DEBUG"};  // sshd prints DEBUG1 as DEBUG
  if (level == LogLevel::kQuiet) return {"SILENT"};
  return {log_level_name(level)};
}

bool parse_facility(const Keyword& kw, Args& a, ServerConfig& c, ParseContext& ctx) {
  const std::string& w = *a.next();
  for (const Choice& ch : kw.choices) {
    if (iequals(w, ch.name)) {
      if (ctx.apply) field<int>(kw, c) = ch.value;
      return true;
    }
  }
  return ctx.fail_plain("unsupported log facility '" + w + "'");
}

// ---- keywords with their own syntax ------------------------------------------------------

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

bool parse_subsystem(const Keyword&, Args& a, ServerConfig& c, ParseContext& ctx) {
  const std::string name = *a.next();
  if (a.done()) return ctx.fail_plain("Missing subsystem command.");
  std::string command;
  while (const std::string* w = a.next()) command += (command.empty() ? "" : " ") + *w;
  if (!ctx.apply) return true;
  for (const auto& s : c.subsystems)
    if (s.name == name) return ctx.fail_plain("Subsystem '" + name + "' already defined.");
  c.subsystems.push_back({name, command});
  return true;
}
std::vector<std::string> dump_subsystems(const Keyword&, const ServerConfig& c, bool quote) {
  std::vector<std::string> out;
  for (const auto& s : c.subsystems)
    out.push_back((quote ? quote_word(s.name) : s.name) + " " + s.command);
  return out;
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

bool parse_int_or_none(const Keyword& kw, Args& a, ServerConfig& c, ParseContext& ctx) {
  if (iequals(a.words[a.pos], "none")) {
    a.pos++;
    if (ctx.apply) field<int>(kw, c) = INT_MAX;  // no limit
    return true;
  }
  return parse_int(kw, a, c, ctx);
}

std::vector<std::string> dump_int_max_or_none(const Keyword& kw, const ServerConfig& c, bool) {
  int v = field<int>(kw, c);
  return {v == INT_MAX ? "none" : std::to_string(v)};
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

bool parse_mask(const Keyword& kw, Args& a, ServerConfig& c, ParseContext& ctx) {
  const std::string& w = *a.next();
  char* end = nullptr;
  long v = strtol(w.c_str(), &end, 8);
  if (w.empty() || *end != '\0' || v < 0 || v > 0777)
    return ctx.fail_plain("Invalid StreamLocalBindMask.");
  if (ctx.apply) field<int>(kw, c) = static_cast<int>(v);
  return true;
}
std::vector<std::string> dump_mask(const Keyword& kw, const ServerConfig& c, bool) {
  char buf[16];
  snprintf(buf, sizeof buf, "0%o", field<int>(kw, c));
  return {buf};
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
std::vector<std::string> dump_words(const Keyword& kw, const ServerConfig& c, bool quote) {
  return {join(field<std::vector<std::string>>(kw, c), " ", quote)};
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
std::vector<std::string> dump_plain(const Keyword& kw, const ServerConfig& c, bool quote) {
  const std::string& v = field<std::string>(kw, c);
  return {quote ? quote_word(v) : v};
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
      int* time = key == "crash"            ? &p.crash
                  : key == "authfail"       ? &p.authfail
                  : key == "noauth"         ? &p.noauth
                  : key == "grace-exceeded" ? &p.grace_exceeded
                  : key == "max"            ? &p.max
                  : key == "min"            ? &p.min
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
  // OpenSSH 9.2 has no such keyword: -T prints it only when it is on.
  if (!p.enabled) return quote ? std::vector<std::string>{"no"} : std::vector<std::string>{};
  auto t = [](const char* k, int v) { return std::string(k) + ":" + std::to_string(v) + "s"; };
  return {t("crash", p.crash) + " " + t("authfail", p.authfail) + " " + t("noauth", p.noauth) +
          " " + t("grace-exceeded", p.grace_exceeded) + " " + t("max", p.max) + " " +
          t("min", p.min) + " max-sources4:" + std::to_string(p.max_sources4) +
          " max-sources6:" + std::to_string(p.max_sources6) +
          " overflow:" + (p.overflow_permissive ? "permissive" : "deny-all") +
          " overflow6:" + (p.overflow6_permissive ? "permissive" : "deny-all")};
}
void copy_penalties(ServerConfig& d, const ServerConfig& s) {
  d.per_source_penalties = s.per_source_penalties;
}
std::vector<std::string> dump_string_if_set(const Keyword& kw, const ServerConfig& c, bool quote) {
  const std::string& v = field<std::string>(kw, c);
  if (v.empty()) return {};
  return {quote ? quote_word(v) : v};
}

// ---- the table ---------------------------------------------------------------------------

constexpr Choice kAddressFamily[] = {
    {"any", AddressFamily::kAny}, {"inet", AddressFamily::kInet}, {"inet6", AddressFamily::kInet6}};
constexpr Choice kPermitRootLogin[] = {
    {"without-password", PermitRootLogin::kProhibitPassword},
    {"prohibit-password", PermitRootLogin::kProhibitPassword},
    {"forced-commands-only", PermitRootLogin::kForcedCommandsOnly},
    {"yes", PermitRootLogin::kYes},
    {"no", PermitRootLogin::kNo}};
constexpr Choice kIgnoreRhosts[] = {{"yes", IgnoreRhosts::kYes},
                                    {"no", IgnoreRhosts::kNo},
                                    {"shosts-only", IgnoreRhosts::kShostsOnly}};
constexpr Choice kGatewayPorts[] = {{"no", GatewayPorts::kNo},
                                    {"yes", GatewayPorts::kYes},
                                    {"clientspecified", GatewayPorts::kClientSpecified}};
constexpr Choice kForwarding[] = {{"yes", Forwarding::kAll},
                                  {"all", Forwarding::kAll},
                                  {"no", Forwarding::kNo},
                                  {"local", Forwarding::kLocal},
                                  {"remote", Forwarding::kRemote}};
// sshd treats "yes" as "delayed" (compression after authentication) and prints "yes".
constexpr Choice kCompression[] = {
    {"yes", Compression::kDelayed}, {"delayed", Compression::kDelayed}, {"no", Compression::kNo}};
constexpr Choice kFingerprintHash[] = {{"MD5", FingerprintHash::kMd5},
                                       {"SHA1", FingerprintHash::kSha1},
                                       {"SHA256", FingerprintHash::kSha256},
                                       {"SHA384", FingerprintHash::kSha384},
                                       {"SHA512", FingerprintHash::kSha512}};
constexpr Choice kPermitTunnel[] = {{"yes", PermitTunnel::kYes},
                                    {"point-to-point", PermitTunnel::kPointToPoint},
                                    {"ethernet", PermitTunnel::kEthernet},
                                    {"no", PermitTunnel::kNo}};
constexpr Choice kFacility[] = {
    {"DAEMON", LOG_DAEMON},     {"USER", LOG_USER},     {"AUTH", LOG_AUTH},
    {"AUTHPRIV", LOG_AUTHPRIV}, {"LOCAL0", LOG_LOCAL0}, {"LOCAL1", LOG_LOCAL1},
    {"LOCAL2", LOG_LOCAL2},     {"LOCAL3", LOG_LOCAL3}, {"LOCAL4", LOG_LOCAL4},
    {"LOCAL5", LOG_LOCAL5},     {"LOCAL6", LOG_LOCAL6}, {"LOCAL7", LOG_LOCAL7}};

using S = ServerConfig;
constexpr unsigned M = kInMatch;
constexpr int kCipherList = static_cast<int>(AlgorithmKind::kCipher);
constexpr int kMacList = static_cast<int>(AlgorithmKind::kMac);
constexpr int kKexList = static_cast<int>(AlgorithmKind::kKex);
constexpr int kKeyList = static_cast<int>(AlgorithmKind::kKeyType);
constexpr int kCaKeyList = static_cast<int>(AlgorithmKind::kCaKeyType);
constexpr int kGssList = static_cast<int>(AlgorithmKind::kGssKex);

#define KEYTYPES_CERT                                                                  \
  "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,"         \
  "ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com," \
  "sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,"   \
  "rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,"
#define KEYTYPES_PLAIN                                                       \
  "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521," \
  "sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"

// clang-format off
const Keyword kTable[] = {
  // name, member, flags, default, parse, dump, [choices, copy, min, max, error, algorithms]
  {"Port", &S::ports, kAccumulate, nullptr, parse_port, dump_ports},
  {"AddressFamily", &S::address_family, 0, "any", parse_choice, dump_choice, kAddressFamily},
  {"ListenAddress", &S::listen_addresses, kAccumulate, nullptr, parse_listen, dump_listen},
  {"UsePAM", &S::use_pam, 0, "no", parse_flag, dump_flag},
  {"LoginGraceTime", &S::login_grace_time, 0, "120", parse_time_value, dump_int},
  {"X11DisplayOffset", &S::x11_display_offset, M, "10", parse_int, dump_int},
  {"MaxAuthTries", &S::max_auth_tries, M, "6", parse_int, dump_int},
  {"MaxSessions", &S::max_sessions, M, "10", parse_int, dump_int},
  {"ClientAliveInterval", &S::client_alive_interval, M, "0", parse_time_value, dump_int},
  {"ClientAliveCountMax", &S::client_alive_count_max, M, "3", parse_int, dump_int},
  {"RequiredRSASize", &S::required_rsa_size, M, "1024", parse_int, dump_int},
  {"StreamLocalBindMask", &S::stream_local_bind_mask, M | kLastWins, "0177", parse_mask, dump_mask},
  {"UnusedConnectionTimeout", &S::unused_connection_timeout, M, "none", parse_time_or_none,
   dump_int_or_none},
  {"PermitRootLogin", &S::permit_root_login, M, "prohibit-password", parse_choice, dump_choice,
   kPermitRootLogin},
  {"IgnoreRhosts", &S::ignore_rhosts, M, "yes", parse_choice, dump_choice, kIgnoreRhosts},
  {"IgnoreUserKnownHosts", &S::ignore_user_known_hosts, 0, "no", parse_flag, dump_flag},
  {"HostbasedAuthentication", &S::hostbased_authentication, M, "no", parse_flag, dump_flag},
  {"HostbasedUsesNameFromPacketOnly", &S::hostbased_uses_name_from_packet_only, M, "no",
   parse_flag, dump_flag},
  {"PubkeyAuthentication", &S::pubkey_authentication, M, "yes", parse_flag, dump_flag},
  {"KerberosAuthentication", &S::kerberos_authentication, M, "no", parse_flag, dump_flag},
  {"KerberosOrLocalPasswd", &S::kerberos_or_local_passwd, 0, "yes", parse_flag, dump_flag},
  {"KerberosTicketCleanup", &S::kerberos_ticket_cleanup, 0, "yes", parse_flag, dump_flag},
  {"GSSAPIAuthentication", &S::gssapi_authentication, M, "no", parse_flag, dump_flag},
  {"GSSAPICleanupCredentials", &S::gssapi_cleanup_credentials, 0, "yes", parse_flag, dump_flag},
  {"GSSAPIKeyExchange", &S::gssapi_key_exchange, 0, "no", parse_flag, dump_flag},
  {"GSSAPIStrictAcceptorCheck", &S::gssapi_strict_acceptor_check, 0, "yes", parse_flag,
   dump_flag},
  {"GSSAPIStoreCredentialsOnRekey", &S::gssapi_store_credentials_on_rekey, 0, "no", parse_flag,
   dump_flag},
  {"GSSAPIKexAlgorithms", &S::gssapi_kex_algorithms, 0,
   "gss-group14-sha256-,gss-group16-sha512-,gss-nistp256-sha256-,gss-curve25519-sha256-,"
   "gss-group14-sha1-,gss-gex-sha1-",
   parse_algorithms, dump_plain, {}, nullptr, 0, 0, "Bad GSSAPI KexAlgorithms", kGssList},
  {"PasswordAuthentication", &S::password_authentication, M, "yes", parse_flag, dump_flag},
  {"KbdInteractiveAuthentication", &S::kbd_interactive_authentication, M, "yes", parse_flag,
   dump_flag},
  {"PrintMotd", &S::print_motd, 0, "yes", parse_flag, dump_flag},
  {"PrintLastLog", &S::print_last_log, 0, "yes", parse_flag, dump_flag},
  {"X11Forwarding", &S::x11_forwarding, M, "no", parse_flag, dump_flag},
  {"X11UseLocalhost", &S::x11_use_localhost, M, "yes", parse_flag, dump_flag},
  {"PermitTTY", &S::permit_tty, M, "yes", parse_flag, dump_flag},
  {"PermitUserRC", &S::permit_user_rc, M, "yes", parse_flag, dump_flag},
  {"StrictModes", &S::strict_modes, 0, "yes", parse_flag, dump_flag},
  {"TCPKeepAlive", &S::tcp_keep_alive, 0, "yes", parse_flag, dump_flag},
  {"PermitEmptyPasswords", &S::permit_empty_passwords, M, "no", parse_flag, dump_flag},
  {"Compression", &S::compression, 0, "yes", parse_choice, dump_choice, kCompression},
  {"GatewayPorts", &S::gateway_ports, M, "no", parse_choice, dump_choice, kGatewayPorts},
  {"UseDNS", &S::use_dns, 0, "no", parse_flag, dump_flag},
  {"AllowTcpForwarding", &S::allow_tcp_forwarding, M, "yes", parse_choice, dump_choice,
   kForwarding},
  {"AllowAgentForwarding", &S::allow_agent_forwarding, M, "yes", parse_flag, dump_flag},
  {"DisableForwarding", &S::disable_forwarding, M, "no", parse_flag, dump_flag},
  {"AllowStreamLocalForwarding", &S::allow_stream_local_forwarding, M, "yes", parse_choice,
   dump_choice, kForwarding},
  {"StreamLocalBindUnlink", &S::stream_local_bind_unlink, M, "no", parse_flag, dump_flag},
  {"FingerprintHash", &S::fingerprint_hash, kLastWins, "SHA256", parse_choice, dump_choice,
   kFingerprintHash, nullptr, 0, 0, "Invalid FingerprintHash algorithm"},
  {"ExposeAuthInfo", &S::expose_auth_info, M, "no", parse_flag, dump_flag},
  {"PidFile", &S::pid_file, kPath, "/run/sshd.pid", parse_string, dump_string},
  {"ModuliFile", &S::moduli_file, kPath, "@/moduli", parse_path, dump_plain},
  {"XAuthLocation", &S::xauth_location, kPath, "/usr/bin/xauth", parse_string, dump_string},
  {"Ciphers", &S::ciphers, 0,
   "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,"
   "aes256-gcm@openssh.com",
   parse_algorithms, dump_plain, {}, nullptr, 0, 0, "Bad SSH2 cipher spec", kCipherList},
  {"MACs", &S::macs, 0,
   "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
   "hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,"
   "umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
   parse_algorithms, dump_plain, {}, nullptr, 0, 0, "Bad SSH2 mac spec", kMacList},
  {"Banner", &S::banner, M | kPath, "none", parse_string, dump_string},
  {"ForceCommand", &S::force_command, M, "none", parse_line, dump_line},
  {"ChrootDirectory", &S::chroot_directory, M, "none", parse_string, dump_string},
  {"TrustedUserCAKeys", &S::trusted_user_ca_keys, M | kPath, "none", parse_string, dump_string},
  {"RevokedKeys", &S::revoked_keys, M | kPath, "none", parse_string, dump_string},
  {"SecurityKeyProvider", &S::security_key_provider, kPath, "internal", parse_path, dump_plain},
  {"AuthorizedPrincipalsFile", &S::authorized_principals_file, M, "none", parse_string,
   dump_string},
  {"VersionAddendum", &S::version_addendum, 0, "none", parse_line, dump_line},
  {"AuthorizedKeysCommand", &S::authorized_keys_command, M, "none", parse_command, dump_line},
  {"AuthorizedKeysCommandUser", &S::authorized_keys_command_user, M, "none", parse_string,
   dump_string},
  {"AuthorizedPrincipalsCommand", &S::authorized_principals_command, M, "none", parse_command,
   dump_line},
  {"AuthorizedPrincipalsCommandUser", &S::authorized_principals_command_user, M, "none",
   parse_string, dump_string},
  {"HostKeyAgent", &S::host_key_agent, kPath, "none", parse_string, dump_string},
  {"KexAlgorithms", &S::kex_algorithms, 0,
   "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,"
   "curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,"
   "diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,"
   "diffie-hellman-group18-sha512,diffie-hellman-group14-sha256",
   parse_algorithms, dump_plain, {}, nullptr, 0, 0, "Bad SSH2 KexAlgorithms", kKexList},
  {"CASignatureAlgorithms", &S::ca_signature_algorithms, M, KEYTYPES_PLAIN, parse_algorithms,
   dump_plain, {}, nullptr, 0, 0, "Bad key types", kCaKeyList},
  {"HostbasedAcceptedAlgorithms", &S::hostbased_accepted_algorithms, M,
   KEYTYPES_CERT KEYTYPES_PLAIN, parse_algorithms, dump_plain, {}, nullptr, 0, 0,
   "Bad key types", kKeyList},
  {"HostKeyAlgorithms", &S::host_key_algorithms, 0, KEYTYPES_CERT KEYTYPES_PLAIN,
   parse_algorithms, dump_plain, {}, nullptr, 0, 0, "Bad key types", kKeyList},
  {"PubkeyAcceptedAlgorithms", &S::pubkey_accepted_algorithms, M, KEYTYPES_CERT KEYTYPES_PLAIN,
   parse_algorithms, dump_plain, {}, nullptr, 0, 0, "Bad key types", kKeyList},
  {"LogLevel", &S::log_level, M, "INFO", parse_log_level_value, dump_log_level},
  {"SyslogFacility", &S::syslog_facility, 0, "AUTH", parse_facility, dump_choice, kFacility},
  {"AuthorizedKeysFile", &S::authorized_keys_files, M,
   ".ssh/authorized_keys .ssh/authorized_keys2", parse_word_list, dump_word_list},
  {"HostKey", &S::host_keys, kAccumulate | kPath, nullptr, parse_accumulate, dump_each},
  {"HostCertificate", &S::host_certificates, kAccumulate | kPath, nullptr, parse_accumulate, dump_each},
  {"AllowUsers", &S::allow_users, M | kAccumulate, nullptr, parse_accumulate, dump_each},
  {"DenyUsers", &S::deny_users, M | kAccumulate, nullptr, parse_accumulate, dump_each},
  {"AllowGroups", &S::allow_groups, M | kAccumulate, nullptr, parse_accumulate, dump_each},
  {"DenyGroups", &S::deny_groups, M | kAccumulate, nullptr, parse_accumulate, dump_each},
  {"AcceptEnv", &S::accept_env, M | kAccumulate, nullptr, parse_accumulate, dump_each},
  {"SetEnv", &S::set_env, M, nullptr, parse_word_list, dump_each_or_nothing},
  {"AuthenticationMethods", &S::authentication_methods, M, "any", parse_auth_methods,
   dump_words},
  {"LogVerbose", &S::log_verbose, M | kDumpIfSet, nullptr, parse_word_list,
   dump_word_list_if_set},
  {"ChannelTimeout", &S::channel_timeout, M | kDumpIfSet, nullptr, parse_word_list,
   dump_word_list_if_set},
  {"Subsystem", &S::subsystems, kAccumulate, nullptr, parse_subsystem, dump_subsystems},
  {"MaxStartups", std::monostate{}, kLastWins, "10:30:100", parse_max_startups, dump_max_startups, {},
   copy_max_startups},
  {"PerSourceMaxStartups", &S::per_source_max_startups, kLastWins, "none", parse_int_or_none,
   dump_int_max_or_none},
  {"PerSourceNetBlockSize", std::monostate{}, kLastWins, "32:128", parse_netblock, dump_netblock, {},
   copy_netblock},
  {"PermitTunnel", &S::permit_tunnel, M, "no", parse_choice, dump_choice, kPermitTunnel},
  {"IPQoS", std::monostate{}, M | kLastWins, "lowdelay throughput", parse_ipqos, dump_ipqos, {}, copy_ipqos},
  {"RekeyLimit", std::monostate{}, M | kLastWins, "default none", parse_rekey, dump_rekey, {}, copy_rekey},
  {"PermitOpen", &S::permit_open, M, "any", parse_permit, dump_words},
  {"PermitListen", &S::permit_listen, M, "any", parse_permit, dump_words},
  {"PermitUserEnvironment", &S::permit_user_environment, 0, "no", parse_user_env, dump_plain},
  {"PubkeyAuthOptions", &S::pubkey_auth_options, M, "none", parse_pubkey_options,
   dump_word_list},
  // Not printed by OpenSSH 9.2's -T.
  {"RDomain", &S::rdomain, M | kNoDump, nullptr, parse_string, dump_string},
  {"DebianBanner", &S::debian_banner, kNoDump, "yes", parse_flag, dump_flag},
  {"PerSourcePenalties", std::monostate{}, 0, nullptr, parse_penalties, dump_penalties, {},
   copy_penalties},
  {"PerSourcePenaltyExemptList", &S::per_source_penalty_exempt_list, kDumpIfSet, nullptr,
   parse_string, dump_string_if_set},
};
// clang-format on
static_assert(std::size(kTable) < kRekeyIntervalSet);

struct Alias {
  const char* alias;
  const char* name;
};
constexpr Alias kAliases[] = {
    {"SkeyAuthentication", "KbdInteractiveAuthentication"},
    {"ChallengeResponseAuthentication", "KbdInteractiveAuthentication"},
    {"DSAAuthentication", "PubkeyAuthentication"},
    {"KeepAlive", "TCPKeepAlive"},
    {"GSSAPICleanupCreds", "GSSAPICleanupCredentials"},
    {"PubkeyAcceptedKeyTypes", "PubkeyAcceptedAlgorithms"},
    {"HostbasedAcceptedKeyTypes", "HostbasedAcceptedAlgorithms"},
    {"HostDSAKey", "HostKey"},
};

struct SpecialName {
  const char* name;
  Special kind;
};
constexpr SpecialName kSpecials[] = {
    {"ServerKeyBits", Special::kDeprecated},
    {"KeyRegenerationInterval", Special::kDeprecated},
    {"RhostsRSAAuthentication", Special::kDeprecated},
    {"RSAAuthentication", Special::kDeprecated},
    {"UsePrivilegeSeparation", Special::kDeprecated},
    {"UseLogin", Special::kDeprecated},
    {"PAMAuthenticationViaKbdInt", Special::kDeprecated},
    {"VerifyReverseMapping", Special::kDeprecated},
    {"ReverseMappingCheck", Special::kDeprecated},
    {"AuthorizedKeysFile2", Special::kDeprecated},
    {"CheckMail", Special::kDeprecated},
    {"RhostsAuthentication", Special::kDeprecated},
    {"PermitBlacklistedKeys", Special::kDeprecated},
    {"KerberosTgtPassing", Special::kUnsupported},
    {"AFSTokenPassing", Special::kUnsupported},
    {"KerberosGetAFSToken", Special::kUnsupported},
    {"Protocol", Special::kIgnored},
};

}  // namespace

std::span<const Keyword> keyword_table() {
  return kTable;
}

int find_keyword(std::string_view name) {
  for (const Alias& a : kAliases)
    if (iequals(name, a.alias)) return find_keyword(a.name);
  for (size_t i = 0; i < std::size(kTable); ++i)
    if (iequals(name, kTable[i].name)) return static_cast<int>(i);
  return -1;
}

bool special_in_match(std::string_view name) {
  for (const char* n : {"RSAAuthentication", "RhostsRSAAuthentication", "AuthorizedKeysFile2"})
    if (iequals(name, n)) return true;
  return false;
}

Special special_keyword(std::string_view name) {
  for (const SpecialName& s : kSpecials)
    if (iequals(name, s.name)) return s.kind;
  return Special::kNone;
}

void copy_member(const Keyword& kw, ServerConfig& dst, const ServerConfig& src) {
  if (kw.copy) return kw.copy(dst, src);
  std::visit(
      [&](auto m) {
        if constexpr (!std::is_same_v<decltype(m), std::monostate>) dst.*m = src.*m;
      },
      kw.member);
}

std::string quote_word(const std::string& word) {
  // '#' would start a comment, a leading '=' would be read as the key=value separator.
  bool needs = word.empty() || word[0] == '#' || word[0] == '=';
  for (char ch : word)
    if (isspace(static_cast<unsigned char>(ch)) || ch == '"' || ch == '\'' || ch == '\\')
      needs = true;
  if (!needs) return word;
  std::string out = "\"";
  for (char ch : word) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

bool split_words(std::string_view text, std::vector<std::string>& out, std::string& error) {
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i >= text.size()) break;
    if (text[i] == '#') break;  // a comment to the end of the line
    std::string word;
    char quote = 0;
    while (i < text.size()) {
      char ch = text[i];
      if (quote == 0 && isspace(static_cast<unsigned char>(ch))) break;
      if (ch == '\\' && i + 1 < text.size() &&
          (text[i + 1] == '"' || text[i + 1] == '\'' || text[i + 1] == '\\' ||
           (quote == 0 && isspace(static_cast<unsigned char>(text[i + 1]))))) {
        word += text[i + 1];
        i += 2;
        continue;
      }
      if (quote == 0 && (ch == '"' || ch == '\'')) {
        quote = ch;
        ++i;
        continue;
      }
      if (quote != 0 && ch == quote) {
        quote = 0;
        ++i;
        continue;
      }
      word += ch;
      ++i;
    }
    if (quote != 0) {
      error = "invalid quotes";
      return false;
    }
    out.push_back(std::move(word));
  }
  return true;
}

}  // namespace postern::config::detail
