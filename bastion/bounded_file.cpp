#include "bastion/bounded_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"

namespace postern::bastion {

Result<std::string> read_bounded_file(const std::string& path, size_t max_size) {
  // O_NONBLOCK: a FIFO in the path must not block the listener; regular files ignore it.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd) return Unexpected(path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Unexpected(path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return Unexpected(path + ": not a regular file");
  std::string text;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Unexpected(path + ": " + std::strerror(errno));
    if (n == 0) break;
    if (text.size() + size_t(n) > max_size)
      return Unexpected(path + ": larger than " + std::to_string(max_size) + " bytes");
    text.append(buf, size_t(n));
  }
  return text;
}

}  // namespace postern::bastion
