// Reads a file one line at a time with a bound on a line's length, so a log or cast file with no
// newline in gigabytes is an error at a named line, not an exhausted memory.
#pragma once

#include <cstddef>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace postern::audit {

class LineReader {
 public:
  // Opens `path` for reading; `max_line` bounds one line (without its newline).
  static Result<LineReader> open(const std::string& path, size_t max_line);
  // Reads `fd` (not owned past this reader's life).
  LineReader(UniqueFd fd, std::string path, size_t max_line);

  // The next line without its '\n' in `line`; false at the end of the file. An error names the
  // file and the line that is too long or could not be read.
  Result<bool> next(std::string& line);

  // The 1-based number of the line next() returned last.
  size_t number() const { return m_number; }
  // Whether that line ended in '\n' (the last line of a file may not).
  bool had_newline() const { return m_had_newline; }
  const std::string& path() const { return m_path; }
  int fd() const { return m_fd.get(); }

 private:
  Result<bool> fill();

  UniqueFd m_fd;
  std::string m_path;
  size_t m_max_line;
  std::string m_buf;
  size_t m_pos = 0;
  bool m_eof = false;
  size_t m_number = 0;
  bool m_had_newline = false;
};

}  // namespace postern::audit
