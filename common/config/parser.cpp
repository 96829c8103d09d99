// Reading sshd_config(5): lines, first-value-wins, -o options, Include, recording Match blocks for
// later evaluation, defaults. Errors are reported in OpenSSH's words so administrators and scripts
// see what they are used to.
#include <glob.h>
#include <netdb.h>
#include <strings.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/config/keywords.h"
#include "common/config/match_eval.h"
#include "common/config/tokenizer.h"
#include "common/join.h"
#include "postern_config.h"

namespace postern::config {
namespace {

using namespace detail;

// The "file name" of -o options in messages.
constexpr const char* kCommandLine = "command-line";

// OpenSSH limits Include nesting to this depth.
constexpr int kMaxIncludeDepth = 16;

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

bool read_file(const std::string& path, std::string& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": " + strerror(errno);
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

class Parser {
 public:
  Parser(ServerConfig& cfg, const LoadOptions& options, bool record)
      : m_cfg(cfg), m_options(options), m_record(record) {}

  // Parses every line of `text`. Returns false on a fatal error (see fatal()).
  bool parse_text(std::string_view text, const std::string& file, int depth) {
    int lineno = 0;
    size_t start = 0;
    int saved_block = m_block;
    m_outer.push_back(m_block);
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      ++lineno;
      if (!parse_line(text.substr(start, end - start), file, lineno, depth)) return false;
      start = end + 1;
    }
    // A Match inside an included file ends with that file.
    m_block = saved_block;
    m_outer.pop_back();
    return true;
  }

  // One line. `active_block` < 0: global; in re-evaluation mode every line given is active.
  bool parse_line(std::string_view raw, const std::string& file, int lineno, int depth) {
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#') return true;
    size_t k = 0;
    std::string keyword;
    if (line[0] == '"') {
      // A keyword may be double-quoted; sshd skips a line whose keyword quote is not closed.
      size_t close = line.find('"', 1);
      if (close == std::string::npos) return true;
      keyword = line.substr(1, close - 1);
      k = close + 1;
    } else {
      while (k < line.size() && !isspace(static_cast<unsigned char>(line[k])) && line[k] != '=')
        ++k;
      keyword = line.substr(0, k);
    }
    size_t r = k;
    while (r < line.size() && isspace(static_cast<unsigned char>(line[r]))) ++r;
    if (r < line.size() && line[r] == '=') ++r;
    while (r < line.size() && isspace(static_cast<unsigned char>(line[r]))) ++r;

    Args args;
    args.rest = line.substr(r);
    std::string where = file + " line " + std::to_string(lineno);
    std::string split_error;
    if (!split_words(args.rest, args.words, split_error)) {
      error(where + ": " + split_error);
      return true;
    }

    for (const char* directive : {"Match", "Include"}) {
      if (file == kCommandLine && strcasecmp(keyword.c_str(), directive) == 0)
        return fail(std::string(directive) + " directive not supported as a command-line option");
    }
    if (strcasecmp(keyword.c_str(), "Match") == 0) return handle_match(args, where, lineno);
    if (strcasecmp(keyword.c_str(), "Include") == 0) {
      if (args.words.empty()) {
        error(where + ": no argument after keyword \"" + keyword + "\"");
        return true;
      }
      return handle_include(args, where, depth);
    }

    bool in_match = m_block >= 0;
    // While loading, Match blocks wait for a connection, except "Match All", which OpenSSH
    // applies at once as well.
    bool active =
        !m_record || !in_match || strcasecmp(m_cfg.match_blocks[m_block].c_str(), "all") == 0;
    auto not_in_match = [&] {
      return fail(where + ": Directive '" + keyword + "' is not allowed within a Match block");
    };

    Special special = special_keyword(keyword);
    if (special != Special::kNone) {
      if (!active && !special_in_match(keyword)) return not_in_match();
      if (special == Special::kDeprecated) note(where + ": Deprecated option " + keyword);
      if (special == Special::kUnsupported) note(where + ": Unsupported option " + keyword);
      return true;
    }

    int idx = find_keyword(keyword);
    if (idx < 0) {
      error(file + ": line " + std::to_string(lineno) + ": Bad configuration option: " + keyword);
      // sshd goes on to judge the unknown keyword as not allowed in a Match block.
      if (!active) return not_in_match();
      return true;
    }
    const Keyword& kw = keyword_table()[idx];
    // sshd refuses a global-only keyword in a Match block it is not applying (so one under
    // "Match All" is taken, globally); per connection only Match keywords are copied.
    if (!active && !(kw.flags & kInMatch)) return not_in_match();
    if (args.words.empty()) {
      error(where + ": no argument after keyword \"" + keyword + "\"");
      return true;
    }

    ParseContext ctx;
    ctx.where = where;
    ctx.keyword = keyword;
    ctx.options = &m_options;
    ctx.apply = active && ((kw.flags & (kAccumulate | kLastWins)) || !m_cfg.explicitly_set[idx]);
    if (!kw.parse(kw, args, m_cfg, ctx)) {
      if (!ctx.counted) return fail(ctx.fatal);
      error(ctx.fatal);
      return true;
    }
    if (!args.done()) {
      error(where + ": keyword " + keyword + " extra arguments at end of line");
      return true;
    }
    if (ctx.apply) m_cfg.explicitly_set[idx] = true;
    if (m_record && in_match) m_cfg.match_lines.push_back({file, lineno, line, m_block});
    return true;
  }

  const std::string& fatal() const { return m_fatal; }
  // Errors and notes (deprecated or unsupported keywords) in the order sshd prints them.
  const std::vector<std::string>& messages() const { return m_messages; }
  int error_count() const { return m_error_count; }
  void log_notes() const {
    for (const auto& m : m_messages) log_info("%s", m.c_str());
  }

 private:
  bool fail(std::string message) {
    m_fatal = std::move(message);
    return false;
  }
  void error(std::string message) {
    m_messages.push_back(std::move(message));
    ++m_error_count;
  }
  void note(std::string message) { m_messages.push_back(std::move(message)); }

  bool handle_match(const Args& args, const std::string& where, int lineno) {
    if (!m_record) return fail(where + ": Match not expected here");
    std::string error;
    std::vector<std::string> words = split_match_assignments(args.words);
    if (!check_match_criteria(words, error)) {
      if (!error.empty() && error[0] == '\x01')
        return fail(error.substr(1) + std::to_string(lineno));
      return fail(error + "\n" + where + ": Bad Match condition");
    }
    std::string criteria = join_quoted(words);
    // A Match in a file included from inside a Match block applies only where that block does.
    int outer = m_outer.empty() ? -1 : m_outer.back();
    if (outer >= 0) {
      const std::string& o = m_cfg.match_blocks[outer];
      if (strcasecmp(criteria.c_str(), "all") == 0)
        criteria = o;
      else if (strcasecmp(o.c_str(), "all") != 0)
        criteria = o + " " + criteria;
    }
    m_cfg.match_blocks.push_back(criteria);
    m_block = static_cast<int>(m_cfg.match_blocks.size()) - 1;
    return true;
  }

  bool handle_include(const Args& args, const std::string& where, int depth) {
    if (depth + 1 > kMaxIncludeDepth) return fail("Too many recursive configuration includes");
    for (const auto& pattern : args.words) {
      // sshd_config(5): relative Include paths are taken from the configuration directory.
      std::string full =
          pattern[0] == '/' || pattern[0] == '~' ? pattern : sysconfdir(m_options) + "/" + pattern;
      glob_t g{};
      int rc = glob(full.c_str(), 0, nullptr, &g);
      if (rc != 0 && rc != GLOB_NOMATCH) {
        globfree(&g);
        return fail(where + ": include \"" + full + "\" glob failed");
      }
      std::vector<std::string> paths(g.gl_pathv, g.gl_pathv + g.gl_pathc);
      globfree(&g);
      for (const auto& path : paths) {
        std::string text, error;
        if (!read_file(path, text, error)) return fail(where + ": " + error);
        if (!parse_text(text, path, depth + 1)) return false;
      }
    }
    return true;
  }

 public:
  static std::string sysconfdir(const LoadOptions& o) {
    return o.sysconfdir.empty() ? std::string(POSTERN_SYSCONFDIR) : o.sysconfdir;
  }

 private:
  ServerConfig& m_cfg;
  const LoadOptions& m_options;
  bool m_record;             // load mode: Match blocks are recorded, not applied
  int m_block = -1;          // current Match block, -1 = global
  std::vector<int> m_outer;  // per open file: the Match block its Include line was in
  std::string m_fatal;
  std::vector<std::string> m_messages;
  int m_error_count = 0;
};

// Resolves one ListenAddress to numeric addresses as sshd does when it reads the config, so the
// listener and -T see "[::1]:22" for "0:0::1" and 127.0.0.1 for "localhost".
bool resolve_listen(const ListenAddress& la, int family, std::vector<ListenAddress>& out,
                    std::string& error) {
  struct addrinfo hints {};
  hints.ai_family = family == AddressFamily::kInet    ? AF_INET
                    : family == AddressFamily::kInet6 ? AF_INET6
                                                      : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  struct addrinfo* res = nullptr;
  std::string port = std::to_string(la.port);
  int rc = getaddrinfo(la.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) {
    error = "bad addr or host: " + la.host + " (" + gai_strerror(rc) + ")";
    return false;
  }
  for (struct addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    char host[NI_MAXHOST];
    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, nullptr, 0, NI_NUMERICHOST) !=
        0)
      continue;
    out.push_back({host, la.port, la.rdomain});  // duplicates stay, as in sshd
  }
  freeaddrinfo(res);
  return true;
}

