// How request paths are read and resolved: against the start directory, realpath(3) for a
// file about to be created, and the home directories of expand-path and home-directory.
#include "sftp-server/server.h"

#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>

namespace postern::sftp {

std::string Server::read_path(Reader& r) {
  std::string_view p = r.text();
  if (p.find('\0') != std::string_view::npos) throw ProtocolError("path contains a NUL byte");
  return std::string(p);
}

std::string Server::absolute(std::string_view path) const {
  if (path.empty()) return m_cwd;
  if (path[0] == '/') return std::string(path);
  std::string out = m_cwd;
  if (out.empty() || out.back() != '/') out += '/';
  out.append(path);
  return out;
}

std::string Server::canonical(const std::string& path, int& err) const {
  err = 0;
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf)) return std::string(buf);
  err = errno;
  if (err != ENOENT) return {};
  // The last component may name a file that does not exist yet.
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  size_t slash = p.rfind('/');
  if (slash == std::string::npos) return {};
  std::string last = p.substr(slash + 1);
  std::string parent = slash == 0 ? "/" : p.substr(0, slash);
  if (last.empty() || last == "." || last == "..") return {};
  if (!::realpath(parent.c_str(), buf)) {
    err = errno;
    return {};
  }
  err = 0;
  std::string out = buf;
  if (out.back() != '/') out += '/';
  return out + last;
}

std::string Server::home_of(std::string_view user, int& err) const {
  err = 0;
  if (user.empty() || user == m_options.user) {
    if (!m_options.home.empty()) return m_options.home;
    if (struct passwd* pw = getpwuid(getuid())) return pw->pw_dir;
    err = ENOENT;
    return {};
  }
  std::string name(user);
  if (struct passwd* pw = getpwnam(name.c_str())) return pw->pw_dir;
  err = ENOENT;
  return {};
}

}  // namespace postern::sftp
