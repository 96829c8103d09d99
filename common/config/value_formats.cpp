// The value formats of sshd_config(5): how each kind of value is parsed from a line's words and
// printed back (yes/no, choices, integers, TIME FORMATS, strings and paths, the rest of the line,
// word lists, algorithm lists, log levels, syslog facilities). Keyword rows name them
// (keyword_table.cpp); the values whose syntax belongs to one keyword are in keyword_values.cpp.
#include "common/config/value_formats.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdio>
#include <cstdlib>

#include "common/config/tokenizer.h"
#include "common/join.h"

namespace postern::config::detail {

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

namespace {

// sshd makes these paths absolute when it reads them, because it changes directory later.
std::string absolute_path(const Keyword& kw, const std::string& path) {
  if (!(kw.flags & kPath) || path.empty() || path[0] == '/' || path == "internal" ||
      path == "SSH_AUTH_SOCK")
    return path;
  char buf[4096];
  if (getcwd(buf, sizeof buf) == nullptr) return path;
  return std::string(buf) + "/" + path;
}

}  // namespace

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

namespace {

// Stores the value of the row's choice named `w` (any case); false if there is none.
bool store_choice(const Keyword& kw, const std::string& w, ServerConfig& c, ParseContext& ctx) {
  for (const Choice& ch : kw.choices) {
    if (iequals(w, ch.name)) {
      if (ctx.apply) field<int>(kw, c) = ch.value;
      return true;
    }
  }
  return false;
}

}  // namespace

bool parse_choice(const Keyword& kw, Args& a, ServerConfig& c, ParseContext& ctx) {
  const std::string& w = *a.next();
  if (store_choice(kw, w, c, ctx)) return true;
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
  return {quote ? join_quoted(v) : join(v, " ")};
}
std::vector<std::string> dump_word_list_if_set(const Keyword& kw, const ServerConfig& c,
                                               bool quote) {
  const auto& v = field<std::vector<std::string>>(kw, c);
  if (v.empty()) return {};
  return {quote ? join_quoted(v) : join(v, " ")};
}
// -T prints SetEnv one variable per line.
std::vector<std::string> dump_each_or_nothing(const Keyword& kw, const ServerConfig& c,
                                              bool quote) {
  const auto& v = field<std::vector<std::string>>(kw, c);
  if (quote) return v.empty() ? std::vector<std::string>{} : std::vector{join_quoted(v)};
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
  // +, - and ^ apply to the defaults in force (OpenSSHDefaults given before this line).
  if (!assemble_algorithms(static_cast<AlgorithmKind>(kw.algorithms), w, default_text(kw, c),
                           out)) {
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
  if (store_choice(kw, w, c, ctx)) return true;
  return ctx.fail_plain("unsupported log facility '" + w + "'");
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
std::vector<std::string> dump_words(const Keyword& kw, const ServerConfig& c, bool quote) {
  const auto& v = field<std::vector<std::string>>(kw, c);
  return {quote ? join_quoted(v) : join(v, " ")};
}
std::vector<std::string> dump_plain(const Keyword& kw, const ServerConfig& c, bool quote) {
  const std::string& v = field<std::string>(kw, c);
  return {quote ? quote_word(v) : v};
}
std::vector<std::string> dump_string_if_set(const Keyword& kw, const ServerConfig& c, bool quote) {
  const std::string& v = field<std::string>(kw, c);
  if (v.empty()) return {};
  return {quote ? quote_word(v) : v};
}

}  // namespace postern::config::detail