bool fill_defaults(ServerConfig& c, const LoadOptions& options, std::string& error) {
  std::string etc = Parser::sysconfdir(options);
  auto table = keyword_table();
  for (size_t i = 0; i < table.size(); ++i) {
    const Keyword& kw = table[i];
    const char* text = default_text(kw, c);
    if (c.explicitly_set[i] || text == nullptr) continue;
    Args args;
    std::string def = text[0] == '@' ? etc + (text + 1) : text;
    args.rest = def;
    std::string error;
    split_words(def, args.words, error);
    ParseContext ctx;
    ctx.where = "default";
    ctx.options = &options;
    if (!kw.parse(kw, args, c, ctx)) fatal("bad built-in default for %s", kw.name);
  }
  if (c.ports.empty()) c.ports.push_back(options.default_port);
  // Wildcard listeners per port when none are given, else every port-less address gets each Port.
  std::vector<ListenAddress> listen;
  if (c.listen_addresses.empty()) {
    for (int port : c.ports) {
      if (c.address_family != AddressFamily::kInet) listen.push_back({"::", port, ""});
      if (c.address_family != AddressFamily::kInet6) listen.push_back({"0.0.0.0", port, ""});
    }
  } else {
    for (const auto& la : c.listen_addresses) {
      if (la.port != 0) {
        if (!resolve_listen(la, c.address_family, listen, error)) return false;
        continue;
      }
      for (int port : c.ports)
        if (!resolve_listen({la.host, port, la.rdomain}, c.address_family, listen, error))
          return false;
    }
  }
  c.listen_addresses = std::move(listen);
  if (c.host_keys.empty()) {
    for (const char* name : {"ssh_host_rsa_key", "ssh_host_ecdsa_key", "ssh_host_ed25519_key"})
      c.host_keys.push_back(etc + "/" + name);
  }
  return true;
}

