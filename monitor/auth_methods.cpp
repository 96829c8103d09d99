#include "monitor/auth_methods.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/log.h"

namespace postern::monitor {

AuthMethodLists::AuthMethodLists(const std::vector<std::string>& lists) {
  if (lists.empty() || lists[0] == "any") return;
  m_any = false;
  for (const auto& text : lists) {
    std::vector<std::string> list;
    size_t start = 0;
    while (start <= text.size()) {
      size_t comma = text.find(',', start);
      if (comma == std::string::npos) comma = text.size();
      std::string method = text.substr(start, comma - start);
      // "keyboard-interactive:pam": the submethod does not change which method it is.
      method = method.substr(0, method.find(':'));
      if (!method.empty()) list.push_back(method);
      start = comma + 1;
    }
    if (!list.empty()) m_lists.push_back(std::move(list));
  }
}

bool AuthMethodLists::may_try(const std::string& method) const {
  if (m_any) return true;
  for (const auto& list : m_lists) {
    // A list is still possible when the methods done so far are its beginning.
    if (m_done.size() >= list.size()) continue;
    if (!std::equal(m_done.begin(), m_done.end(), list.begin())) continue;
    if (list[m_done.size()] == method) return true;
  }
  return false;
}

bool AuthMethodLists::succeeded(const std::string& method) {
  if (m_any) {
    m_done.push_back(method);
    return true;
  }
  if (!may_try(method)) return false;
  m_done.push_back(method);
  return std::any_of(m_lists.begin(), m_lists.end(),
                     [&](const std::vector<std::string>& list) { return list == m_done; });
}

std::vector<std::string> AuthMethodLists::next(const std::vector<std::string>& enabled) const {
  std::vector<std::string> out;
  for (const auto& m : enabled)
    if (may_try(m)) out.push_back(m);
  return out;
}

std::string write_auth_info(const std::vector<std::string>& lines, uid_t uid, gid_t gid) {
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  char path[] = "/tmp/sshauth.XXXXXXXXXXXXXXX";
  int fd = ::mkstemp(path);  // mode 0600, O_EXCL: nobody else's file is followed
  if (fd < 0) {
    log_error("ExposeAuthInfo: mkstemp: %s", std::strerror(errno));
    return "";
  }
  bool ok = ::fchown(fd, uid, gid) == 0 &&
            ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  int saved = errno;
  ::close(fd);
  if (!ok) {
    log_error("ExposeAuthInfo: writing %s: %s", path, std::strerror(saved));
    ::unlink(path);
    return "";
  }
  return path;
}

}  // namespace postern::monitor
