#pragma once
// Walks a text file's contents one line at a time. Several files sshd reads (authorized_keys,
// known_hosts, principals, moduli, ~/.ssh/environment, KRL text lists) are line-oriented and
// report problems as FILE:LINE, so the walk also counts lines.

#include <cstddef>
#include <string_view>

namespace postern {

class TextLines {
 public:
  explicit TextLines(std::string_view text) : m_rest(text) {}

  // Sets `line` to the next line without its '\n' (the last line need not end in one); false at
  // the end of the text.
  bool next(std::string_view& line) {
    if (m_rest.empty()) return false;
    size_t nl = m_rest.find('\n');
    line = m_rest.substr(0, nl);
    m_rest.remove_prefix(nl == std::string_view::npos ? m_rest.size() : nl + 1);
    ++m_number;
    return true;
  }

  // The 1-based number of the line next() returned last.
  size_t number() const { return m_number; }

 private:
  std::string_view m_rest;
  size_t m_number = 0;
};

}  // namespace postern