// sshd refuses to start when no AuthenticationMethods list can succeed with the methods enabled.
bool check_auth_methods(const ServerConfig& c, std::string& error) {
  if (c.authentication_methods.empty() || c.authentication_methods[0] == "any") return true;
  bool satisfiable = false;
  std::string notes;
  for (const auto& list : c.authentication_methods) {
    bool ok = true;
    size_t start = 0;
    while (start <= list.size()) {
      size_t end = list.find(',', start);
      if (end == std::string::npos) end = list.size();
      std::string method = list.substr(start, end - start);
      method = method.substr(0, method.find(':'));
      bool enabled = method == "publickey"              ? c.pubkey_authentication
                     : method == "password"             ? c.password_authentication
                     : method == "keyboard-interactive" ? c.kbd_interactive_authentication
                     : method == "hostbased"            ? c.hostbased_authentication
                     : method == "gssapi-with-mic"      ? c.gssapi_authentication
                                                        : true;
      if (!enabled) {
        notes +=
            "Disabled method \"" + method + "\" in AuthenticationMethods list \"" + list + "\"\n";
        ok = false;
        break;
      }
      start = end + 1;
    }
    satisfiable = satisfiable || ok;
  }
  if (!satisfiable) {
    error = notes + "AuthenticationMethods cannot be satisfied by enabled authentication methods";
  } else if (!notes.empty()) {
    notes.pop_back();
    log_info("%s", notes.c_str());
  }
  return satisfiable;
}

