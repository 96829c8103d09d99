#include "privsep_child/chroot.h"

#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "common/config/tokens.h"
#include "common/log.h"

namespace postern::privsep_child {

bool chroot_configured(std::string_view configured) {
  return !configured.empty() &&
         !(configured.size() == 4 && strncasecmp(configured.data(), "none", 4) == 0);
}

Result<std::string> expand_chroot_path(std::string_view configured, std::string_view user,
                                       std::string_view home, uid_t uid) {
  std::string out;
  if (!configured.empty() && configured[0] == '~' &&
      (configured.size() == 1 || configured[1] == '/')) {
    out.append(home);
    configured.remove_prefix(1);
  }
  config::TokenValues values;
  values.set('h', std::string(home));
  values.set('u', std::string(user));
  values.set('U', std::to_string(uid));
  auto expanded = config::expand_tokens(configured, config::TokenSet::kChrootDirectory, values);
  if (!expanded) return Unexpected("ChrootDirectory: " + expanded.error().message);
  return out + *expanded;
}

Result<void> check_chroot_path(const std::string& path) {
  if (path.empty() || path[0] != '/') return Unexpected("chroot path does not begin at root");
  if (path.size() >= PATH_MAX) return Unexpected("chroot path too long");
  // Each prefix that ends at a '/', then the whole path: "/", "/srv/", "/srv/sftp". A user who
  // could write to any of them could swap in a directory of their own (a setuid binary and a
  // hard link to it would make them root).
  size_t pos = 0;
  while (true) {
    size_t slash = path.find('/', pos);
    bool last = slash == std::string::npos;
    std::string component = last ? path : path.substr(0, slash + 1);
    const char* kind = last ? "" : "component ";
    struct stat st;
    if (::stat(component.c_str(), &st) != 0)
      return Unexpected("safely_chroot: stat(\"" + component + "\"): " + std::strerror(errno));
    if (st.st_uid != 0 || (st.st_mode & 022) != 0)
      return Unexpected(std::string("bad ownership or modes for chroot directory ") + kind + "\"" +
                        component + "\"");
    if (!S_ISDIR(st.st_mode))
      return Unexpected(std::string("chroot path ") + kind + "\"" + component +
                        "\" is not a directory");
    if (last) return {};
    pos = slash + 1;
    if (pos == path.size()) return {};  // a trailing '/': the directory itself was just checked
  }
}

void enter_chroot(std::string_view configured, std::string_view user, std::string_view home,
                  uid_t uid) {
  Result<std::string> path = expand_chroot_path(configured, user, home, uid);
  if (!path) fatal("%s", path.error().message.c_str());
  if (Result<void> ok = check_chroot_path(*path); !ok) fatal("%s", ok.error().message.c_str());
  if (::chdir(path->c_str()) != 0)
    fatal("Unable to chdir to chroot path \"%s\": %s", path->c_str(), std::strerror(errno));
  if (::chroot(path->c_str()) != 0)
    fatal("chroot(\"%s\"): %s", path->c_str(), std::strerror(errno));
  if (::chdir("/") != 0) fatal("chdir(/) after chroot: %s", std::strerror(errno));
  log_verbose("Changed root directory to \"%s\"", path->c_str());
}

void enter_home_directory(const std::string& home, bool chrooted) {
  if (!home.empty() && ::chdir(home.c_str()) == 0) return;
  if (!chrooted)
    log_info("Could not chdir to home directory %s: %s", home.c_str(), std::strerror(errno));
  (void)!::chdir("/");
}

}  // namespace postern::privsep_child
