#include "bastion/totp_used.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>

#include "common/unique_fd.h"

namespace postern::bastion {
namespace {

constexpr size_t kMaxFile = 1 << 20;

std::string failure(const std::string& path, const char* what) {
  return "TOTP state " + path + ": " + what + ": " + std::strerror(errno);
}

}  // namespace

std::string totp_used_path(const std::string& serial_file) {
  size_t slash = serial_file.rfind('/');
  std::string dir = slash == std::string::npos ? "." : serial_file.substr(0, slash);
  return (dir.empty() ? "" : dir) + "/totp_used";
}

Result<bool> claim_totp_step(const std::string& path, const std::string& user, uint64_t step) {
  if (user.empty() || user.find_first_of(" \n") != std::string::npos)
    return Unexpected("TOTP state: bad user name");
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return Unexpected(failure(path, "open"));
  // Monitors of concurrent connections share the file: one read-modify-write under the lock,
  // so two connections racing with the same code cannot both win.
  while (::flock(fd.get(), LOCK_EX) != 0)
    if (errno != EINTR) return Unexpected(failure(path, "flock"));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Unexpected(failure(path, "fstat"));
  if (!S_ISREG(st.st_mode) || size_t(st.st_size) > kMaxFile)
    return Unexpected("TOTP state " + path + ": not a regular file of at most 1 MiB");
  // Others' codes are none of their business (the file names users).
  if ((st.st_mode & 077) != 0 && ::fchmod(fd.get(), 0600) != 0)
    return Unexpected(failure(path, "fchmod"));
  std::string text(size_t(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::pread(fd.get(), text.data() + got, text.size() - got, off_t(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Unexpected(failure(path, "read"));
    got += size_t(n);
  }
  std::map<std::string, uint64_t> last;
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    std::string_view line(text.data() + at, (nl == std::string::npos ? text.size() : nl) - at);
    at = nl == std::string::npos ? text.size() : nl + 1;
    size_t sp = line.find(' ');
    uint64_t v = 0;
    if (sp == std::string_view::npos ||
        std::from_chars(line.data() + sp + 1, line.data() + line.size(), v).ec != std::errc())
      return Unexpected("TOTP state " + path + ": malformed line");
    last[std::string(line.substr(0, sp))] = v;
  }
  auto it = last.find(user);
  if (it != last.end() && step <= it->second) return false;
  last[user] = step;
  std::string out;
  for (const auto& [name, s] : last) out += name + " " + std::to_string(s) + "\n";
  if (out.size() > kMaxFile) return Unexpected("TOTP state " + path + ": full");
  size_t put = 0;
  while (put < out.size()) {
    ssize_t n = ::pwrite(fd.get(), out.data() + put, out.size() - put, off_t(put));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Unexpected(failure(path, "write"));
    put += size_t(n);
  }
  if (::ftruncate(fd.get(), off_t(out.size())) != 0) return Unexpected(failure(path, "truncate"));
  // The step must be on disk before the login it lets in.
  if (::fsync(fd.get()) != 0) return Unexpected(failure(path, "fsync"));
  return true;
}

}  // namespace postern::bastion
