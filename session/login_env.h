// The environment and argument vector of a session's child, as OpenSSH's sshd builds them:
// the login variables, what the client sent and AcceptEnv allowed, SetEnv from the server
// configuration, and the SSH_* variables that describe the connection.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "session/session.h"

namespace postern::session {

// OpenSSH's _PATH_STDPATH for users and the superuser's path.
inline constexpr const char* kUserPath = "/usr/local/bin:/usr/bin:/bin:/usr/games";
inline constexpr const char* kRootPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
inline constexpr const char* kMailDir = "/var/mail";

// An ordered set of NAME=value entries.
class Environment {
 public:
  // Sets NAME; an existing value is replaced only when `overwrite`.
  void set(std::string_view name, std::string_view value, bool overwrite = true);
  std::optional<std::string> get(std::string_view name) const;
  const std::vector<std::string>& entries() const { return m_entries; }

 private:
  std::vector<std::string> m_entries;
};

struct SessionEnvInputs {
  const Account* user = nullptr;
  const ConnectionEnds* peer = nullptr;
  // What the client sent with "env" requests that AcceptEnv allowed, in arrival order.
  const std::vector<std::pair<std::string, std::string>>* client_env = nullptr;
  // What the user set: authorized_keys environment= then ~/.ssh/environment, already filtered by
  // PermitUserEnvironment (user_environment_allowed), in that order so the file wins.
  const std::vector<std::pair<std::string, std::string>>* user_env = nullptr;
  // SetEnv from the server configuration.
  const std::vector<std::pair<std::string, std::string>>* server_env = nullptr;
  std::string tty_name;                         // "" without a pty
  std::string term;                             // from pty-req
  std::optional<std::string> original_command;  // set when ForceCommand replaced it
};

Environment build_session_env(const SessionEnvInputs& in);

// argv for the user's shell: a login shell gets "-" + its basename as argv[0] (so it reads the
// profile); a command runs as `shell -c command` with the basename as argv[0].
std::vector<std::string> shell_argv(std::string_view shell,
                                    const std::optional<std::string>& command);

// True when the client-supplied variable `name` may be set: it matches AcceptEnv and is not
// negated there. Names with '=' are never accepted.
bool env_name_acceptable(std::string_view name, const std::vector<std::string>& accept_env);

// PermitUserEnvironment (sshd_config(5)): "no" allows nothing, "yes" everything, anything else
// is a pattern-list of the variable names the user may set.
bool user_environment_allowed(std::string_view name, std::string_view policy);

// Bounds on ~/.ssh/environment: sshd reads at most a thousand variables of a line each.
inline constexpr size_t kMaxUserEnvVars = 1000;
inline constexpr size_t kMaxUserEnvLine = 4096;

// Parses the text of ~/.ssh/environment (sshd(8) FILES): "NAME=value" lines, blank lines and
// '#' comments skipped, lines without '=' ignored. Appends the entries `policy` allows to `out`.
void parse_user_environment(std::string_view text, std::string_view policy,
                            std::vector<std::pair<std::string, std::string>>& out);

// Reads and parses `path` (as the user; a missing file is no error). Nothing when the policy
// is "no", so the file is not even opened.
void read_user_environment(const std::string& path, std::string_view policy,
                           std::vector<std::pair<std::string, std::string>>& out);

}  // namespace postern::session
