#include "audit/line_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace postern::audit {
namespace {
constexpr size_t kReadChunk = 64 * 1024;
}

Result<LineReader> LineReader::open(const std::string& path, size_t max_line) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Unexpected(path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Unexpected(path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return Unexpected(path + ": not a regular file");
  return LineReader(std::move(fd), path, max_line);
}

LineReader::LineReader(UniqueFd fd, std::string path, size_t max_line)
    : m_fd(std::move(fd)), m_path(std::move(path)), m_max_line(max_line) {}

Result<bool> LineReader::fill() {
  if (m_pos > 0) {
    m_buf.erase(0, m_pos);
    m_pos = 0;
  }
  size_t old = m_buf.size();
  m_buf.resize(old + kReadChunk);
  ssize_t n;
  do n = ::read(m_fd.get(), m_buf.data() + old, kReadChunk);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    m_buf.resize(old);
    return Unexpected(m_path + ":" + std::to_string(m_number + 1) +
                      ": read: " + std::strerror(errno));
  }
  m_buf.resize(old + size_t(n));
  if (n == 0) m_eof = true;
  return n > 0;
}

Result<bool> LineReader::next(std::string& line) {
  size_t scanned = m_pos;
  for (;;) {
    size_t nl = m_buf.find('\n', scanned);
    if (nl != std::string::npos && nl - m_pos <= m_max_line) {
      line.assign(m_buf, m_pos, nl - m_pos);
      m_pos = nl + 1;
      ++m_number;
      m_had_newline = true;
      return true;
    }
    if (m_buf.size() - m_pos > m_max_line)
      return Unexpected(m_path + ":" + std::to_string(m_number + 1) + ": line longer than " +
                        std::to_string(m_max_line) + " bytes");
    if (m_eof) {
      if (m_pos == m_buf.size()) return false;
      line.assign(m_buf, m_pos, std::string::npos);
      m_pos = m_buf.size();
      ++m_number;
      m_had_newline = false;
      return true;
    }
    scanned = m_buf.size() - m_pos;  // relative: fill() moves the unread bytes to the front
    auto got = fill();
    if (!got) return Unexpected(got.error());
    scanned = m_pos + scanned;
  }
}

}  // namespace postern::audit
