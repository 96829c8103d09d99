#include "monitor/bastion_policy_blob.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "common/ssh_key.h"
#include "common/wire.h"

namespace postern::monitor {

namespace {
// Two files of at most 4 MiB each (bastion/policy.h) and their names.
constexpr size_t kMaxBlob = 9 * 1024 * 1024;
}  // namespace

Result<bastion::PolicyText> load_checked_bastion_policy(const std::string& policy_path) {
  auto text = bastion::read_policy_files(policy_path);
  if (!text) return Unexpected(text.error().message);
  auto policy = bastion::parse_policy(*text);
  if (!policy) return Unexpected(policy.error().message);
  // The CA key is read again by each connection's monitor; a key that does not load now would
  // fail every login later.
  auto ca = PrivateKey::load_file(policy->bastion.ca_key);
  if (!ca)
    return Unexpected(policy_path + ": ca_key " + policy->bastion.ca_key + ": " +
                      ca.error().message);
  return text;
}

Result<UniqueFd> policy_to_memfd(const bastion::PolicyText& text) {
  Writer w;
  w.string(text.toml_path).string(text.toml).string(text.templates_path).string(text.templates);
  UniqueFd fd(::memfd_create("postern-bastion-policy", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) return Unexpected(std::string("memfd_create: ") + std::strerror(errno));
  ByteView data = w.buffer();
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Unexpected(std::string("memfd write: ") + std::strerror(errno));
    off += size_t(n);
  }
  // Sealed: no process that receives it can change what the others read.
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
    return Unexpected(std::string("memfd seal: ") + std::strerror(errno));
  return fd;
}

Result<bastion::PolicyText> policy_from_memfd(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size < 0 || size_t(st.st_size) > kMaxBlob)
    return Unexpected(std::string("bastion policy: bad descriptor from the listener"));
  int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals < 0 || (seals & F_SEAL_WRITE) == 0)
    return Unexpected(std::string("bastion policy: descriptor is not sealed"));
  Bytes data(size_t(st.st_size));
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::pread(fd, data.data() + off, data.size() - off, off_t(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Unexpected(std::string("bastion policy: short read"));
    off += size_t(n);
  }
  bastion::PolicyText text;
  try {
    Reader r(data);
    text.toml_path = std::string(r.text());
    text.toml = std::string(r.text());
    text.templates_path = std::string(r.text());
    text.templates = std::string(r.text());
    if (!r.done()) throw std::runtime_error("trailing bytes");
  } catch (const std::exception& e) {
    return Unexpected(std::string("bastion policy: ") + e.what());
  }
  return text;
}

}  // namespace postern::monitor
