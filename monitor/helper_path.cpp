// SshdSessionPath and SshdAuthPath: which program to exec, and the checks a configured one must
// pass before sshd serves a connection with it.
#include "monitor/helper_path.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "monitor/spawn.h"

namespace postern::monitor {

std::string sshd_session_program(const config::ServerConfig& cfg) {
  return cfg.sshd_session_path.empty() ? find_helper("sshd-session") : cfg.sshd_session_path;
}

std::string sshd_auth_program(const config::ServerConfig& cfg) {
  return cfg.sshd_auth_path.empty() ? find_helper("sshd-net") : cfg.sshd_auth_path;
}

Result<void> check_helper_program(const char* keyword, const std::string& path) {
  auto bad = [&](const std::string& why) {
    return Unexpected(std::string(keyword) + " " + path + ": " + why);
  };
  if (path.empty() || path[0] != '/') return bad("must be an absolute path");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return bad(std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return bad("not a regular file");
  if ((st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0 || ::access(path.c_str(), X_OK) != 0)
    return bad("not executable");
  if (st.st_uid != 0) return bad("not owned by root");
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) return bad("writable by group or others");
  return {};
}

Result<void> check_configured_helpers(const config::ServerConfig& cfg) {
  if (!cfg.sshd_session_path.empty()) {
    auto r = check_helper_program("SshdSessionPath", cfg.sshd_session_path);
    if (!r) return r;
  }
  if (!cfg.sshd_auth_path.empty()) return check_helper_program("SshdAuthPath", cfg.sshd_auth_path);
  return {};
}

}  // namespace postern::monitor
