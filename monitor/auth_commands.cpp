#include "monitor/auth_commands.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

#include "common/bytes.h"
#include "common/log.h"

namespace postern::monitor {

namespace {

constexpr size_t kMaxOutput = 1 << 20;
constexpr int kTimeoutMs = 30000;

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  bool have = false;
  char quote = 0;
  for (char c : s) {
    if (quote) {
      if (c == quote)
        quote = 0;
      else
        cur += c;
    } else if (c == '"' || c == '\'') {
      quote = c;
      have = true;
    } else if (c == ' ' || c == '\t') {
      if (have) out.push_back(cur);
      cur.clear();
      have = false;
    } else {
      cur += c;
      have = true;
    }
  }
  if (have) out.push_back(cur);
  return out;
}

// sshd's minimal environment for these programs (PATH as _PATH_STDPATH, the account it runs
// as, and the listener's LANG when set): nothing of the daemon's own environment leaks in.
std::vector<std::string> command_environment(const passwd& pw) {
  std::vector<std::string> env{
      "PATH=/usr/bin:/bin:/usr/sbin:/sbin", std::string("USER=") + pw.pw_name,
      std::string("LOGNAME=") + pw.pw_name, std::string("HOME=") + pw.pw_dir};
  if (const char* lang = ::getenv("LANG")) env.push_back(std::string("LANG=") + lang);
  return env;
}

bool root_owned_and_private(const struct stat& st) {
  return st.st_uid == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

}  // namespace

Result<std::vector<std::string>> command_argv(const std::string& line, config::TokenSet set,
                                              config::TokenValues values, const Account& user,
                                              const CommandConnection& conn) {
  std::vector<std::string> argv = split_words(line);
  if (argv.empty()) return Unexpected("empty command");
  values.set('u', user.name);
  values.set('U', std::to_string(user.uid));
  values.set('h', user.home);
  values.set('C', conn.client_address + " " + std::to_string(conn.client_port) + " " +
                      conn.local_address + " " + std::to_string(conn.local_port));
  values.set('D', conn.rdomain);
  for (size_t i = 1; i < argv.size(); ++i) {
    auto expanded = config::expand_tokens(argv[i], set, values);
    if (!expanded) return Unexpected(expanded.error());
    argv[i] = std::move(*expanded);
  }
  // sshd_config(5): "If no arguments are specified then the username of the target user is
  // used."
  if (argv.size() == 1) argv.push_back(user.name);
  return argv;
}

std::optional<std::string> unsafe_command_path(const std::string& program) {
  if (program.empty() || program[0] != '/') return "must be an absolute path";
  char resolved[PATH_MAX];
  if (::realpath(program.c_str(), resolved) == nullptr)
    return std::string("realpath ") + program + ": " + std::strerror(errno);
  std::string path = resolved;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return path + ": " + std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return path + " is not a regular file";
  if (!root_owned_and_private(st)) return "bad ownership or modes for file " + path;
  // Every directory up to the root: whoever could write one could swap the program.
  while (true) {
    size_t slash = path.rfind('/');
    path = slash == 0 ? "/" : path.substr(0, slash);
    if (::stat(path.c_str(), &st) != 0) return path + ": " + std::strerror(errno);
    if (!root_owned_and_private(st)) return "bad ownership or modes for directory " + path;
    if (path == "/") return std::nullopt;
  }
}

std::optional<std::string> run_keys_command(const std::vector<std::string>& words,
                                            const std::string& run_as, const char* what) {
  if (words.empty()) return std::nullopt;
  if (auto why = unsafe_command_path(words[0])) {
    log_error("Unsafe %s \"%s\": %s", what, words[0].c_str(), why->c_str());
    return std::nullopt;
  }
  passwd* pw = ::getpwnam(run_as.c_str());
  if (pw == nullptr) {
    log_error("%sUser \"%s\" not found", what, run_as.c_str());
    return std::nullopt;
  }
  uid_t uid = pw->pw_uid;
  gid_t gid = pw->pw_gid;
  std::string name = pw->pw_name;
  std::vector<std::string> env_strings = command_environment(*pw);
  std::vector<std::string> arg_strings = words;
  std::vector<char*> argv, envp;
  for (auto& w : arg_strings) argv.push_back(w.data());
  argv.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return std::nullopt;
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(p[0]);
    ::close(p[1]);
    return std::nullopt;
  }
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDWR);
    if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(p[1], 1) < 0 || ::dup2(null, 2) < 0) _exit(127);
    if (::getuid() == 0 && (::initgroups(name.c_str(), gid) != 0 ||
                            ::setresgid(gid, gid, gid) != 0 || ::setresuid(uid, uid, uid) != 0))
      _exit(127);
    if (::chdir("/") != 0) _exit(127);
    ::execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  ::close(p[1]);
  std::string out;
  bool too_much = false, eof = false;
  struct timespec start;
  ::clock_gettime(CLOCK_MONOTONIC, &start);
  auto remaining_ms = [&start] {
    struct timespec now;
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    return elapsed >= kTimeoutMs ? 0 : int(kTimeoutMs - elapsed);
  };
  while (int left = remaining_ms()) {
    pollfd pfd{p[0], POLLIN, 0};
    int r = ::poll(&pfd, 1, left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    char buf[8192];
    ssize_t n = ::read(p[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof = n == 0;
      break;
    }
    if (out.size() + size_t(n) > kMaxOutput) {
      too_much = true;
      break;
    }
    out.append(buf, size_t(n));
  }
  ::close(p[0]);
  // After the end of its output the program gets the rest of the time to exit by itself; it is
  // killed only when it hung or said too much. (Killing an exiting process would replace its
  // exit status with the signal's.)
  int status = 0;
  pid_t done = 0;
  while (eof && !too_much && remaining_ms() > 0) {
    done = ::waitpid(pid, &status, WNOHANG);
    if (done != 0 && !(done < 0 && errno == EINTR)) break;
    ::usleep(1000);
  }
  if (done <= 0) {
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (too_much || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    log_error("%s %s failed, status %d", what, words[0].c_str(), status);
    return std::nullopt;
  }
  return out;
}

std::optional<AuthorizedKeyMatch> keys_command_authorizes(const Account& user, const PublicKey& key,
                                                          const config::ServerConfig& config,
                                                          const CommandConnection& conn) {
  const std::string& cmd = config.authorized_keys_command;
  if (cmd.empty() || cmd == "none") return std::nullopt;
  if (config.authorized_keys_command_user.empty()) {
    log_error("No user for AuthorizedKeysCommand specified, skipping");
    return std::nullopt;
  }
  config::TokenValues values;
  values.set('t', std::string(key.type_name()));
  values.set('f', key.fingerprint_sha256());
  values.set('k', base64_encode(key.blob()));
  auto argv = command_argv(cmd, config::TokenSet::kAuthorizedKeysCommand, values, user, conn);
  if (!argv) {
    log_error("AuthorizedKeysCommand \"%s\": %s", cmd.c_str(), argv.error().message.c_str());
    return std::nullopt;
  }
  log_debug("Running AuthorizedKeysCommand: \"%s\" as \"%s\"", cmd.c_str(),
            config.authorized_keys_command_user.c_str());
  auto out = run_keys_command(*argv, config.authorized_keys_command_user);
  if (!out) return std::nullopt;
  auto found = find_key_in_text(*out, "AuthorizedKeysCommand", key,
                                Endpoint{.address = conn.client_address}, std::time(nullptr));
  if (!found) return std::nullopt;
  return std::move(*found);
}

}  // namespace postern::monitor
