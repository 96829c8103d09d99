#include "bastion/audit_chain.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "common/unique_fd.h"

namespace postern::bastion {
namespace {

constexpr size_t kTailChunk = 64 * 1024;

Result<void> pread_all(int fd, char* buf, size_t n, off_t at, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, buf + done, n - done, at + off_t(done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0)
      return Unexpected("audit log " + path +
                        ": read: " + (r < 0 ? std::strerror(errno) : "file shrank while read"));
    done += size_t(r);
  }
  return {};
}

}  // namespace

std::string audit_line_hash(std::string_view line) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (EVP_Digest(line.data(), line.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("EVP_Digest(SHA-256) failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * len);
  for (unsigned i = 0; i < len; ++i) {
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 0xf];
  }
  return hex;
}

bool is_chain_hash(std::string_view s) {
  if (s.size() != kChainAnchor.size()) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Result<ChainTail> read_chain_tail(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return Unexpected("audit log " + path + ": fstat: " + std::strerror(errno));
  ChainTail tail;
  if (st.st_size == 0) return tail;
  tail.empty = false;
  char last = 0;
  auto got = pread_all(fd, &last, 1, st.st_size - 1, path);
  if (!got) return Unexpected(got.error());
  tail.complete = last == '\n';
  // Seek back from the end in chunks until the newline before the last line (or the start of
  // the file): the tail is read, never the whole log.
  off_t end = tail.complete ? st.st_size - 1 : st.st_size;
  off_t pos = end;
  std::string line;
  while (pos > 0) {
    size_t chunk = size_t(std::min<off_t>(pos, off_t(kTailChunk)));
    std::string buf(chunk, '\0');
    got = pread_all(fd, buf.data(), chunk, pos - off_t(chunk), path);
    if (!got) return Unexpected(got.error());
    size_t nl = buf.rfind('\n');
    if (nl != std::string::npos) {
      line.insert(0, buf, nl + 1);
      break;
    }
    line.insert(0, buf);
    pos -= off_t(chunk);
    if (line.size() > kMaxAuditLine)
      return Unexpected("audit log " + path + ": its last line is longer than " +
                        std::to_string(kMaxAuditLine) + " bytes; it is no audit line");
  }
  if (line.size() > kMaxAuditLine)
    return Unexpected("audit log " + path + ": its last line is longer than " +
                      std::to_string(kMaxAuditLine) + " bytes; it is no audit line");
  tail.last_hash = audit_line_hash(line);
  return tail;
}

Result<std::string> rotation_anchor(const std::string& path) {
  const std::string rotated = path + ".1";
  UniqueFd fd(::open(rotated.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::string(kChainAnchor);
    return Unexpected("audit log " + rotated + ": " + std::strerror(errno));
  }
  while (::flock(fd.get(), LOCK_SH) != 0)
    if (errno != EINTR)
      return Unexpected("audit log " + rotated + ": flock: " + std::strerror(errno));
  auto tail = read_chain_tail(fd.get(), rotated);
  if (!tail) return Unexpected(tail.error());
  return tail->empty ? std::string(kChainAnchor) : tail->last_hash;
}

}  // namespace postern::bastion
