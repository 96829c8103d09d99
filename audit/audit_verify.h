// postern-audit verify: walks the audit log's hash chain (bastion/audit_chain.h) over one file or
// several that follow each other (audit.jsonl.2 audit.jsonl.1 audit.jsonl), and names the first
// line that breaks it.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace postern::audit {

// Checks lines in the order they were written. The first line of all may name any hash (the
// file it followed may not be at hand); every other line must name the hash of the line before
// it, across the files.
class ChainVerifier {
 public:
  // Starts a new file (for messages: the first line of a later file follows the last of this).
  void begin_file(const std::string& path);
  // Why `line` (without its newline) breaks the chain, or nullopt when it holds. `line_no` is
  // the line's 1-based number in its file; `had_newline` whether it ended in '\n'.
  std::optional<std::string> check(std::string_view line, size_t line_no, bool had_newline);
  // The prev the very first line named (empty before any line).
  const std::string& first_prev() const { return m_first_prev; }
  size_t lines() const { return m_lines; }

 private:
  std::optional<std::string> m_expected;  // the hash the next line must name
  std::string m_first_prev;
  std::string m_previous_file;  // the file whose last line m_expected hashes, when another
  std::string m_file;
  bool m_file_has_lines = false;
  size_t m_lines = 0;
};

// Verifies `files` in order, each following the one before. Writes one summary line per file to
// `out` and, on the first problem, "FILE:LINE: why" to `err`. Returns 0 for an intact chain, 1
// for a broken one, 2 when a file cannot be read at all.
int verify_files(const std::vector<std::string>& files, std::ostream& out, std::ostream& err);

}  // namespace postern::audit
