#include "monitor/auth_commands.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
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

}  // namespace

std::string expand_tokens(const std::string& text, const std::map<char, std::string>& values) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    char c = text[++i];
    auto it = values.find(c);
    if (c == '%')
      out += '%';
    else if (it != values.end())
      out += it->second;
    else
      out += '%', out += c;
  }
  return out;
}

std::string expand_keys_command(const std::string& command, const KeyOwner& user,
                                const std::string& key_type, const std::string& fingerprint,
                                const std::string& key_base64) {
  return expand_tokens(command, {{'u', user.name},
                                 {'U', std::to_string(user.uid)},
                                 {'h', user.home},
                                 {'t', key_type},
                                 {'f', fingerprint},
                                 {'k', key_base64}});
}

std::optional<std::string> run_keys_command(const std::string& command_line,
                                            const std::string& run_as, const char* what) {
  std::vector<std::string> words = split_words(command_line);
  if (words.empty() || words[0].empty() || words[0][0] != '/') {
    log_error("%s \"%s\" must be an absolute path", what, command_line.c_str());
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
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return std::nullopt;
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
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
    char* envp[] = {nullptr};
    ::execve(argv[0], argv.data(), envp);
    _exit(127);
  }
  ::close(p[1]);
  std::string out;
  bool too_much = false;
  struct timespec start;
  ::clock_gettime(CLOCK_MONOTONIC, &start);
  while (true) {
    struct timespec now;
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    if (elapsed >= kTimeoutMs) break;
    pollfd pfd{p[0], POLLIN, 0};
    int r = ::poll(&pfd, 1, int(kTimeoutMs - elapsed));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    char buf[8192];
    ssize_t n = ::read(p[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out.size() + size_t(n) > kMaxOutput) {
      too_much = true;
      break;
    }
    out.append(buf, size_t(n));
  }
  ::close(p[0]);
  ::kill(pid, SIGKILL);  // gone already unless it hung or said too much
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (too_much || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    log_error("%s %s failed, status %d", what, words[0].c_str(), status);
    return std::nullopt;
  }
  return out;
}

std::optional<AuthorizedKeyMatch> keys_command_authorizes(const KeyOwner& user,
                                                          const PublicKey& key,
                                                          const config::ServerConfig& config,
                                                          const std::string& client_ip) {
  const std::string& cmd = config.authorized_keys_command;
  if (cmd.empty() || cmd == "none") return std::nullopt;
  if (config.authorized_keys_command_user.empty()) {
    log_error("No user for AuthorizedKeysCommand specified, skipping");
    return std::nullopt;
  }
  std::string line = expand_keys_command(cmd, user, std::string(key.type_name()),
                                         key.fingerprint_sha256(), base64_encode(key.blob()));
  log_debug("Running AuthorizedKeysCommand: \"%s\" as \"%s\"", line.c_str(),
            config.authorized_keys_command_user.c_str());
  auto out = run_keys_command(line, config.authorized_keys_command_user);
  if (!out) return std::nullopt;
  auto found = find_key_in_text(*out, "AuthorizedKeysCommand", key, ClientAddress{"", client_ip},
                                std::time(nullptr));
  if (!found) return std::nullopt;
  return std::move(*found);
}

}  // namespace postern::monitor
