// The values OpenSSH 9.8-10.x added that name postern's own programs: SshdSessionPath and
// SshdAuthPath (the helpers the listener and the monitor exec), and the version string that
// `Match version` tests.
#include <string>

#include "common/config/tokenizer.h"
#include "common/config/value_formats.h"
#include "postern_config.h"

namespace postern::config {

std::string server_version_for_match() {
  return std::string("postern_") + POSTERN_VERSION;
}

std::string default_helper_path(std::string_view helper) {
  return std::string(POSTERN_LIBEXECDIR) + "/" + std::string(helper);
}

namespace detail {
namespace {

// The program a row names: SshdSessionPath is postern's sshd-session, SshdAuthPath the
// pre-authentication child, postern's sshd-net.
std::string_view helper_of(const Keyword& kw) {
  return iequals(kw.name, "SshdAuthPath") ? "sshd-net" : "sshd-session";
}

}  // namespace

// sshd_config(5) of OpenSSH 10: a path to a program. It must be absolute here (sshd execs it
// without a search); whether it exists and is root's is checked when sshd starts to serve
// (monitor/helper_path.h), so `sshd -T` shows a configuration for another machine as well.
bool parse_helper_path(const Keyword& kw, Args& a, ServerConfig& c, ParseContext& ctx) {
  const std::string& w = *a.next();
  if (w.empty() || w[0] != '/')
    return ctx.fail_plain(std::string(kw.name) + " must be an absolute path: " + w);
  if (ctx.apply) field<std::string>(kw, c) = w;
  return true;
}

std::vector<std::string> dump_helper_path(const Keyword& kw, const ServerConfig& c, bool quote) {
  const std::string& v = field<std::string>(kw, c);
  // Unset: serialised as nothing (the child keeps "not configured"); -T shows the built-in.
  if (v.empty())
    return quote ? std::vector<std::string>{} : std::vector{default_helper_path(helper_of(kw))};
  return {quote ? quote_word(v) : v};
}

}  // namespace detail
}  // namespace postern::config