std::string messages(const Parser& parser) {
  return join(parser.messages(), "\n");
}

// What sshd printed before stopping: the errors and notes so far, then the last word.
std::string report(const Parser& parser, const std::string& last) {
  std::string out;
  for (const auto& m : parser.messages()) out += m + "\n";
  return out + last;
}
std::string fatal_report(const Parser& parser) {
  return report(parser, parser.fatal());
}
std::string error_report(const Parser& parser, const std::string& name) {
  return report(parser, name + ": terminating, " + std::to_string(parser.error_count()) +
                            " bad configuration options");
}

}  // namespace

Result<ServerConfig> parse_server_config(std::string_view text, const std::string& name,
                                         const std::vector<std::string>& cmdline_options,
                                         const LoadOptions& options) {
  ServerConfig cfg;
  Parser parser(cfg, options, true);
  // Command-line -o options come first so that they win (first value obtained is used).
  for (const auto& opt : cmdline_options) {
    if (!parser.parse_line(opt, kCommandLine, 0, 0)) return Unexpected(fatal_report(parser));
    // sshd stops at the first bad -o option, without the "terminating" summary.
    if (parser.error_count() > 0) return Unexpected(messages(parser));
  }
  if (!parser.parse_text(text, name, 0)) return Unexpected(fatal_report(parser));
  if (parser.error_count() > 0) return Unexpected(error_report(parser, name));
  std::string error;
  if (!fill_defaults(cfg, options, error)) return Unexpected(report(parser, error));
  if (!check_auth_methods(cfg, error)) return Unexpected(report(parser, error));
  if (!cfg.authorized_keys_command.empty() && cfg.authorized_keys_command_user.empty())
    return Unexpected(
        report(parser, "AuthorizedKeysCommand set without AuthorizedKeysCommandUser"));
  if (!cfg.authorized_principals_command.empty() && cfg.authorized_principals_command_user.empty())
    return Unexpected(
        report(parser, "AuthorizedPrincipalsCommand set without AuthorizedPrincipalsCommandUser"));
  parser.log_notes();
  return cfg;
}

Result<ServerConfig> load_server_config(const std::string& path,
                                        const std::vector<std::string>& cmdline_options,
                                        const LoadOptions& options) {
  std::string text, error;
  if (!read_file(path, text, error)) return Unexpected(error);
  return parse_server_config(text, path, cmdline_options, options);
}

ServerConfig default_server_config(const LoadOptions& options) {
  ServerConfig cfg;
  std::string error;
  fill_defaults(cfg, options, error);  // cannot fail: no names to resolve
  return cfg;
}

Result<ServerConfig> apply_match_for_test(const ServerConfig& config, const ConnectionInfo& ci) {
  for (const auto& criteria : config.match_blocks) {
    std::vector<std::string> words;
    std::string error;
    split_words(criteria, words, error);
    if (!check_spec_covers(words, ci, error)) return Unexpected(error);
  }
  return apply_match(config, ci);
}

ServerConfig apply_match(const ServerConfig& config, const ConnectionInfo& ci) {
  std::vector<bool> matches;
  for (const auto& criteria : config.match_blocks) {
    std::vector<std::string> words;
    std::string error;
    split_words(criteria, words, error);
    matches.push_back(evaluate_match(words, ci));
  }
  ServerConfig mo;
  LoadOptions options;
  Parser parser(mo, options, false);
  for (const auto& line : config.match_lines) {
    if (line.match_block < 0 || line.match_block >= static_cast<int>(matches.size()) ||
        !matches[line.match_block])
      continue;
    if (!parser.parse_line(line.text, line.file, line.line, 0))
      log_error("%s", parser.fatal().c_str());
  }
  ServerConfig out = config;
  auto table = keyword_table();
  for (size_t i = 0; i < table.size(); ++i) {
    if (!mo.explicitly_set[i] || !(table[i].flags & kInMatch)) continue;
    copy_member(table[i], out, mo);
    out.explicitly_set[i] = true;
  }
  return out;
}

}  // namespace postern::config
