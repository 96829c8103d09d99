#include "session/login_env.h"

#include <fcntl.h>
#include <unistd.h>

#include "common/match_pattern.h"
#include "common/text_lines.h"

namespace postern::session {

void Environment::set(std::string_view name, std::string_view value, bool overwrite) {
  std::string entry;
  entry.reserve(name.size() + 1 + value.size());
  entry.append(name).append("=").append(value);
  for (auto& e : m_entries) {
    if (e.size() > name.size() && e[name.size()] == '=' && e.compare(0, name.size(), name) == 0) {
      if (overwrite) e = std::move(entry);
      return;
    }
  }
  m_entries.push_back(std::move(entry));
}

std::optional<std::string> Environment::get(std::string_view name) const {
  for (const auto& e : m_entries) {
    if (e.size() > name.size() && e[name.size()] == '=' && e.compare(0, name.size(), name) == 0)
      return e.substr(name.size() + 1);
  }
  return std::nullopt;
}

Environment build_session_env(const SessionEnvInputs& in) {
  const Account& user = *in.user;
  const ConnectionEnds& peer = *in.peer;
  Environment env;
  env.set("USER", user.name);
  env.set("LOGNAME", user.name);
  env.set("HOME", user.home);
  env.set("PATH", user.uid == 0 ? kRootPath : kUserPath);
  env.set("MAIL", std::string(kMailDir) + "/" + user.name);
  env.set("SHELL", user.shell);
  // What the client sent: the first value of a name wins, as with repeated SetEnv.
  if (in.client_env) {
    Environment client;
    for (const auto& [name, value] : *in.client_env) client.set(name, value, false);
    for (const auto& e : client.entries()) {
      size_t eq = e.find('=');
      env.set(std::string_view(e).substr(0, eq), std::string_view(e).substr(eq + 1));
    }
  }
  // What the user may set (PermitUserEnvironment) overrides what the client sent; SetEnv still
  // wins over it (sshd_config(5) SetEnv). The last value of a name wins: the file after the key.
  if (in.user_env) {
    for (const auto& [name, value] : *in.user_env) env.set(name, value);
  }
  // The server's SetEnv overrides the client (sshd_config(5)); its first value of a name wins.
  if (in.server_env) {
    Environment server;
    for (const auto& [name, value] : *in.server_env) server.set(name, value, false);
    for (const auto& e : server.entries()) {
      size_t eq = e.find('=');
      env.set(std::string_view(e).substr(0, eq), std::string_view(e).substr(eq + 1));
    }
  }
  env.set("SSH_CLIENT", peer.remote.address + " " + std::to_string(peer.remote.port) + " " +
                            std::to_string(peer.local.port));
  env.set("SSH_CONNECTION", peer.remote.address + " " + std::to_string(peer.remote.port) + " " +
                                peer.local.address + " " + std::to_string(peer.local.port));
  if (!in.tty_name.empty()) env.set("SSH_TTY", in.tty_name);
  if (!in.term.empty()) env.set("TERM", in.term);
  if (in.original_command) env.set("SSH_ORIGINAL_COMMAND", *in.original_command);
  return env;
}

std::vector<std::string> shell_argv(std::string_view shell,
                                    const std::optional<std::string>& command) {
  size_t slash = shell.rfind('/');
  std::string base(slash == std::string_view::npos ? shell : shell.substr(slash + 1));
  if (!command) return {"-" + base};
  return {base, "-c", *command};
}

bool env_name_acceptable(std::string_view name, const std::vector<std::string>& accept_env) {
  if (name.empty() || name.find('=') != std::string_view::npos) return false;
  return match_pattern_list(name, accept_env) == PatternMatch::kMatch;
}

bool user_environment_allowed(std::string_view name, std::string_view policy) {
  if (name.empty() || policy.empty() || policy == "no") return false;
  if (policy == "yes") return true;
  return match_pattern_list(name, policy) == PatternMatch::kMatch;
}

void parse_user_environment(std::string_view text, std::string_view policy,
                            std::vector<std::pair<std::string, std::string>>& out) {
  size_t taken = 0;
  TextLines lines(text);
  std::string_view line;
  while (taken < kMaxUserEnvVars && lines.next(line)) {
    if (line.size() > kMaxUserEnvLine) continue;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string_view::npos || line[start] == '#') continue;
    line = line.substr(start);
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    std::string_view name = line.substr(0, eq);
    if (!user_environment_allowed(name, policy)) continue;
    out.emplace_back(std::string(name), std::string(line.substr(eq + 1)));
    ++taken;
  }
}

void read_user_environment(const std::string& path, std::string_view policy,
                           std::vector<std::pair<std::string, std::string>>& out) {
  if (policy.empty() || policy == "no") return;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return;
  // Bounded: a thousand lines of at most 4 KiB.
  std::string text;
  char buf[8192];
  ssize_t n;
  while (text.size() < kMaxUserEnvVars * kMaxUserEnvLine && (n = ::read(fd, buf, sizeof buf)) > 0)
    text.append(buf, size_t(n));
  ::close(fd);
  parse_user_environment(text, policy, out);
}

}  // namespace postern::session
