#include "monitor/daemon_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/log.h"
#include "postern_config.h"

namespace postern::monitor {

bool ensure_privsep_dir() {
  const char* dir = POSTERN_PRIVSEP_PATH;
  struct stat st {};
  if (::stat(dir, &st) != 0) {
    if (::mkdir(dir, 0755) != 0 && errno != EEXIST) {
      log_error("Missing privilege separation directory: %s", dir);
      return false;
    }
    if (::stat(dir, &st) != 0) return false;
  }
  if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022) != 0) {
    log_error("%s must be owned by root and not group or world-writable.", dir);
    return false;
  }
  return true;
}

bool write_pid_file(const std::string& path) {
  if (path.empty()) return true;
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    log_error("Couldn't create pid file \"%s\": %s", path.c_str(), std::strerror(errno));
    return false;
  }
  std::fprintf(f, "%ld\n", long(::getpid()));
  std::fclose(f);
  return true;
}

}  // namespace postern::monitor
